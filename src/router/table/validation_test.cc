// Every refusal names the key and the field.
#include <gtest/gtest.h>

#include "router/table/test_util.h"

namespace grid::router::table {
namespace {
using testing::BuildError;
using testing::MustBuild;
using testing::SimpleCell;
using testing::Source;
using testing::TenantIn;

TEST(ValidationTest, BackendWeightOutOfRange) {
  Source s;
  s.Cell("eu-1", R"({"backends": [{"address": "10.0.0.1:80"}, {"address": "10.0.0.2:80"},
                                   {"address": "10.0.0.3:80", "weight": 0}]})");
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/cells/eu-1: backends[2].weight: must be 1..100, got 0");
}

TEST(ValidationTest, CellFieldErrors) {
  struct Case {
    std::string cell;
    std::string error;
  } cases[] = {
      {R"({"backends": [{"address": "10.0.0.1:80", "wieght": 2}]})",
       "backends[0].wieght: unknown field (expected one of: address, weight)"},
      {R"({"backend": []})",
       "backend: unknown field (expected one of: policy, consistent_hash, session_cookie, "
       "backends, health_check, outlier_detection, limits, fallback)"},
      {R"({"backends": []})", "backends: must not be empty"},
      {R"({"backends": [{"address": "10.0.0.1"}]})",
       "backends[0].address: must be host:port, got \"10.0.0.1\""},
      {R"({"backends": [{"address": "10.0.0.1:80"}, {"address": "10.0.0.1:80"}]})",
       "backends[1].address: duplicate of backends[0] (\"10.0.0.1:80\")"},
      {R"({"backends": [{"address": "B.example:80"}, {"address": "b.example:80"}]})",
       "backends[1].address: duplicate of backends[0] (\"b.example:80\")"},
      {SimpleCell(1, R"("policy": "random")"),
       "policy: must be one of round_robin, least_conn, p2c, source_ip_hash, consistent_hash, "
       "got \"random\""},
      {SimpleCell(1, R"("policy": "consistent_hash")"),
       "consistent_hash: required by policy consistent_hash"},
      {SimpleCell(1, R"("consistent_hash": {"header": "x-user"})"),
       "consistent_hash: only allowed with policy consistent_hash"},
      {SimpleCell(1, R"("policy": "consistent_hash", "consistent_hash": {})"),
       "consistent_hash: needs exactly one of \"header\" or \"cookie\""},
      {SimpleCell(1, R"("policy": "consistent_hash", "consistent_hash": {"header": "x", "algorithm": "jump"})"),
       "consistent_hash.algorithm: must be ring or maglev, got \"jump\""},
      {SimpleCell(1, R"("policy": "consistent_hash", "consistent_hash": {"header": "x", "maglev_table_size": 65537})"),
       "consistent_hash.maglev_table_size: only allowed with algorithm maglev"},
      {SimpleCell(1, R"("policy": "consistent_hash", "consistent_hash": {"cookie": "u", "algorithm": "maglev", "maglev_table_size": 1000})"),
       "consistent_hash.maglev_table_size: must be prime, got 1000"},
      {SimpleCell(11, R"("policy": "consistent_hash", "consistent_hash": {"cookie": "u", "algorithm": "maglev", "maglev_table_size": 1021})"),
       "consistent_hash.maglev_table_size: must be at least 100 x backends (1100), got 1021"},
      {SimpleCell(1, R"("session_cookie": {"name": "a=b"})"),
       "session_cookie.name: not a cookie name: \"a=b\""},
      {R"({"groups": [{"name": "blue", "weight": 90, "backends": [{"address": "10.0.0.1:80"}]},
                      {"name": "green", "weight": 20, "backends": [{"address": "10.0.0.2:80"}]}]})",
       "groups: weights must add up to 100, got 110"},
      {R"({"groups": [{"name": "blue", "weight": 50, "backends": [{"address": "10.0.0.1:80"}]},
                      {"name": "blue", "weight": 50, "backends": [{"address": "10.0.0.2:80"}]}]})",
       "groups[1].name: duplicate \"blue\""},
      {R"({"groups": [{"name": "blue", "backends": [{"address": "10.0.0.1:80"}]},
                      {"name": "green", "backends": [{"address": "10.0.0.2:80"}]}]})",
       "groups[0].weight: required"},
      {R"({"groups": [{"name": "blue", "weight": 50, "backends": [{"address": "10.0.0.1:80"}]}]})",
       "groups: weights must add up to 100, got 50"},
      {R"({"groups": [{"name": "blue", "backends": [{"address": "10.0.0.1:80"}]}], "backends": []})",
       "backends: unknown field (expected one of: groups, health_check, outlier_detection, "
       "limits, fallback)"},
      {R"({"policy": "p2c"})", "backends: required (or \"groups\")"},
      {SimpleCell(1, R"("health_check": {"type": "http"})"), "health_check.path: required"},
      {SimpleCell(1, R"("health_check": {"type": "icmp"})"),
       "health_check.type: must be tcp or http, got \"icmp\""},
      {SimpleCell(1, R"("health_check": {"type": "tcp", "path": "/"})"),
       "health_check.path: unknown field (expected one of: type, interval_ms, timeout_ms, "
       "unhealthy_threshold, healthy_threshold)"},
      {SimpleCell(1, R"("health_check": {"type": "http", "path": "healthz"})"),
       "health_check.path: must start with '/' and hold no white space"},
      {SimpleCell(1, R"("health_check": {"type": "tcp", "interval_ms": 1000, "timeout_ms": 2000})"),
       "health_check.timeout_ms: must be 1..1000, got 2000"},
      {SimpleCell(1, R"("health_check": {"type": "tcp", "interval_ms": 50})"),
       "health_check.interval_ms: must be 100..3600000, got 50"},
      {SimpleCell(1, R"("outlier_detection": {"consecutive_connect_failures": 0, "consecutive_5xx": 0})"),
       "outlier_detection: consecutive_connect_failures and consecutive_5xx are both 0: nothing "
       "would be ejected (omit the block)"},
      {SimpleCell(1, R"("outlier_detection": {"base_ejection_ms": 5000, "max_ejection_ms": 1000})"),
       "outlier_detection.max_ejection_ms: must be 5000..86400000, got 1000"},
      {SimpleCell(1, R"("outlier_detection": {"max_ejected_percent": 101})"),
       "outlier_detection.max_ejected_percent: must be 0..100, got 101"},
      {SimpleCell(1, R"("limits": {"max_connections": 0})"),
       "limits.max_connections: must be 1..1000000, got 0"},
      {SimpleCell(1, R"("fallback": {"status": 404})"), "fallback.status: must be 500..599, got 404"},
      {SimpleCell(1, R"("fallback": {"cell": "x", "status": 503})"),
       "fallback.status: unknown field (expected one of: cell)"},
      {"[]", "must be an object, got array"},
      {R"({"backends": [{"address": "10.0.0.1:80"}], "backends": []})",
       "invalid JSON: duplicate field \"backends\""},
  };
  for (const Case& c : cases) {
    Source s;
    s.Cell("eu-1", c.cell);
    EXPECT_EQ(BuildError(s.get()), "/grid/routes/cells/eu-1: " + c.error) << c.cell;
  }
}

