#include <gtest/gtest.h>

#include "router/table/test_util.h"

namespace grid::router::table {
namespace {
using testing::MapLookup;
using testing::MustBuild;
using testing::SimpleCell;
using testing::Source;
using testing::TenantIn;

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Source s;
    s.Router(R"({
        "tenant_key_sources": [
          {"type": "host", "wildcards": ["*.example.com", "*.eu.example.com"]},
          {"type": "header", "name": "X-Tenant"},
          {"type": "path", "prefixes": ["/t/", "/t/v2/"]},
          {"type": "cookie", "name": "tenant"}],
        "unknown_tenant": {"status": 421, "body": "unknown tenant\n"}})")
        .Cell("eu-1", SimpleCell())
        .Cell("eu-2", SimpleCell(3))
        .Tenant("acme", R"({"cell": "eu-1", "hosts": ["shop.acme.com"]})")
        .Tenant("globex", TenantIn("eu-2"))
        .Tenant("eu", TenantIn("eu-2"))
        .Tenant("v2", TenantIn("eu-2"));
    table_ = MustBuild(s.get());
    ASSERT_NE(table_, nullptr);
  }

  RouteDecision Resolve(std::string_view host, std::string_view path = "/",
                        const MapLookup* headers = nullptr, const MapLookup* cookies = nullptr) {
    RequestFacts f;
    f.host = host;
    f.path = path;
    f.headers = headers;
    f.cookies = cookies;
    f.client_ip = "192.0.2.1";
    return table_->Resolve(f, 0);
  }

  std::shared_ptr<const RouteTable> table_;
};

TEST_F(ResolveTest, ExactHostWinsOverWildcards) {
  RouteDecision d = Resolve("shop.acme.com");
  ASSERT_TRUE(d.routed);
  EXPECT_EQ(d.tenant_key, "acme");
  EXPECT_EQ(d.key_source, KeySource::kHost);
  EXPECT_EQ(d.cell->name(), "eu-1");
  EXPECT_EQ(d.tenant, table_->FindTenant("acme"));
}

TEST_F(ResolveTest, HostIsCaseInsensitiveWithoutPortOrTrailingDot) {
  for (const char* host : {"SHOP.Acme.COM", "shop.acme.com:8443", "shop.acme.com.", "Shop.Acme.Com.:80"}) {
    RouteDecision d = Resolve(host);
    EXPECT_TRUE(d.routed) << host;
    EXPECT_EQ(d.tenant_key, "acme") << host;
  }
}

TEST_F(ResolveTest, WildcardTakesTheLabelLeftOfTheSuffix) {
  EXPECT_EQ(Resolve("globex.example.com").tenant_key, "globex");
  EXPECT_EQ(Resolve("www.globex.example.com").tenant_key, "globex");
  EXPECT_EQ(Resolve("GLOBEX.Example.com:443").tenant_key, "globex");
}

TEST_F(ResolveTest, MostSpecificWildcardWins) {
  // "*.eu.example.com" is more specific than "*.example.com": acme.eu.example.com is acme.
  RouteDecision d = Resolve("acme.eu.example.com");
  EXPECT_EQ(d.tenant_key, "acme");
  EXPECT_EQ(d.cell->name(), "eu-1");
  // With only "*.example.com" matching, "eu" is the key.
  EXPECT_EQ(Resolve("eu.example.com").tenant_key, "eu");
  // The apex does not match its own wildcard.
  EXPECT_FALSE(Resolve("example.com").routed);
}

TEST_F(ResolveTest, SourcesInPriorityOrderAndFirstKnownTenantWins) {
  MapLookup headers{{"x-tenant", "globex"}};
  // Host yields an unknown key ("nobody"): the header's known tenant wins.
  RouteDecision d = Resolve("nobody.example.com", "/", &headers);
  ASSERT_TRUE(d.routed);
  EXPECT_EQ(d.tenant_key, "globex");
  EXPECT_EQ(d.key_source, KeySource::kHeader);
  // Both known: host comes first.
  d = Resolve("acme.example.com", "/", &headers);
  EXPECT_EQ(d.tenant_key, "acme");
  EXPECT_EQ(d.key_source, KeySource::kHost);
}

