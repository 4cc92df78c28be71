// Counters of one loop, written by its thread with relaxed atomics and read by the admin
// endpoint from any thread (each loop has its own block, so writers never share a line).
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace grid::router::proxy {

struct alignas(64) ProxyStats {
#define GRID_PROXY_COUNTERS(X) \
  X(connections_accepted)      \
  X(connections_refused)       \
  X(connections_active)        \
  X(requests)                  \
  X(responses_1xx)             \
  X(responses_2xx)             \
  X(responses_3xx)             \
  X(responses_4xx)             \
  X(responses_5xx)             \
  X(local_answers)             \
  X(unknown_tenant)            \
  X(no_backend)                \
  X(upstream_connects)         \
  X(upstream_reuses)           \
  X(upstream_connect_failures) \
  X(upstream_timeouts)         \
  X(retries)                   \
  X(retries_refused)           \
  X(refused_rate_limit)        \
  X(refused_cell_connections)  \
  X(refused_backend_connections) \
  X(refused_cell_pending)      \
  X(refused_backend_pending)   \
  X(upstream_5xx)              \
  X(outlier_ejections)         \
  X(upgrades)                  \
  X(bytes_from_clients)        \
  X(bytes_to_clients)
#define GRID_DECLARE_COUNTER(name) std::atomic<uint64_t> name{0};
  GRID_PROXY_COUNTERS(GRID_DECLARE_COUNTER)
#undef GRID_DECLARE_COUNTER

  static void Add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void Sub(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void CountStatus(int status);
};

// {"connections_accepted": N, ...}: the sum over `stats`.
std::string StatsJson(std::span<const ProxyStats* const> stats);

// Every counter's name and its sum over `stats`, in declaration order.
std::vector<std::pair<std::string_view, uint64_t>> SumStats(
    std::span<const ProxyStats* const> stats);

}  // namespace grid::router::proxy
