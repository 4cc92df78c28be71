// What the client sessions of one loop share: the loop, limits, the table view, the upstream
// pool, the backend chooser, the process protection, counters, the access log, and the drain flag. Owned by the
// Worker; the loop's thread only.
#pragma once

#include <cstdint>
#include <string>

#include "router/net/event_loop.h"
#include "router/proxy/access_log.h"
#include "router/proxy/protection.h"
#include "router/proxy/options.h"
#include "router/proxy/route.h"
#include "router/proxy/stats.h"
#include "router/proxy/table_holder.h"
#include "router/proxy/upstream_pool.h"

namespace grid::router::proxy {

class ClientSession;

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // The session closed its connection; the host forgets it and deletes it later.
  virtual void OnSessionClosed(ClientSession* session) = 0;
};

struct LoopContext {
  net::EventLoop* loop = nullptr;
  const ProxyLimits* limits = nullptr;
  TableCache* tables = nullptr;
  UpstreamPool* pool = nullptr;
  BackendChooser* chooser = nullptr;
  ProcessProtection* protection = nullptr;  // never nullptr
  ProxyStats* stats = nullptr;
  AccessLog* access_log = nullptr;  // never nullptr; may be disabled
  SessionHost* host = nullptr;
  bool draining = false;
  uint64_t request_id_prefix = 0;  // random per loop
  uint64_t request_counter = 0;

  // A new X-Request-Id: 16 lowercase hex digits, unique per process run with high odds.
  void NextRequestId(std::string* out);
};

}  // namespace grid::router::proxy
