// The immutable routing table: tenant key extraction, tenant -> cell, cell -> backend group,
// and the group's balancer. Built by TableBuilder (table_builder.h) from the keys under the
// table's prefix; shared as std::shared_ptr<const RouteTable> so the proxy swaps it atomically.
//
// Thread-safety: every const method may be called from any number of threads. Balancers held
// by the groups are thread-safe themselves. Views (string_view, pointers) returned by a table
// live as long as the table; views into RequestFacts live as long as the facts.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "router/balance/balancer.h"
#include "router/balance/session_cookie.h"
#include "router/table/config.h"

namespace grid::router::table {

// Looks a request field up by name. Header names are asked in lowercase; the implementation
// matches them case-insensitively. Cookie names are matched exactly.
class FieldLookup {
 public:
  virtual ~FieldLookup() = default;
  virtual std::optional<std::string_view> Get(std::string_view name) const = 0;
};

// What the router knows of a request when it routes it.
struct RequestFacts {
  std::string_view host;                 // Host header or :authority; may carry a port
  std::string_view path;                 // request target; anything from '?' or '#' is ignored
  const FieldLookup* headers = nullptr;  // nullptr: no headers
  const FieldLookup* cookies = nullptr;  // nullptr: no cookies
  std::string_view client_ip;            // text form
};

// One backend group of a cell, with the balancer built for it.
class BackendGroup {
 public:
  explicit BackendGroup(GroupConfig config);

  const GroupConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  uint32_t weight_percent() const { return config_.weight_percent; }
  std::span<const balance::BackendSpec> backends() const { return config_.backends; }
  balance::Balancer& balancer() const { return *balancer_; }
  // nullptr when the group has no session persistence.
  const balance::SessionCookie* session_cookie() const {
    return session_ ? &*session_ : nullptr;
  }

  // The consistent-hash key of a request (the configured header or cookie); empty when the
  // policy is not consistent_hash or the request lacks it (the balancer then uses random).
  std::string_view HashKey(const RequestFacts& facts) const;

  struct Choice {
    size_t backend = 0;                     // index into backends()
    std::optional<std::string> set_cookie;  // Set-Cookie value to add to the response
  };
  // Picks a backend for a request: the session cookie's backend when it names a healthy one,
  // otherwise the balancer's pick. nullopt when no backend is healthy.
  // REQUIRES: states.size() == backends().size().
  std::optional<Choice> Choose(const RequestFacts& facts,
                               std::span<const balance::BackendState> states,
                               uint64_t random) const;

 private:
  GroupConfig config_;
  std::unique_ptr<balance::Balancer> balancer_;
  std::optional<balance::SessionCookie> session_;
};

class CellRoute {
 public:
  CellRoute(std::string name, CellConfig config);
  CellRoute(const CellRoute&) = delete;
  CellRoute& operator=(const CellRoute&) = delete;

  const std::string& name() const { return name_; }
  const CellConfig& config() const { return config_; }
  size_t group_count() const { return groups_.size(); }
  const BackendGroup& group(size_t i) const { return *groups_.at(i); }
  // The group by the weight split: the first group when split_roll % 100 < its weight.
  const BackendGroup& GroupFor(uint64_t split_roll) const;

 private:
  std::string name_;
  CellConfig config_;  // as parsed; groups_ holds the live groups built from it
  std::vector<std::unique_ptr<BackendGroup>> groups_;
};

struct TenantRoute {
  std::string name;
  TenantConfig config;
};

enum class KeySource { kNone, kHost, kHeader, kPath, kCookie };
std::string_view KeySourceName(KeySource source);

struct RouteDecision {
  bool routed = false;
  // The tenant key: a known tenant's name, or else the first key a source yielded (a view
  // into the request); empty when no source yielded one.
  std::string_view tenant_key;
  KeySource key_source = KeySource::kNone;
  const TenantRoute* tenant = nullptr;  // nullptr: unknown tenant (routed to the default cell)
  const CellRoute* cell = nullptr;      // when routed
  const BackendGroup* group = nullptr;  // when routed
  int reject_status = 0;                // when not routed
  std::string_view reject_body;         // when not routed
};

// Transparent string hashing for lookups by string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// The router settings with the lookups they need.
struct RouterIndex {
  RouterSettings settings;
  std::vector<StringSet> wildcard_suffixes;  // per source (filled for host sources)
};

struct TenantIndex {
  StringMap<std::shared_ptr<const TenantRoute>> by_name;
  StringMap<const TenantRoute*> by_host;  // exact hosts, lowercase
};

class RouteTable {
 public:
  struct Parts {
    int64_t revision = 0;
    std::shared_ptr<const RouterIndex> router;
    StringMap<std::shared_ptr<const CellRoute>> cells;
    std::shared_ptr<const TenantIndex> tenants;
  };
  // REQUIRES: the parts are cross-validated (every tenant's cell, the default cell and every
  // fallback cell exist). TableBuilder is the one producer.
  explicit RouteTable(Parts parts);

  int64_t revision() const { return parts_.revision; }
  const RouterSettings& settings() const { return parts_.router->settings; }

  // Finds the tenant (sources in priority order; the first source whose key names a known
  // tenant wins), its cell and the cell's group for split_roll (a random or hash value the
  // caller chooses: a hash of a user id keeps a user on one side of a canary split).
  RouteDecision Resolve(const RequestFacts& facts, uint64_t split_roll) const;

  const CellRoute* FindCell(std::string_view name) const;
  const TenantRoute* FindTenant(std::string_view name) const;
  // The cell a request goes to when `cell` has no available backend; nullptr when the
  // fallback is a status answer (cell.config().fallback).
  const CellRoute* FallbackCell(const CellRoute& cell) const;

  size_t cell_count() const { return parts_.cells.size(); }
  size_t tenant_count() const { return parts_.tenants->by_name.size(); }

  // For the builder: share unchanged pieces with the next table.
  const Parts& parts() const { return parts_; }

 private:
  Parts parts_;
};

}  // namespace grid::router::table
