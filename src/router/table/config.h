// The parsed, validated form of each key's value. Plain data; see README.md for the JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "router/balance/balancer.h"
#include "router/balance/factory.h"
#include "router/table/json_object.h"

namespace grid::router::table {

// ---- <prefix>/router ----

enum class KeySourceType { kHost, kHeader, kPath, kCookie };

struct TenantKeySource {
  KeySourceType type = KeySourceType::kHost;
  // kHost: the suffixes of the wildcards ("example.com" for "*.example.com"), lowercase.
  std::vector<std::string> wildcard_suffixes;
  // kHeader: lowercase header name. kCookie: cookie name.
  std::string name;
  // kPath: prefixes, each starting and ending with '/', longest first.
  std::vector<std::string> path_prefixes;
};

struct RejectAnswer {
  int status = 404;
  std::string body;
};

struct UnknownTenantPolicy {
  std::string cell;     // route unknown tenants here; empty: reject
  RejectAnswer reject;  // when cell is empty
};

struct Timeouts {
  uint32_t connect_ms = 2000;
  uint32_t header_read_ms = 10000;
  uint32_t upstream_response_ms = 30000;
  uint32_t idle_ms = 60000;
};

// Retries may add at most `percent` of the requests in flight, but `min_retries_per_s` are
// always allowed; one request is retried at most `max_retries_per_request` times.
struct RetryBudget {
  uint32_t percent = 20;
  uint32_t min_retries_per_s = 3;
  uint32_t max_retries_per_request = 1;
};

struct RouterSettings {
  std::vector<TenantKeySource> sources;
  UnknownTenantPolicy unknown_tenant;
  Timeouts timeouts;
  RetryBudget retry_budget;
};

// The settings used when <prefix>/router is absent: tenants by exact host only, unknown
// tenants answered 404.
RouterSettings DefaultRouterSettings();

// ---- <prefix>/cells/<cell> ----

enum class HashKeySource { kNone, kHeader, kCookie };

struct HashKeyConfig {
  HashKeySource source = HashKeySource::kNone;
  std::string name;  // lowercase header name, or cookie name
};

struct SessionCookieConfig {
  std::string name;        // empty: no session persistence
  uint32_t max_age_s = 0;  // 0: a session cookie
};

struct GroupConfig {
  std::string name;
  uint32_t weight_percent = 100;  // share of the cell's requests, 0..100
  balance::Policy policy = balance::Policy::kRoundRobin;
  HashKeyConfig hash_key;           // consistent_hash only
  uint32_t maglev_table_size = 0;   // maglev only; 0: default
  SessionCookieConfig session_cookie;
  std::vector<balance::BackendSpec> backends;  // canonical addresses
};

enum class HealthCheckType { kNone, kTcp, kHttp };

struct HealthCheckConfig {
  HealthCheckType type = HealthCheckType::kNone;
  std::string path;  // kHttp
  int expected_status = 200;
  uint32_t interval_ms = 5000;
  uint32_t timeout_ms = 1000;
  uint32_t unhealthy_threshold = 3;
  uint32_t healthy_threshold = 2;
};

struct OutlierConfig {
  bool enabled = false;
  uint32_t consecutive_connect_failures = 5;  // 0: not counted
  uint32_t consecutive_5xx = 5;               // 0: not counted
  uint32_t base_ejection_ms = 30000;
  uint32_t max_ejection_ms = 300000;
  uint32_t max_ejected_percent = 50;
};

struct CellCaps {
  uint32_t max_connections = 10000;
  uint32_t max_pending_requests = 1000;
  uint32_t max_connections_per_backend = 1000;
  uint32_t max_pending_requests_per_backend = 100;
};

// When no backend of the chosen group is available: answer `status` with Retry-After
// (retry_after_s > 0), or send the request to `cell` (one hop: that cell's own fallback is not
// followed).
struct FallbackConfig {
  std::string cell;
  int status = 503;
  uint32_t retry_after_s = 5;
};

struct CellConfig {
  std::vector<GroupConfig> groups;  // 1..kMaxGroupsPerCell, weights summing to 100
  HealthCheckConfig health_check;
  OutlierConfig outlier;
  CellCaps caps;
  FallbackConfig fallback;
};

// ---- <prefix>/tenants/<tenant> ----

struct RateLimit {
  uint32_t rps = 0;
  uint32_t burst = 0;
};

struct TenantConfig {
  std::string cell;
  std::optional<RateLimit> rate_limit;
  std::vector<std::string> hosts;  // exact hosts that name this tenant, lowercase
};

// Parsers: each validates one value on its own (cross-references are the builder's job).
// Error messages start with the field path.
Result<RouterSettings> ParseRouterSettings(const Json& value);
Result<CellConfig> ParseCellConfig(const Json& value);
Result<TenantConfig> ParseTenantConfig(const Json& value);

}  // namespace grid::router::table
