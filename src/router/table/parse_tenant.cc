// <prefix>/tenants/<tenant>: the tenant's cell, optional rate limit, optional exact hosts.
#include <set>

#include "router/table/config.h"
#include "router/table/limits.h"
#include "router/table/names.h"

namespace grid::router::table {
namespace {
constexpr int64_t kMaxRateLimitRps = 1'000'000;
constexpr int64_t kMaxRateLimitBurst = 10'000'000;
}  // namespace

Result<TenantConfig> ParseTenantConfig(const Json& value) {
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(value, ""));
  GRID_RETURN_IF_ERROR(r.OnlyFields({"cell", "rate_limit", "hosts"}));
  TenantConfig t;
  GRID_ASSIGN_OR_RETURN(t.cell, r.String("cell", kMaxNameBytes));
  if (!IsName(t.cell)) return FieldError("cell", "not a cell name: \"" + t.cell + "\"");

  if (const Json* v = r.Get("rate_limit")) {
    GRID_ASSIGN_OR_RETURN(ObjectReader rl, ObjectReader::Make(*v, "rate_limit"));
    GRID_RETURN_IF_ERROR(rl.OnlyFields({"rps", "burst"}));
    GRID_ASSIGN_OR_RETURN(int64_t rps, rl.Int("rps", 1, kMaxRateLimitRps));
    GRID_ASSIGN_OR_RETURN(int64_t burst, rl.Int("burst", 1, kMaxRateLimitBurst, rps));
    t.rate_limit = RateLimit{static_cast<uint32_t>(rps), static_cast<uint32_t>(burst)};
  }

  if (r.Has("hosts")) {
    GRID_ASSIGN_OR_RETURN(const Json* list, r.Array("hosts", kMaxHostsPerTenant));
    std::set<std::string> seen;
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string path = IndexPath("hosts", i);
      const Json& h = (*list)[i];
      if (!h.is_string()) return FieldError(path, "must be a string");
      std::string host = ToLower(h.get<std::string>());
      if (!IsHostName(host)) {
        return FieldError(path, "must be a host name (no port, no wildcard), got \"" +
                                    h.get<std::string>() + "\"");
      }
      if (!seen.insert(host).second) return FieldError(path, "duplicate \"" + host + "\"");
      t.hosts.push_back(std::move(host));
    }
  }
  return t;
}

}  // namespace grid::router::table