TEST(ValidationTest, RouterFieldErrors) {
  struct Case {
    std::string router;
    std::string error;
  } cases[] = {
      {R"({"tenant_key_source": []})",
       "tenant_key_source: unknown field (expected one of: tenant_key_sources, unknown_tenant, "
       "timeouts_ms, retry_budget)"},
      {R"({"tenant_key_sources": []})", "tenant_key_sources: must not be empty"},
      {R"({"tenant_key_sources": [{"type": "query"}]})",
       "tenant_key_sources[0].type: must be one of host, header, path, cookie, got \"query\""},
      {R"({"tenant_key_sources": [{"type": "host", "wildcards": ["example.com"]}]})",
       "tenant_key_sources[0].wildcards[0]: must be \"*.\" followed by a host name, got "
       "\"example.com\""},
      {R"({"tenant_key_sources": [{"type": "host", "wildcards": ["*.a.com", "*.A.com"]}]})",
       "tenant_key_sources[0].wildcards[1]: duplicate \"*.a.com\""},
      {R"({"tenant_key_sources": [{"type": "header", "name": "X-T"}, {"type": "header", "name": "x-t"}]})",
       "tenant_key_sources[1]: duplicate header source"},
      {R"({"tenant_key_sources": [{"type": "header", "name": "x t"}]})",
       "tenant_key_sources[0].name: not a header name: \"x t\""},
      {R"({"tenant_key_sources": [{"type": "header"}]})", "tenant_key_sources[0].name: required"},
      {R"({"tenant_key_sources": [{"type": "path", "prefixes": ["/t"]}]})",
       "tenant_key_sources[0].prefixes[0]: must start and end with '/' and hold no '?' or '#', "
       "got \"/t\""},
      {R"({"tenant_key_sources": [{"type": "cookie", "name": "t", "prefixes": ["/t/"]}]})",
       "tenant_key_sources[0].prefixes: unknown field (expected one of: type, name)"},
      {R"({"unknown_tenant": {"status": 200}})", "unknown_tenant.status: must be 400..599, got 200"},
      {R"({"unknown_tenant": {"cell": "Shared"}})", "unknown_tenant.cell: not a cell name: \"Shared\""},
      {R"({"timeouts_ms": {"connect": 0}})", "timeouts_ms.connect: must be 1..60000, got 0"},
      {R"({"timeouts_ms": {"read": 10}})",
       "timeouts_ms.read: unknown field (expected one of: connect, header_read, "
       "upstream_response, idle)"},
      {R"({"retry_budget": {"percent": 150}})", "retry_budget.percent: must be 0..100, got 150"},
      {R"({"retry_budget": {"max_retries_per_request": 6}})",
       "retry_budget.max_retries_per_request: must be 0..5, got 6"},
  };
  for (const Case& c : cases) {
    Source s;
    s.Router(c.router);
    EXPECT_EQ(BuildError(s.get()), "/grid/routes/router: " + c.error) << c.router;
  }
}

