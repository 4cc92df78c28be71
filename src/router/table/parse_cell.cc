// <prefix>/cells/<cell>: backend groups, policies, health checks, outlier ejection, caps,
// fallback.
#include <map>
#include <set>

#include "router/balance/maglev.h"
#include "router/balance/session_cookie.h"
#include "router/table/config.h"
#include "router/table/limits.h"
#include "router/table/names.h"

namespace grid::router::table {
namespace {

constexpr int64_t kMaxHealthIntervalMs = 3'600'000;
constexpr int64_t kMinHealthIntervalMs = 100;
constexpr int64_t kMaxHealthThreshold = 100;
constexpr int64_t kMaxConsecutiveFailures = 1000;
constexpr int64_t kMaxEjectionMs = 86'400'000;
constexpr int64_t kMaxConnectionsCap = 1'000'000;
constexpr int64_t kMaxPendingCap = 1'000'000;
constexpr int64_t kMaxRetryAfterS = 86'400;
constexpr size_t kMaglevSlotsPerBackend = 100;  // table size >= 100 x backends (Maglev §3.4)
constexpr std::string_view kDefaultGroupName = "default";

Status ParseConsistentHash(const ObjectReader& g, GroupConfig* out) {
  const Json* v = g.Get("consistent_hash");
  if (out->policy != balance::Policy::kRingHash) {
    if (v != nullptr) {
      return FieldError(g.Child("consistent_hash"), "only allowed with policy consistent_hash");
    }
    return Status::Ok();
  }
  if (v == nullptr) return FieldError(g.Child("consistent_hash"), "required by policy consistent_hash");
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, g.Child("consistent_hash")));
  GRID_RETURN_IF_ERROR(r.OnlyFields({"header", "cookie", "algorithm", "maglev_table_size"}));
  if (r.Has("header") == r.Has("cookie")) {
    return FieldError(r.path(), "needs exactly one of \"header\" or \"cookie\"");
  }
  if (r.Has("header")) {
    GRID_ASSIGN_OR_RETURN(std::string name, r.String("header", kMaxFieldNameBytes));
    if (!IsHeaderName(name)) return FieldError(r.Child("header"), "not a header name: \"" + name + "\"");
    out->hash_key = {HashKeySource::kHeader, ToLower(name)};
  } else {
    GRID_ASSIGN_OR_RETURN(std::string name, r.String("cookie", kMaxFieldNameBytes));
    if (!balance::IsCookieName(name)) {
      return FieldError(r.Child("cookie"), "not a cookie name: \"" + name + "\"");
    }
    out->hash_key = {HashKeySource::kCookie, name};
  }
  GRID_ASSIGN_OR_RETURN(std::string algorithm, r.String("algorithm", 16, "ring"));
  if (algorithm == "ring") {
    if (r.Has("maglev_table_size")) {
      return FieldError(r.Child("maglev_table_size"), "only allowed with algorithm maglev");
    }
    return Status::Ok();
  }
  if (algorithm != "maglev") {
    return FieldError(r.Child("algorithm"), "must be ring or maglev, got \"" + algorithm + "\"");
  }
  out->policy = balance::Policy::kMaglev;
  GRID_ASSIGN_OR_RETURN(int64_t size, r.Int("maglev_table_size", balance::kMinMaglevTableSize,
                                            balance::kMaxMaglevTableSize,
                                            balance::kDefaultMaglevTableSize));
  if (!balance::IsPrime(static_cast<uint32_t>(size))) {
    return FieldError(r.Child("maglev_table_size"), "must be prime, got " + std::to_string(size));
  }
  const size_t needed = kMaglevSlotsPerBackend * out->backends.size();
  if (static_cast<size_t>(size) < needed) {
    return FieldError(r.Child("maglev_table_size"),
                      "must be at least 100 x backends (" + std::to_string(needed) + "), got " +
                          std::to_string(size));
  }
  out->maglev_table_size = static_cast<uint32_t>(size);
  return Status::Ok();
}

Status ParseSessionCookie(const ObjectReader& g, GroupConfig* out) {
  const Json* v = g.Get("session_cookie");
  if (v == nullptr) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, g.Child("session_cookie")));
  GRID_RETURN_IF_ERROR(r.OnlyFields({"name", "max_age_s"}));
  GRID_ASSIGN_OR_RETURN(std::string name, r.String("name", balance::kMaxSessionCookieNameBytes));
  if (!balance::IsCookieName(name)) return FieldError(r.Child("name"), "not a cookie name: \"" + name + "\"");
  GRID_ASSIGN_OR_RETURN(int64_t max_age, r.Int("max_age_s", 0, balance::kMaxSessionCookieMaxAgeS, 0));
  out->session_cookie = {name, static_cast<uint32_t>(max_age)};
  return Status::Ok();
}

