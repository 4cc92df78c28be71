// The admin endpoints of gridrouter (served by proxy::AdminServer on its own thread):
//   /healthz  /readyz  /stats (JSON counters)  /routes (the feed's table summary)
//   /cells    per cell, group and backend: address, weight, health, ejection, connections,
//             pending requests (JSON)
//   /metrics  Prometheus text format 0.0.4
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "router/proxy/admin_server.h"
#include "router/proxy/protection.h"
#include "router/proxy/proxy_server.h"
#include "router/proxy/state_publisher.h"
#include "router/proxy/table_holder.h"
#include "table_feed.h"

namespace grid::router::cmd {

// What the endpoints read; every pointer outlives the admin server.
struct AdminSources {
  const proxy::TableHolder* tables = nullptr;
  const proxy::ProxyServer* server = nullptr;
  const proxy::StatePublisher* publisher = nullptr;
  const proxy::ProcessProtection* protection = nullptr;
  const TableFeed* feed = nullptr;
  const std::atomic<bool>* draining = nullptr;
};

proxy::AdminReply HandleAdmin(const AdminSources& sources, std::string_view path);

// The /cells document for `state` at steady-clock time `now`.
std::string CellsJson(const proxy::ServingState& state, std::chrono::steady_clock::time_point now);

// The /metrics document.
std::string MetricsText(const AdminSources& sources, std::chrono::steady_clock::time_point now);

}  // namespace grid::router::cmd