TEST(ValidationTest, TenantFieldErrors) {
  struct Case {
    std::string tenant;
    std::string error;
  } cases[] = {
      {R"({})", "cell: required"},
      {R"({"cell": "eu-1", "rate_limit": {"rps": 0}})", "rate_limit.rps: must be 1..1000000, got 0"},
      {R"({"cell": "eu-1", "rate_limit": {"burst": 5}})", "rate_limit.rps: required"},
      {R"({"cell": "eu-1", "ratelimit": {"rps": 5}})",
       "ratelimit: unknown field (expected one of: cell, rate_limit, hosts)"},
      {R"({"cell": "eu-1", "hosts": ["*.acme.com"]})",
       "hosts[0]: must be a host name (no port, no wildcard), got \"*.acme.com\""},
      {R"({"cell": "eu-1", "hosts": ["a.com", "A.com"]})", "hosts[1]: duplicate \"a.com\""},
      {R"({"cell": 7})", "cell: must be a string, got integer"},
  };
  for (const Case& c : cases) {
    Source s;
    s.Cell("eu-1", SimpleCell()).Tenant("acme", c.tenant);
    EXPECT_EQ(BuildError(s.get()), "/grid/routes/tenants/acme: " + c.error) << c.tenant;
  }
}

TEST(ValidationTest, CrossReferences) {
  {
    Source s;
    s.Cell("eu-1", SimpleCell()).Tenant("acme", TenantIn("eu-2"));
    EXPECT_EQ(BuildError(s.get()), "/grid/routes/tenants/acme: cell: cell \"eu-2\" does not exist");
  }
  {
    Source s;
    s.Cell("eu-1", SimpleCell(2, R"("fallback": {"cell": "eu-9"})"));
    EXPECT_EQ(BuildError(s.get()),
              "/grid/routes/cells/eu-1: fallback.cell: cell \"eu-9\" does not exist");
  }
  {
    Source s;
    s.Cell("eu-1", SimpleCell(2, R"("fallback": {"cell": "eu-1"})"));
    EXPECT_EQ(BuildError(s.get()), "/grid/routes/cells/eu-1: fallback.cell: must name another cell");
  }
  {
    Source s;
    s.Router(R"({"unknown_tenant": {"cell": "shared"}})").Cell("eu-1", SimpleCell());
    EXPECT_EQ(BuildError(s.get()),
              "/grid/routes/router: unknown_tenant.cell: cell \"shared\" does not exist");
  }
  {
    Source s;
    s.Cell("eu-1", SimpleCell())
        .Tenant("acme", R"({"cell": "eu-1", "hosts": ["shop.acme.com"]})")
        .Tenant("evil", R"({"cell": "eu-1", "hosts": ["x.evil.com", "Shop.Acme.com"]})");
    EXPECT_EQ(BuildError(s.get()),
              "/grid/routes/tenants/evil: hosts[1]: \"shop.acme.com\" already names tenant \"acme\"");
  }
  {
    Source s;
    s.Router(R"({"tenant_key_sources": [{"type": "header", "name": "x-tenant"}]})")
        .Cell("eu-1", SimpleCell())
        .Tenant("acme", R"({"cell": "eu-1", "hosts": ["shop.acme.com"]})");
    EXPECT_EQ(BuildError(s.get()),
              "/grid/routes/tenants/acme: hosts: the router has no host tenant key source");
  }
}