Status ParseBackends(const ObjectReader& g, size_t room, GroupConfig* out) {
  GRID_ASSIGN_OR_RETURN(const Json* list, g.Array("backends", kMaxBackendsPerCell));
  if (list->empty()) return FieldError(g.Child("backends"), "must not be empty");
  if (list->size() > room) {
    return FieldError(g.Child("backends"), "the cell has more than " +
                                               std::to_string(kMaxBackendsPerCell) +
                                               " backends, the limit");
  }
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    GRID_ASSIGN_OR_RETURN(ObjectReader b, ObjectReader::Make((*list)[i], IndexPath(g.Child("backends"), i)));
    GRID_RETURN_IF_ERROR(b.OnlyFields({"address", "weight"}));
    GRID_ASSIGN_OR_RETURN(std::string address, b.String("address", kMaxHostBytes + 8));
    Result<std::string> canonical = CanonicalAddress(address);
    if (!canonical.ok()) {
      return FieldError(b.Child("address"), canonical.status().message() + ", got \"" + address + "\"");
    }
    GRID_ASSIGN_OR_RETURN(int64_t weight, b.Int("weight", balance::kMinBackendWeight,
                                                balance::kMaxBackendWeight, 1));
    auto [it, inserted] = seen.emplace(*canonical, i);
    if (!inserted) {
      return FieldError(b.Child("address"), "duplicate of " + IndexPath(g.Child("backends"), it->second) +
                                                " (\"" + *canonical + "\")");
    }
    out->backends.push_back({std::move(canonical).value(), static_cast<uint32_t>(weight)});
  }
  return Status::Ok();
}

// Reads the group fields of `g` (a group object, or the cell itself in the one-group form).
Status ParseGroupFields(const ObjectReader& g, size_t room, GroupConfig* out) {
  GRID_ASSIGN_OR_RETURN(std::string policy, g.String("policy", 32, "round_robin"));
  if (policy == "round_robin") {
    out->policy = balance::Policy::kRoundRobin;
  } else if (policy == "least_conn") {
    out->policy = balance::Policy::kLeastConn;
  } else if (policy == "p2c") {
    out->policy = balance::Policy::kPowerOfTwo;
  } else if (policy == "source_ip_hash") {
    out->policy = balance::Policy::kSourceIpHash;
  } else if (policy == "consistent_hash") {
    out->policy = balance::Policy::kRingHash;  // or kMaglev, by consistent_hash.algorithm
  } else {
    return FieldError(g.Child("policy"),
                      "must be one of round_robin, least_conn, p2c, source_ip_hash, "
                      "consistent_hash, got \"" + policy + "\"");
  }
  GRID_RETURN_IF_ERROR(ParseBackends(g, room, out));
  GRID_RETURN_IF_ERROR(ParseConsistentHash(g, out));
  return ParseSessionCookie(g, out);
}

Status ParseGroups(const ObjectReader& cell, CellConfig* out) {
  if (cell.Has("backends")) {
    if (cell.Has("groups")) return FieldError("groups", "not allowed together with \"backends\"");
    GroupConfig g;
    g.name = kDefaultGroupName;
    GRID_RETURN_IF_ERROR(ParseGroupFields(cell, kMaxBackendsPerCell, &g));
    out->groups.push_back(std::move(g));
    return Status::Ok();
  }
  if (!cell.Has("groups")) return FieldError("backends", "required (or \"groups\")");
  GRID_ASSIGN_OR_RETURN(const Json* list, cell.Array("groups", kMaxGroupsPerCell));
  if (list->empty()) return FieldError("groups", "must not be empty");
  size_t room = kMaxBackendsPerCell;
  int64_t weight_sum = 0;
  std::set<std::string> names;
  for (size_t i = 0; i < list->size(); ++i) {
    GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make((*list)[i], IndexPath("groups", i)));
    GRID_RETURN_IF_ERROR(r.OnlyFields(
        {"name", "weight", "policy", "consistent_hash", "session_cookie", "backends"}));
    GroupConfig g;
    GRID_ASSIGN_OR_RETURN(g.name, r.String("name", kMaxNameBytes));
    if (!IsName(g.name)) return FieldError(r.Child("name"), "not a group name: \"" + g.name + "\"");
    if (!names.insert(g.name).second) return FieldError(r.Child("name"), "duplicate \"" + g.name + "\"");
    std::optional<int64_t> default_weight;
    if (list->size() == 1) default_weight = 100;
    GRID_ASSIGN_OR_RETURN(int64_t weight, r.Int("weight", 0, 100, default_weight));
    g.weight_percent = static_cast<uint32_t>(weight);
    weight_sum += weight;
    GRID_RETURN_IF_ERROR(ParseGroupFields(r, room, &g));
    room -= g.backends.size();
    out->groups.push_back(std::move(g));
  }
  if (weight_sum != 100) {
    return FieldError("groups", "weights must add up to 100, got " + std::to_string(weight_sum));
  }
  return Status::Ok();
}

