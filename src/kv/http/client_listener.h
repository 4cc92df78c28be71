// The client port: owns the listening sockets of the client URLs and sorts each accepted
// connection by its first bytes (read with MSG_PEEK, so nothing is consumed):
//   - the HTTP/2 client preface: handed, as a connected fd, to the HTTP/2 server the owner
//     names (gridkv's: src/h2's UnaryServer, which relays what it does not serve to the gRPC
//     library's server); from then on it is that server's connection;
//   - anything else: read as one HTTP/1.x request, answered by a RequestHandler on a small
//     worker pool, then closed ("Connection: close").
// gRPC traffic pays nothing per request: only a connection's first bytes are looked at.
//
// Threads: one sorter thread (epoll) accepts, classifies and reads HTTP requests without
// blocking; `http_worker_threads` workers run the handler and write responses.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kv/http/http_message.h"

namespace grid::kv::http {

struct ListenerOptions {
  // Accepted connections whose protocol is not known yet or whose HTTP request is still
  // arriving. When full, a new connection is closed at once.
  size_t max_pending_connections = 1024;
  // Time from accept to a complete HTTP request (or to the full HTTP/2 preface); a slower
  // connection is closed.
  std::chrono::milliseconds read_timeout{10000};
  // Bound on writing one HTTP response.
  std::chrono::milliseconds write_timeout{10000};
  HttpLimits http_limits;
  size_t http_worker_threads = 2;
  // HTTP requests read and waiting for a worker; beyond it the request is answered 503.
  size_t max_queued_http_requests = 64;
  int listen_backlog = 1024;
};

// Answers one request. Called on a worker thread; must be thread-safe.
using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

// Takes a connected socket whose first bytes (still unread) are the HTTP/2 client preface;
// owns it from then on. Called on the sorter thread; must not block.
using Http2Handoff = std::function<void(int fd)>;

class ClientListener {
 public:
  // Binds and listens on each "host:port" (host may be a name, an IPv4 address or a bracketed
  // IPv6 address; port 0 picks a free port). Accepts nothing until Start(). Unavailable when
  // an address cannot be bound (e.g. "listen tcp 127.0.0.1:2379: bind: address already in
  // use").
  static Result<std::unique_ptr<ClientListener>> Bind(const std::vector<std::string>& addresses,
                                                      ListenerOptions options = {});
  ~ClientListener();  // Stop()
  ClientListener(const ClientListener&) = delete;
  ClientListener& operator=(const ClientListener&) = delete;

  // One "host:port" per address given to Bind, with the port actually bound.
  const std::vector<std::string>& bound_addresses() const { return bound_addresses_; }

  // Starts accepting. REQUIRES: called once; what `http2` hands to outlives Stop().
  Status Start(Http2Handoff http2, RequestHandler handler);

  // Stops accepting, closes the listening sockets and connections not yet sorted, and waits
  // for HTTP requests in progress. Connections handed over are left to their server.
  // Idempotent.
  void Stop();

 private:
  class Sorter;
  ClientListener(std::vector<int> listen_fds, std::vector<std::string> bound_addresses,
                 ListenerOptions options);

  const ListenerOptions options_;
  std::vector<int> listen_fds_;  // owned until Start() hands them to the sorter
  const std::vector<std::string> bound_addresses_;
  std::unique_ptr<Sorter> sorter_;
};

// The HTTP/2 client connection preface (RFC 9113 §3.4), which every gRPC connection opens with.
inline constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace grid::kv::http
