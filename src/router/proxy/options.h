// The proxy's own settings and named limits (the route table carries the per-deployment
// timeouts; these are the process's). Each limit is tested at its value in the proxy tests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "router/http/limits.h"

namespace grid::router::proxy {

inline constexpr size_t kMaxReplayBodyBytes = 1024 * 1024;

struct ProxyLimits {
  // Client input buffer: one request head (request line and header section within the codec
  // limits) plus pipelined bytes. Reading stops when it is full.
  size_t max_client_buffer_bytes = 64 * 1024;
  // Upstream input buffer: one response head, then body bytes on their way to the client.
  size_t max_upstream_buffer_bytes = 64 * 1024;
  // Back-pressure: while more than this is waiting to be written to one side, the proxy
  // does not read the other side.
  size_t max_pending_write_bytes = 256 * 1024;
  // A request body is kept as it is sent, up to this many bytes (framing included), so an
  // idempotent request whose backend fails before answering can be sent whole to another
  // backend. A longer body is dropped from memory once it passes the limit, and its request is
  // then retried only when the connect failed (nothing was sent). 0: no body is kept. At most
  // kMaxReplayBodyBytes (16 KiB by default, as nginx's client_body_buffer_size).
  size_t max_replay_body_bytes = 16 * 1024;
  // Idle keep-alive connections kept per backend per loop; beyond it a finished connection
  // is closed.
  size_t max_idle_upstream_per_backend = 64;
  // Client connections one loop serves at once; beyond it new connections are closed at
  // accept.
  size_t max_client_connections_per_loop = 20000;
  // A backend that refused or timed out a connect is skipped by this loop for this long, in
  // cells whose outlier detection does not count connect failures (UsesLoopConnectSkip);
  // elsewhere the group's outlier detector decides.
  uint64_t connect_failure_eject_ms = 1000;
  // After the response to a request that ends the connection, unread client input is
  // drained for at most this long before the socket closes (so the response is not lost to
  // a reset).
  uint64_t linger_ms = 1000;
  // While draining, a connection that has not sent a byte yet (accepted just before the
  // drain) waits this long for its first request before it is closed; a keep-alive
  // connection that already served requests is closed when idle.
  uint64_t drain_first_request_grace_ms = 1000;
  http::CodecLimits codec;
};

}  // namespace grid::router::proxy