TEST(ValidationTest, KeysUnderThePrefix) {
  {
    Source s;
    s.Put("/cell/eu-1", SimpleCell());
    EXPECT_EQ(BuildError(s.get()),
              "/grid/routes/cell/eu-1: unknown key (expected router, cells/<cell> or "
              "tenants/<tenant> under /grid/routes/)");
  }
  {
    Source s;
    s.Cell("EU_1", SimpleCell());
    EXPECT_EQ(BuildError(s.get()),
              "/grid/routes/cells/EU_1: cell name \"EU_1\" must be a lowercase DNS label (a-z, "
              "0-9, '-', 1..63 bytes)");
  }
  {
    Source s;
    s.Cell("eu-1", SimpleCell()).Put("/tenants/a/b", TenantIn("eu-1"));
    EXPECT_NE(BuildError(s.get()).find("/grid/routes/tenants/a/b: tenant name \"a/b\""),
              std::string::npos);
  }
  {
    Source s;
    s.Cell("eu-1", "{not json");
    EXPECT_EQ(BuildError(s.get()).rfind("/grid/routes/cells/eu-1: invalid JSON: ", 0), 0u);
  }
  {
    TableSource outside = Source().get();
    outside.kvs["/grid/other/x"] = "{}";
    EXPECT_EQ(BuildError(outside),
              "key \"/grid/other/x\" is outside the table prefix \"/grid/routes/\"");
    outside.kvs.clear();
    outside.kvs["/grid/routesX/cells/a"] = "{}";
    EXPECT_NE(BuildError(outside), "");
  }
  {
    TableSource bad_prefix;
    bad_prefix.prefix = "/grid/routes/";
    EXPECT_EQ(BuildError(bad_prefix),
              "table prefix \"/grid/routes/\" must be non-empty without a '/' at the end");
  }
}

TEST(ValidationTest, FirstBadKeyIsReportedWithACountOfTheRest) {
  Source s;
  s.Cell("a", "[]").Cell("b", "[]").Cell("c", "[]");
  EXPECT_EQ(BuildError(s.get()),
            "/grid/routes/cells/a: must be an object, got array (and 2 more keys with errors)");
}

