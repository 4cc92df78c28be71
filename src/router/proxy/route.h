// From a parsed request to a backend: the table's tenant -> cell -> group decision, then the
// group's balancer over the backends this loop considers available (health view and passive
// ejection), then the cell's fallback (another cell, one hop, or a status answer).
// Not thread-safe: one per loop.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/balance/balancer.h"
#include "router/http/message.h"
#include "router/proxy/health.h"
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
  std::string_view tenant;  // key (for logs); into the table or the request
  const table::CellRoute* cell = nullptr;
  const table::BackendGroup* group = nullptr;
  BackendSlot* slot = nullptr;
  std::optional<std::string> set_cookie;
};

class BackendChooser {
 public:
  BackendChooser(UpstreamPool* pool, const BackendHealth* health, uint64_t seed);

  RouteResult Route(const table::RouteTable& table, const table::RequestFacts& facts,
                    uint64_t now_ms);
  // Another backend for a request whose backend just failed (and was ejected): the same
  // group, else the cell's fallback.
  RouteResult Rechoose(const table::RouteTable& table, const table::CellRoute& cell,
                       const table::BackendGroup& group, const table::RequestFacts& facts,
                       uint64_t now_ms);

  uint64_t NextRandom();

 private:
  // A backend of `group` or nullopt when none is available.
  std::optional<table::BackendGroup::Choice> Choose(const table::CellRoute& cell,
                                                    const table::BackendGroup& group,
                                                    const table::RequestFacts& facts,
                                                    uint64_t now_ms);
  RouteResult FromCell(const table::RouteTable& table, const table::CellRoute& cell,
                       const table::BackendGroup& group, const table::RequestFacts& facts,
                       uint64_t now_ms);

  UpstreamPool* pool_;
  const BackendHealth* health_;
  uint64_t rng_;
  std::vector<balance::BackendState> states_;
  std::vector<BackendSlot*> slots_;
};

}  // namespace grid::router::proxy