Status ParseHealthCheck(const ObjectReader& cell, HealthCheckConfig* out) {
  const Json* v = cell.Get("health_check");
  if (v == nullptr) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, "health_check"));
  GRID_ASSIGN_OR_RETURN(std::string type, r.String("type", 16));
  if (type == "tcp") {
    out->type = HealthCheckType::kTcp;
    GRID_RETURN_IF_ERROR(r.OnlyFields({"type", "interval_ms", "timeout_ms", "unhealthy_threshold",
                                       "healthy_threshold"}));
  } else if (type == "http") {
    out->type = HealthCheckType::kHttp;
    GRID_RETURN_IF_ERROR(r.OnlyFields({"type", "path", "expected_status", "interval_ms",
                                       "timeout_ms", "unhealthy_threshold", "healthy_threshold"}));
    GRID_ASSIGN_OR_RETURN(out->path, r.String("path", kMaxHealthPathBytes));
    if (out->path.front() != '/' || out->path.find_first_of(" \t\r\n") != std::string::npos) {
      return FieldError(r.Child("path"), "must start with '/' and hold no white space");
    }
    GRID_ASSIGN_OR_RETURN(int64_t status, r.Int("expected_status", 100, 599, 200));
    out->expected_status = static_cast<int>(status);
  } else {
    return FieldError(r.Child("type"), "must be tcp or http, got \"" + type + "\"");
  }
  GRID_ASSIGN_OR_RETURN(int64_t interval, r.Int("interval_ms", kMinHealthIntervalMs,
                                                kMaxHealthIntervalMs, out->interval_ms));
  GRID_ASSIGN_OR_RETURN(int64_t timeout, r.Int("timeout_ms", 1, interval,
                                               std::min<int64_t>(out->timeout_ms, interval)));
  GRID_ASSIGN_OR_RETURN(int64_t unhealthy, r.Int("unhealthy_threshold", 1, kMaxHealthThreshold,
                                                 out->unhealthy_threshold));
  GRID_ASSIGN_OR_RETURN(int64_t healthy, r.Int("healthy_threshold", 1, kMaxHealthThreshold,
                                               out->healthy_threshold));
  out->interval_ms = static_cast<uint32_t>(interval);
  out->timeout_ms = static_cast<uint32_t>(timeout);
  out->unhealthy_threshold = static_cast<uint32_t>(unhealthy);
  out->healthy_threshold = static_cast<uint32_t>(healthy);
  return Status::Ok();
}

Status ParseOutlier(const ObjectReader& cell, OutlierConfig* out) {
  const Json* v = cell.Get("outlier_detection");
  if (v == nullptr) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, "outlier_detection"));
  GRID_RETURN_IF_ERROR(r.OnlyFields({"consecutive_connect_failures", "consecutive_5xx",
                                     "base_ejection_ms", "max_ejection_ms",
                                     "max_ejected_percent"}));
  GRID_ASSIGN_OR_RETURN(int64_t connect, r.Int("consecutive_connect_failures", 0,
                                               kMaxConsecutiveFailures,
                                               out->consecutive_connect_failures));
  GRID_ASSIGN_OR_RETURN(int64_t five_xx, r.Int("consecutive_5xx", 0, kMaxConsecutiveFailures,
                                               out->consecutive_5xx));
  if (connect == 0 && five_xx == 0) {
    return FieldError("outlier_detection", "consecutive_connect_failures and consecutive_5xx are "
                                           "both 0: nothing would be ejected (omit the block)");
  }
  GRID_ASSIGN_OR_RETURN(int64_t base, r.Int("base_ejection_ms", 1, kMaxEjectionMs,
                                            out->base_ejection_ms));
  GRID_ASSIGN_OR_RETURN(int64_t max, r.Int("max_ejection_ms", base, kMaxEjectionMs,
                                           std::max<int64_t>(base, out->max_ejection_ms)));
  GRID_ASSIGN_OR_RETURN(int64_t percent, r.Int("max_ejected_percent", 0, 100,
                                               out->max_ejected_percent));
  out->enabled = true;
  out->consecutive_connect_failures = static_cast<uint32_t>(connect);
  out->consecutive_5xx = static_cast<uint32_t>(five_xx);
  out->base_ejection_ms = static_cast<uint32_t>(base);
  out->max_ejection_ms = static_cast<uint32_t>(max);
  out->max_ejected_percent = static_cast<uint32_t>(percent);
  return Status::Ok();
}

