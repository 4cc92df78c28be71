// <prefix>/router: tenant key sources, unknown-tenant policy, timeouts, retry budget.
#include <algorithm>
#include <set>

#include "router/balance/session_cookie.h"
#include "router/table/config.h"
#include "router/table/limits.h"
#include "router/table/names.h"

namespace grid::router::table {
namespace {

constexpr int64_t kMaxConnectTimeoutMs = 60'000;
constexpr int64_t kMaxHeaderReadTimeoutMs = 600'000;
constexpr int64_t kMaxUpstreamResponseTimeoutMs = 3'600'000;
constexpr int64_t kMaxIdleTimeoutMs = 3'600'000;
constexpr int64_t kMaxRetryMinPerS = 10'000;
constexpr int64_t kMaxRetriesPerRequest = 5;
constexpr char kDefaultRejectBody[] = "unknown tenant\n";

Status ParseHostSource(const ObjectReader& r, TenantKeySource* out) {
  GRID_RETURN_IF_ERROR(r.OnlyFields({"type", "wildcards"}));
  if (!r.Has("wildcards")) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(const Json* list, r.Array("wildcards", kMaxHostWildcards));
  std::set<std::string> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string path = IndexPath(r.Child("wildcards"), i);
    const Json& w = (*list)[i];
    if (!w.is_string()) return FieldError(path, "must be a string like \"*.example.com\"");
    const std::string pattern = ToLower(w.get<std::string>());
    if (pattern.rfind("*.", 0) != 0 || !IsHostName(pattern.substr(2))) {
      return FieldError(path, "must be \"*.\" followed by a host name, got \"" +
                                  w.get<std::string>() + "\"");
    }
    if (!seen.insert(pattern).second) return FieldError(path, "duplicate \"" + pattern + "\"");
    out->wildcard_suffixes.push_back(pattern.substr(2));
  }
  return Status::Ok();
}

Status ParsePathSource(const ObjectReader& r, TenantKeySource* out) {
  GRID_RETURN_IF_ERROR(r.OnlyFields({"type", "prefixes"}));
  GRID_ASSIGN_OR_RETURN(const Json* list, r.Array("prefixes", kMaxPathPrefixes));
  if (list->empty()) return FieldError(r.Child("prefixes"), "must not be empty");
  std::set<std::string> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string path = IndexPath(r.Child("prefixes"), i);
    const Json& p = (*list)[i];
    if (!p.is_string()) return FieldError(path, "must be a string like \"/t/\"");
    const std::string prefix = p.get<std::string>();
    if (prefix.size() > kMaxPathPrefixBytes) {
      return FieldError(path, "is " + std::to_string(prefix.size()) + " bytes, limit " +
                                  std::to_string(kMaxPathPrefixBytes));
    }
    if (prefix.empty() || prefix.front() != '/' || prefix.back() != '/' ||
        prefix.find_first_of("?#") != std::string::npos) {
      return FieldError(path, "must start and end with '/' and hold no '?' or '#', got \"" +
                                  prefix + "\"");
    }
    if (!seen.insert(prefix).second) return FieldError(path, "duplicate \"" + prefix + "\"");
    out->path_prefixes.push_back(prefix);
  }
  std::stable_sort(out->path_prefixes.begin(), out->path_prefixes.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return Status::Ok();
}

Status ParseSources(const ObjectReader& top, std::vector<TenantKeySource>* out) {
  GRID_ASSIGN_OR_RETURN(const Json* list, top.Array("tenant_key_sources", kMaxTenantKeySources));
  if (list->empty()) return FieldError(top.Child("tenant_key_sources"), "must not be empty");
  std::set<std::string> seen;  // "host", "path", "header:x", "cookie:y"
  for (size_t i = 0; i < list->size(); ++i) {
    GRID_ASSIGN_OR_RETURN(ObjectReader r,
                          ObjectReader::Make((*list)[i], IndexPath(top.Child("tenant_key_sources"), i)));
    GRID_ASSIGN_OR_RETURN(std::string type, r.String("type", 16));
    TenantKeySource source;
    std::string identity = type;
    if (type == "host") {
      source.type = KeySourceType::kHost;
      GRID_RETURN_IF_ERROR(ParseHostSource(r, &source));
    } else if (type == "path") {
      source.type = KeySourceType::kPath;
      GRID_RETURN_IF_ERROR(ParsePathSource(r, &source));
    } else if (type == "header" || type == "cookie") {
      GRID_RETURN_IF_ERROR(r.OnlyFields({"type", "name"}));
      GRID_ASSIGN_OR_RETURN(std::string name, r.String("name", kMaxFieldNameBytes));
      if (type == "header") {
        if (!IsHeaderName(name)) return FieldError(r.Child("name"), "not a header name: \"" + name + "\"");
        source.type = KeySourceType::kHeader;
        source.name = ToLower(name);
      } else {
        if (!balance::IsCookieName(name)) {
          return FieldError(r.Child("name"), "not a cookie name: \"" + name + "\"");
        }
        source.type = KeySourceType::kCookie;
        source.name = name;
      }
      identity += ":" + source.name;
    } else {
      return FieldError(r.Child("type"),
                        "must be one of host, header, path, cookie, got \"" + type + "\"");
    }
    if (!seen.insert(identity).second) return FieldError(r.path(), "duplicate " + type + " source");
    out->push_back(std::move(source));
  }
  return Status::Ok();
}

Status ParseUnknownTenant(const ObjectReader& top, UnknownTenantPolicy* out) {
  const Json* v = top.Get("unknown_tenant");
  if (v == nullptr) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, top.Child("unknown_tenant")));
  if (r.Has("cell")) {
    GRID_RETURN_IF_ERROR(r.OnlyFields({"cell"}));
    GRID_ASSIGN_OR_RETURN(out->cell, r.String("cell", kMaxNameBytes));
    if (!IsName(out->cell)) return FieldError(r.Child("cell"), "not a cell name: \"" + out->cell + "\"");
    return Status::Ok();
  }
  GRID_RETURN_IF_ERROR(r.OnlyFields({"status", "body"}));
  GRID_ASSIGN_OR_RETURN(int64_t status, r.Int("status", 400, 599));
  GRID_ASSIGN_OR_RETURN(out->reject.body,
                        r.String("body", kMaxRejectBodyBytes, kDefaultRejectBody, true));
  out->reject.status = static_cast<int>(status);
  return Status::Ok();
}