TEST(ValidationTest, FullExampleIsAccepted) {
  Source s;
  s.Router(R"({
      "tenant_key_sources": [
        {"type": "host", "wildcards": ["*.example.com", "*.eu.example.com"]},
        {"type": "header", "name": "X-Tenant"},
        {"type": "path", "prefixes": ["/t/", "/api/tenants/"]},
        {"type": "cookie", "name": "tenant"}],
      "unknown_tenant": {"status": 421, "body": "no such tenant\n"},
      "timeouts_ms": {"connect": 1000, "header_read": 5000, "upstream_response": 20000, "idle": 30000},
      "retry_budget": {"percent": 10, "min_retries_per_s": 5, "max_retries_per_request": 2}})")
      .Cell("eu-1", R"({
      "groups": [
        {"name": "blue", "weight": 90, "policy": "least_conn",
         "backends": [{"address": "10.0.1.1:8080", "weight": 10}, {"address": "10.0.1.2:8080"}]},
        {"name": "green", "weight": 10, "policy": "consistent_hash",
         "consistent_hash": {"header": "X-User", "algorithm": "maglev", "maglev_table_size": 1021},
         "session_cookie": {"name": "grid_sticky", "max_age_s": 3600},
         "backends": [{"address": "[2001:db8::7]:8080"}]}],
      "health_check": {"type": "http", "path": "/healthz", "expected_status": 204,
                       "interval_ms": 2000, "timeout_ms": 500, "unhealthy_threshold": 2,
                       "healthy_threshold": 3},
      "outlier_detection": {"consecutive_connect_failures": 3, "consecutive_5xx": 0,
                            "base_ejection_ms": 10000, "max_ejection_ms": 60000,
                            "max_ejected_percent": 30},
      "limits": {"max_connections": 500, "max_pending_requests": 0,
                 "max_connections_per_backend": 100, "max_pending_requests_per_backend": 0},
      "fallback": {"cell": "eu-2"}})")
      .Cell("eu-2", SimpleCell(1, R"("fallback": {"status": 503, "retry_after_s": 0})"))
      .Tenant("acme", R"({"cell": "eu-1", "rate_limit": {"rps": 100, "burst": 200},
                          "hosts": ["Shop.Acme.com"]})");
  auto table = MustBuild(s.get(), 42);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->revision(), 42);
  const RouterSettings& r = table->settings();
  ASSERT_EQ(r.sources.size(), 4u);
  EXPECT_EQ(r.sources[1].name, "x-tenant");
  EXPECT_EQ(r.sources[2].path_prefixes, (std::vector<std::string>{"/api/tenants/", "/t/"}));
  EXPECT_EQ(r.unknown_tenant.reject.status, 421);
  EXPECT_EQ(r.timeouts.upstream_response_ms, 20000u);
  EXPECT_EQ(r.retry_budget.max_retries_per_request, 2u);

  const CellRoute* eu1 = table->FindCell("eu-1");
  ASSERT_NE(eu1, nullptr);
  ASSERT_EQ(eu1->group_count(), 2u);
  EXPECT_EQ(eu1->group(0).config().policy, balance::Policy::kLeastConn);
  EXPECT_EQ(eu1->group(0).backends()[0].weight, 10u);
  EXPECT_EQ(eu1->group(0).backends()[1].weight, 1u);
  EXPECT_EQ(eu1->group(1).config().policy, balance::Policy::kMaglev);
  EXPECT_EQ(eu1->group(1).config().hash_key.name, "x-user");
  EXPECT_EQ(eu1->group(1).backends()[0].address, "[2001:db8::7]:8080");
  ASSERT_NE(eu1->group(1).session_cookie(), nullptr);
  EXPECT_EQ(eu1->config().health_check.type, HealthCheckType::kHttp);
  EXPECT_EQ(eu1->config().health_check.expected_status, 204);
  EXPECT_TRUE(eu1->config().outlier.enabled);
  EXPECT_EQ(eu1->config().outlier.consecutive_5xx, 0u);
  EXPECT_EQ(eu1->config().caps.max_pending_requests, 0u);
  EXPECT_EQ(table->FallbackCell(*eu1), table->FindCell("eu-2"));
  const CellRoute* eu2 = table->FindCell("eu-2");
  EXPECT_EQ(table->FallbackCell(*eu2), nullptr);
  EXPECT_EQ(eu2->config().fallback.status, 503);
  EXPECT_EQ(eu2->config().fallback.retry_after_s, 0u);
  const TenantRoute* acme = table->FindTenant("acme");
  ASSERT_NE(acme, nullptr);
  ASSERT_TRUE(acme->config.rate_limit.has_value());
  EXPECT_EQ(acme->config.rate_limit->burst, 200u);
  EXPECT_EQ(acme->config.hosts, (std::vector<std::string>{"shop.acme.com"}));
}

TEST(ValidationTest, DefaultsWhenOptionalPartsAreAbsent) {
  Source s;
  s.Cell("eu-1", SimpleCell()).Tenant("acme", R"({"cell": "eu-1", "rate_limit": {"rps": 7}})");
  auto table = MustBuild(s.get());
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->settings().sources.size(), 1u);
  EXPECT_EQ(table->settings().sources[0].type, KeySourceType::kHost);
  EXPECT_EQ(table->settings().unknown_tenant.reject.status, 404);
  EXPECT_EQ(table->settings().timeouts.connect_ms, 2000u);
  const CellConfig& c = table->FindCell("eu-1")->config();
  EXPECT_EQ(c.groups[0].name, "default");
  EXPECT_EQ(c.groups[0].policy, balance::Policy::kRoundRobin);
  EXPECT_EQ(c.health_check.type, HealthCheckType::kNone);
  EXPECT_FALSE(c.outlier.enabled);
  EXPECT_EQ(c.fallback.status, 503);
  EXPECT_EQ(c.fallback.retry_after_s, 5u);
  EXPECT_EQ(table->FindTenant("acme")->config.rate_limit->burst, 7u);
}

}  // namespace
}  // namespace grid::router::table