TEST_F(ResolveTest, PathUsesTheSegmentAfterTheLongestPrefix) {
  RouteDecision d = Resolve("api.internal", "/t/acme/orders?x=1");
  EXPECT_EQ(d.tenant_key, "acme");
  EXPECT_EQ(d.key_source, KeySource::kPath);
  EXPECT_EQ(Resolve("api.internal", "/t/globex").tenant_key, "globex");
  EXPECT_EQ(Resolve("api.internal", "/t/globex?q").tenant_key, "globex");
  // "/t/v2/" is longer than "/t/": the key is the segment after it, not "v2".
  EXPECT_EQ(Resolve("api.internal", "/t/v2/acme/x").tenant_key, "acme");
  EXPECT_EQ(Resolve("api.internal", "/t/v2/").routed, false);
  // Case-sensitive, and the prefix must match whole.
  EXPECT_FALSE(Resolve("api.internal", "/T/acme").routed);
  EXPECT_FALSE(Resolve("api.internal", "/tx/acme").routed);
}

TEST_F(ResolveTest, Cookie) {
  MapLookup cookies{{"tenant", "globex"}};
  RouteDecision d = Resolve("api.internal", "/", nullptr, &cookies);
  EXPECT_EQ(d.tenant_key, "globex");
  EXPECT_EQ(d.key_source, KeySource::kCookie);
}

TEST_F(ResolveTest, HeaderValuesAreMatchedExactly) {
  MapLookup headers{{"x-tenant", "GLOBEX"}};
  EXPECT_FALSE(Resolve("api.internal", "/", &headers).routed);
}

TEST_F(ResolveTest, UnknownTenantIsRejectedWithTheFirstKeyReported) {
  MapLookup headers{{"x-tenant", "initech"}};
  RouteDecision d = Resolve("hooli.example.com", "/", &headers);
  EXPECT_FALSE(d.routed);
  EXPECT_EQ(d.reject_status, 421);
  EXPECT_EQ(d.reject_body, "unknown tenant\n");
  EXPECT_EQ(d.tenant_key, "hooli");
  EXPECT_EQ(d.key_source, KeySource::kHost);
  EXPECT_EQ(d.tenant, nullptr);

  d = Resolve("", "");
  EXPECT_FALSE(d.routed);
  EXPECT_EQ(d.tenant_key, "");
  EXPECT_EQ(d.key_source, KeySource::kNone);
}

TEST(ResolveDefaultCellTest, UnknownTenantGoesToTheDefaultCell) {
  Source s;
  s.Router(R"({"tenant_key_sources": [{"type": "header", "name": "x-tenant"}],
               "unknown_tenant": {"cell": "shared"}})")
      .Cell("shared", SimpleCell())
      .Cell("eu-1", SimpleCell())
      .Tenant("acme", TenantIn("eu-1"));
  auto table = MustBuild(s.get());
  MapLookup headers{{"x-tenant", "initech"}};
  RequestFacts f;
  f.headers = &headers;
  RouteDecision d = table->Resolve(f, 0);
  ASSERT_TRUE(d.routed);
  EXPECT_EQ(d.cell->name(), "shared");
  EXPECT_EQ(d.tenant, nullptr);
  EXPECT_EQ(d.tenant_key, "initech");
}

TEST(ResolveSplitTest, GroupByWeightSplit) {
  Source s;
  s.Router(R"({"tenant_key_sources": [{"type": "header", "name": "x-tenant"}]})")
      .Cell("eu-1", R"({"groups": [
          {"name": "blue", "weight": 90, "backends": [{"address": "10.0.0.1:80"}]},
          {"name": "green", "weight": 10, "backends": [{"address": "10.0.0.2:80"}]}]})")
      .Tenant("acme", TenantIn("eu-1"));
  auto table = MustBuild(s.get());
  MapLookup headers{{"x-tenant", "acme"}};
  RequestFacts f;
  f.headers = &headers;
  int green = 0;
  for (uint64_t roll = 0; roll < 10000; ++roll) {
    RouteDecision d = table->Resolve(f, roll);
    ASSERT_TRUE(d.routed);
    green += d.group->name() == "green" ? 1 : 0;
  }
  EXPECT_EQ(green, 1000);  // exact: rolls 0..9999 cover each residue mod 100 equally
  EXPECT_EQ(table->Resolve(f, 89).group->name(), "blue");
  EXPECT_EQ(table->Resolve(f, 90).group->name(), "green");
}