Status ParseCaps(const ObjectReader& cell, CellCaps* out) {
  const Json* v = cell.Get("limits");
  if (v == nullptr) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, "limits"));
  GRID_RETURN_IF_ERROR(r.OnlyFields({"max_connections", "max_pending_requests",
                                     "max_connections_per_backend",
                                     "max_pending_requests_per_backend"}));
  GRID_ASSIGN_OR_RETURN(int64_t conns, r.Int("max_connections", 1, kMaxConnectionsCap,
                                             out->max_connections));
  GRID_ASSIGN_OR_RETURN(int64_t pending, r.Int("max_pending_requests", 0, kMaxPendingCap,
                                               out->max_pending_requests));
  GRID_ASSIGN_OR_RETURN(int64_t conns_b, r.Int("max_connections_per_backend", 1,
                                               kMaxConnectionsCap,
                                               out->max_connections_per_backend));
  GRID_ASSIGN_OR_RETURN(int64_t pending_b, r.Int("max_pending_requests_per_backend", 0,
                                                 kMaxPendingCap,
                                                 out->max_pending_requests_per_backend));
  out->max_connections = static_cast<uint32_t>(conns);
  out->max_pending_requests = static_cast<uint32_t>(pending);
  out->max_connections_per_backend = static_cast<uint32_t>(conns_b);
  out->max_pending_requests_per_backend = static_cast<uint32_t>(pending_b);
  return Status::Ok();
}

Status ParseFallback(const ObjectReader& cell, FallbackConfig* out) {
  const Json* v = cell.Get("fallback");
  if (v == nullptr) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, "fallback"));
  if (r.Has("cell")) {
    GRID_RETURN_IF_ERROR(r.OnlyFields({"cell"}));
    GRID_ASSIGN_OR_RETURN(out->cell, r.String("cell", kMaxNameBytes));
    if (!IsName(out->cell)) return FieldError(r.Child("cell"), "not a cell name: \"" + out->cell + "\"");
    return Status::Ok();
  }
  GRID_RETURN_IF_ERROR(r.OnlyFields({"status", "retry_after_s"}));
  GRID_ASSIGN_OR_RETURN(int64_t status, r.Int("status", 500, 599, out->status));
  GRID_ASSIGN_OR_RETURN(int64_t retry_after, r.Int("retry_after_s", 0, kMaxRetryAfterS,
                                                   out->retry_after_s));
  out->status = static_cast<int>(status);
  out->retry_after_s = static_cast<uint32_t>(retry_after);
  return Status::Ok();
}

}  // namespace

Result<CellConfig> ParseCellConfig(const Json& value) {
  GRID_ASSIGN_OR_RETURN(ObjectReader cell, ObjectReader::Make(value, ""));
  if (cell.Has("groups")) {
    GRID_RETURN_IF_ERROR(cell.OnlyFields(
        {"groups", "health_check", "outlier_detection", "limits", "fallback"}));
  } else {
    GRID_RETURN_IF_ERROR(cell.OnlyFields({"policy", "consistent_hash", "session_cookie",
                                          "backends", "health_check", "outlier_detection",
                                          "limits", "fallback"}));
  }
  CellConfig c;
  GRID_RETURN_IF_ERROR(ParseGroups(cell, &c));
  GRID_RETURN_IF_ERROR(ParseHealthCheck(cell, &c.health_check));
  GRID_RETURN_IF_ERROR(ParseOutlier(cell, &c.outlier));
  GRID_RETURN_IF_ERROR(ParseCaps(cell, &c.caps));
  GRID_RETURN_IF_ERROR(ParseFallback(cell, &c.fallback));
  return c;
}

}  // namespace grid::router::table