Status ParseTimeouts(const ObjectReader& top, Timeouts* out) {
  const Json* v = top.Get("timeouts_ms");
  if (v == nullptr) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, top.Child("timeouts_ms")));
  GRID_RETURN_IF_ERROR(r.OnlyFields({"connect", "header_read", "upstream_response", "idle"}));
  GRID_ASSIGN_OR_RETURN(int64_t connect, r.Int("connect", 1, kMaxConnectTimeoutMs, out->connect_ms));
  GRID_ASSIGN_OR_RETURN(int64_t header,
                        r.Int("header_read", 1, kMaxHeaderReadTimeoutMs, out->header_read_ms));
  GRID_ASSIGN_OR_RETURN(int64_t upstream, r.Int("upstream_response", 1,
                                                kMaxUpstreamResponseTimeoutMs,
                                                out->upstream_response_ms));
  GRID_ASSIGN_OR_RETURN(int64_t idle, r.Int("idle", 1, kMaxIdleTimeoutMs, out->idle_ms));
  out->connect_ms = static_cast<uint32_t>(connect);
  out->header_read_ms = static_cast<uint32_t>(header);
  out->upstream_response_ms = static_cast<uint32_t>(upstream);
  out->idle_ms = static_cast<uint32_t>(idle);
  return Status::Ok();
}

Status ParseRetryBudget(const ObjectReader& top, RetryBudget* out) {
  const Json* v = top.Get("retry_budget");
  if (v == nullptr) return Status::Ok();
  GRID_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Make(*v, top.Child("retry_budget")));
  GRID_RETURN_IF_ERROR(r.OnlyFields({"percent", "min_retries_per_s", "max_retries_per_request"}));
  GRID_ASSIGN_OR_RETURN(int64_t percent, r.Int("percent", 0, 100, out->percent));
  GRID_ASSIGN_OR_RETURN(int64_t min_per_s,
                        r.Int("min_retries_per_s", 0, kMaxRetryMinPerS, out->min_retries_per_s));
  GRID_ASSIGN_OR_RETURN(int64_t per_request, r.Int("max_retries_per_request", 0,
                                                   kMaxRetriesPerRequest,
                                                   out->max_retries_per_request));
  out->percent = static_cast<uint32_t>(percent);
  out->min_retries_per_s = static_cast<uint32_t>(min_per_s);
  out->max_retries_per_request = static_cast<uint32_t>(per_request);
  return Status::Ok();
}

}  // namespace

RouterSettings DefaultRouterSettings() {
  RouterSettings s;
  s.sources.push_back(TenantKeySource{});  // host, exact tenant hosts only
  s.unknown_tenant.reject = RejectAnswer{404, kDefaultRejectBody};
  return s;
}

Result<RouterSettings> ParseRouterSettings(const Json& value) {
  GRID_ASSIGN_OR_RETURN(ObjectReader top, ObjectReader::Make(value, ""));
  GRID_RETURN_IF_ERROR(
      top.OnlyFields({"tenant_key_sources", "unknown_tenant", "timeouts_ms", "retry_budget"}));
  RouterSettings s = DefaultRouterSettings();
  if (top.Has("tenant_key_sources")) {
    s.sources.clear();
    GRID_RETURN_IF_ERROR(ParseSources(top, &s.sources));
  }
  GRID_RETURN_IF_ERROR(ParseUnknownTenant(top, &s.unknown_tenant));
  GRID_RETURN_IF_ERROR(ParseTimeouts(top, &s.timeouts));
  GRID_RETURN_IF_ERROR(ParseRetryBudget(top, &s.retry_budget));
  return s;
}

}  // namespace grid::router::table