TEST(ResolveSplitTest, ZeroWeightGroupIsNeverChosen) {
  Source s;
  s.Cell("eu-1", R"({"groups": [
          {"name": "blue", "weight": 100, "backends": [{"address": "10.0.0.1:80"}]},
          {"name": "green", "weight": 0, "backends": [{"address": "10.0.0.2:80"}]}]})");
  auto table = MustBuild(s.get());
  const CellRoute* cell = table->FindCell("eu-1");
  for (uint64_t roll = 0; roll < 200; ++roll) EXPECT_EQ(cell->GroupFor(roll).name(), "blue");
}

TEST(ChooseTest, ConsistentHashOnHeaderAndSessionCookie) {
  Source s;
  s.Cell("eu-1", R"({"policy": "consistent_hash",
                     "consistent_hash": {"header": "X-User"},
                     "backends": [{"address": "10.0.0.1:80"}, {"address": "10.0.0.2:80"},
                                  {"address": "10.0.0.3:80"}]})")
      .Cell("eu-2", R"({"policy": "round_robin",
                        "session_cookie": {"name": "sticky", "max_age_s": 60},
                        "backends": [{"address": "10.0.0.1:80"}, {"address": "10.0.0.2:80"}]})");
  auto table = MustBuild(s.get());
  std::vector<balance::BackendState> states(3);

  const BackendGroup& hashed = table->FindCell("eu-1")->group(0);
  MapLookup user{{"x-user", "u-17"}};
  RequestFacts f;
  f.headers = &user;
  EXPECT_EQ(hashed.HashKey(f), "u-17");
  auto first = hashed.Choose(f, states, 1);
  ASSERT_TRUE(first.has_value());
  for (uint64_t r = 2; r < 20; ++r) EXPECT_EQ(hashed.Choose(f, states, r)->backend, first->backend);
  EXPECT_FALSE(first->set_cookie.has_value());

  const BackendGroup& sticky = table->FindCell("eu-2")->group(0);
  std::vector<balance::BackendState> two(2);
  RequestFacts plain;
  auto c = sticky.Choose(plain, two, 0);
  ASSERT_TRUE(c.has_value() && c->set_cookie.has_value());
  const std::string token = sticky.session_cookie()->TokenFor(c->backend);
  EXPECT_EQ(*c->set_cookie, "sticky=" + token + "; Path=/; HttpOnly; Max-Age=60");
  MapLookup cookies{{"sticky", token}};
  RequestFacts again;
  again.cookies = &cookies;
  for (int i = 0; i < 5; ++i) {
    auto next = sticky.Choose(again, two, 0);
    EXPECT_EQ(next->backend, c->backend);
    EXPECT_FALSE(next->set_cookie.has_value());
  }
  two[c->backend].healthy = false;
  auto moved = sticky.Choose(again, two, 0);
  ASSERT_TRUE(moved.has_value());
  EXPECT_NE(moved->backend, c->backend);
  EXPECT_TRUE(moved->set_cookie.has_value());
  two[moved->backend].healthy = false;
  EXPECT_FALSE(sticky.Choose(again, two, 0).has_value());
}

TEST(ChooseTest, SourceIpHashUsesTheClientAddress) {
  Source s;
  s.Cell("eu-1", SimpleCell(4, R"("policy": "source_ip_hash")"));
  auto table = MustBuild(s.get());
  const BackendGroup& g = table->FindCell("eu-1")->group(0);
  std::vector<balance::BackendState> states(4);
  RequestFacts f;
  f.client_ip = "198.51.100.7";
  const size_t b = g.Choose(f, states, 0)->backend;
  for (uint64_t r = 1; r < 20; ++r) EXPECT_EQ(g.Choose(f, states, r)->backend, b);
}

}  // namespace
}  // namespace grid::router::table
