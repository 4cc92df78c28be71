// From a parsed request to a backend: the table's tenant -> cell -> group decision, the
// tenant's rate limit (429 before any upstream work), then the group's balancer over the
// backends available (the group's health: active checks and outlier ejection; this loop's
// short connect-failure skip where the cell does not eject on connect failures), with each
// backend's open connections (the cell's concurrency counters), then the cell's fallback
// (another cell, one hop, or a status answer).
// Not thread-safe: one per loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/balance/balancer.h"
#include "router/http/message.h"
#include "router/proxy/protection.h"
#include "router/proxy/table_holder.h"
#include "router/proxy/upstream_pool.h"
#include "router/table/route_table.h"

namespace grid::router::proxy {

// Header lookup over a parsed head (names case-insensitive).
class HeaderLookup : public table::FieldLookup {
 public:
  explicit HeaderLookup(std::span<const http::HeaderField> headers) : headers_(headers) {}
  std::optional<std::string_view> Get(std::string_view name) const override;

 private:
  std::span<const http::HeaderField> headers_;
};

// Cookie lookup over every Cookie field of a parsed head ("a=1; b=2"; names exact).
class CookieLookup : public table::FieldLookup {
 public:
  explicit CookieLookup(std::span<const http::HeaderField> headers) : headers_(headers) {}
  std::optional<std::string_view> Get(std::string_view name) const override;

 private:
  std::span<const http::HeaderField> headers_;
};

struct RouteResult {
  // false: answer the client with `status` (unknown tenant or no backend available).
  bool to_backend = false;
  int status = 0;
  std::string_view body;       // into the table
  uint32_t retry_after_s = 0;  // 0: no Retry-After
  bool unknown_tenant = false;
  bool no_backend = false;
  bool rate_limited = false;
  std::string_view tenant;  // key (for logs); into the table or the request
  const table::CellRoute* cell = nullptr;
  const table::BackendGroup* group = nullptr;
  size_t group_index = 0;    // of `group` in `cell`
  size_t backend_index = 0;  // of the chosen backend in `group`
  BackendSlot* slot = nullptr;
  health::GroupHealth* health = nullptr;           // nullptr: the group is not in the index
  const protect::ConcurrencyLimit* limit = nullptr;  // nullptr: the cell is not in the index
  std::optional<std::string> set_cookie;
};

// The health view's time for a loop time (both are CLOCK_MONOTONIC milliseconds).
inline std::chrono::steady_clock::time_point LoopTimePoint(uint64_t now_ms) {
  return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms));
}

// The loop skips a backend after a failed connect (for ProxyLimits::connect_failure_eject_ms)
// only when the cell's outlier detection does not count connect failures.
bool UsesLoopConnectSkip(const table::CellRoute& cell);

class BackendChooser {
 public:
  // `protection` may be null (no rate limits).
  BackendChooser(UpstreamPool* pool, ProcessProtection* protection, uint64_t seed);

  RouteResult Route(const ServingState& state, const table::RequestFacts& facts,
                    uint64_t now_ms);
  // Another backend for a request whose backend `failed` just failed: the same group without
  // it, else the cell's fallback.
  RouteResult Rechoose(const ServingState& state, const table::CellRoute& cell,
                       const table::BackendGroup& group, const table::RequestFacts& facts,
                       const BackendSlot* failed, uint64_t now_ms);

  uint64_t NextRandom();

 private:
  // A backend of `group` or nullopt when none is available.
  std::optional<table::BackendGroup::Choice> Choose(const ServingState& state,
                                                    const table::CellRoute& cell,
                                                    const table::BackendGroup& group,
                                                    const table::RequestFacts& facts,
                                                    const BackendSlot* failed, uint64_t now_ms,
                                                    RouteResult* out);
  RouteResult FromCell(const ServingState& state, const table::CellRoute& cell,
                       const table::BackendGroup& group, const table::RequestFacts& facts,
                       const BackendSlot* failed, uint64_t now_ms);

  UpstreamPool* pool_;
  ProcessProtection* protection_;
  uint64_t rng_;
  std::vector<balance::BackendState> states_;
  std::vector<BackendSlot*> slots_;
  std::vector<uint8_t> full_;  // 1: passed over at its per-backend cap (Choose)
};

}  // namespace grid::router::proxy
