// Every named limit of limits.h, at the limit and one past it.
#include "router/table/limits.h"

#include <gtest/gtest.h>

#include "router/balance/maglev.h"
#include "router/table/test_util.h"

namespace grid::router::table {
namespace {
using testing::BuildError;
using testing::SimpleCell;
using testing::Source;
using testing::TenantIn;

std::string Backends(size_t n, size_t first = 0) {
  std::string out;
  for (size_t i = first; i < first + n; ++i) {
    out += (i > first ? ", " : "");
    out += R"({"address": "10.1.)" + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + R"(:80"})";
  }
  return out;
}

TEST(LimitsTest, Cells) {
  Source s;
  for (size_t i = 0; i < kMaxCells; ++i) s.Cell("c" + std::to_string(i), SimpleCell(1));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Cell("one-more", SimpleCell(1));
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/cells: 1001 cells, limit 1000");
}

TEST(LimitsTest, Tenants) {
  Source s;
  s.Cell("eu-1", SimpleCell(1));
  for (size_t i = 0; i < kMaxTenants; ++i) s.Tenant("t" + std::to_string(i), TenantIn("eu-1"));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Tenant("one-more", TenantIn("eu-1"));
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/tenants: 100001 tenants, limit 100000");
}

TEST(LimitsTest, BackendsPerCellInOneGroup) {
  Source s;
  s.Cell("eu-1", "{\"backends\": [" + Backends(kMaxBackendsPerCell) + "]}");
  EXPECT_EQ(BuildError(s.get()), "");
  s.Cell("eu-1", "{\"backends\": [" + Backends(kMaxBackendsPerCell + 1) + "]}");
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/cells/eu-1: backends: has 257 entries, limit 256");
}

TEST(LimitsTest, BackendsPerCellAcrossGroups) {
  auto cell = [](size_t blue, size_t green) {
    return R"({"groups": [{"name": "blue", "weight": 50, "backends": [)" + Backends(blue) +
           R"(]}, {"name": "green", "weight": 50, "backends": [)" + Backends(green, blue) + "]}]}";
  };
  Source s;
  s.Cell("eu-1", cell(200, kMaxBackendsPerCell - 200));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Cell("eu-1", cell(200, kMaxBackendsPerCell - 199));
  EXPECT_EQ(BuildError(s.get()),
            "/grid/routes/cells/eu-1: groups[1].backends: the cell has more than 256 backends, the limit");
}

TEST(LimitsTest, GroupsPerCell) {
  const std::string group = R"({"name": "g%", "weight": W, "backends": [{"address": "10.0.0.%:80"}]})";
  auto groups = [&](size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      std::string g = group;
      g.replace(g.find('%'), 1, std::to_string(i));
      g.replace(g.find('%'), 1, std::to_string(i + 1));
      g.replace(g.find('W'), 1, i == 0 ? "100" : "0");
      out += (i ? ", " : "") + g;
    }
    return "{\"groups\": [" + out + "]}";
  };
  Source s;
  s.Cell("eu-1", groups(kMaxGroupsPerCell));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Cell("eu-1", groups(kMaxGroupsPerCell + 1));
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/cells/eu-1: groups: has 3 entries, limit 2");
}

TEST(LimitsTest, KeyBytes) {
  // prefix + "/tenants/" + a 63-byte name = exactly kMaxKeyBytes.
  const std::string name(kMaxNameBytes, 'n');
  const std::string at_limit_prefix = "/" + std::string(kMaxKeyBytes - 10 - kMaxNameBytes, 'p');
  TableSource ok;
  ok.prefix = at_limit_prefix;
  ok.kvs[at_limit_prefix + "/cells/c"] = SimpleCell(1);
  ok.kvs[at_limit_prefix + "/tenants/" + name] = TenantIn("c");
  ASSERT_EQ((at_limit_prefix + "/tenants/" + name).size(), kMaxKeyBytes);
  EXPECT_EQ(BuildError(ok), "");

  TableSource over;
  over.prefix = at_limit_prefix + "p";
  over.kvs[over.prefix + "/cells/c"] = SimpleCell(1);
  over.kvs[over.prefix + "/tenants/" + name] = TenantIn("c");
  EXPECT_NE(BuildError(over).find(": key is 513 bytes, limit 512"), std::string::npos);
}

TEST(LimitsTest, ValueBytes) {
  std::string value = TenantIn("eu-1");
  value += std::string(kMaxValueBytes - value.size(), ' ');
  Source s;
  s.Cell("eu-1", SimpleCell(1)).Tenant("acme", value);
  EXPECT_EQ(BuildError(s.get()), "");
  s.Tenant("acme", value + " ");
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/tenants/acme: value is 65537 bytes, limit 65536");
}

TEST(LimitsTest, NameBytes) {
  Source s;
  s.Cell(std::string(kMaxNameBytes, 'c'), SimpleCell(1));
  EXPECT_EQ(BuildError(s.get()), "");
  Source over;
  over.Cell(std::string(kMaxNameBytes + 1, 'c'), SimpleCell(1));
  EXPECT_NE(BuildError(over.get()).find("must be a lowercase DNS label"), std::string::npos);
}

TEST(LimitsTest, HostsPerTenantAndHostBytes) {
  const std::string long_host = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(long_host.size(), kMaxHostBytes);
  auto hosts = [&](size_t n) {
    std::string out = "\"" + long_host + "\"";
    for (size_t i = 1; i < n; ++i) out += ", \"h" + std::to_string(i) + ".acme.com\"";
    return R"({"cell": "eu-1", "hosts": [)" + out + "]}";
  };
  Source s;
  s.Cell("eu-1", SimpleCell(1)).Tenant("acme", hosts(kMaxHostsPerTenant));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Tenant("acme", hosts(kMaxHostsPerTenant + 1));
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/tenants/acme: hosts: has 17 entries, limit 16");
  s.Tenant("acme", R"({"cell": "eu-1", "hosts": [")" + long_host + "d\"]}");
  EXPECT_NE(BuildError(s.get()).find("hosts[0]: must be a host name"), std::string::npos);
}

TEST(LimitsTest, TenantKeySources) {
  auto router = [](size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      out += (i ? ", " : "") + std::string(R"({"type": "header", "name": "x-t)") + std::to_string(i) + "\"}";
    }
    return "{\"tenant_key_sources\": [" + out + "]}";
  };
  Source s;
  s.Router(router(kMaxTenantKeySources));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Router(router(kMaxTenantKeySources + 1));
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/router: tenant_key_sources: has 9 entries, limit 8");
}

TEST(LimitsTest, HostWildcards) {
  auto router = [](size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + ("\"*.d" + std::to_string(i) + ".com\"");
    return R"({"tenant_key_sources": [{"type": "host", "wildcards": [)" + out + "]}]}";
  };
  Source s;
  s.Router(router(kMaxHostWildcards));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Router(router(kMaxHostWildcards + 1));
  EXPECT_EQ(BuildError(s.get()),
            "/grid/routes/router: tenant_key_sources[0].wildcards: has 65 entries, limit 64");
}

TEST(LimitsTest, PathPrefixesAndPrefixBytes) {
  auto router = [](size_t n, const std::string& first) {
    std::string out = "\"" + first + "\"";
    for (size_t i = 1; i < n; ++i) out += ", \"/p" + std::to_string(i) + "/\"";
    return R"({"tenant_key_sources": [{"type": "path", "prefixes": [)" + out + "]}]}";
  };
  const std::string long_prefix = "/" + std::string(kMaxPathPrefixBytes - 2, 'x') + "/";
  Source s;
  s.Router(router(kMaxPathPrefixes, long_prefix));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Router(router(kMaxPathPrefixes + 1, long_prefix));
  EXPECT_EQ(BuildError(s.get()),
            "/grid/routes/router: tenant_key_sources[0].prefixes: has 17 entries, limit 16");
  s.Router(router(1, "/" + long_prefix));
  EXPECT_EQ(BuildError(s.get()),
            "/grid/routes/router: tenant_key_sources[0].prefixes[0]: is 257 bytes, limit 256");
}

TEST(LimitsTest, FieldNameBytes) {
  auto router = [](size_t n) {
    return R"({"tenant_key_sources": [{"type": "cookie", "name": ")" + std::string(n, 'c') + "\"}]}";
  };
  Source s;
  s.Router(router(kMaxFieldNameBytes));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Router(router(kMaxFieldNameBytes + 1));
  EXPECT_EQ(BuildError(s.get()),
            "/grid/routes/router: tenant_key_sources[0].name: is 65 bytes, limit 64");
}

TEST(LimitsTest, RejectBodyBytes) {
  auto router = [](size_t n) {
    return R"({"unknown_tenant": {"status": 404, "body": ")" + std::string(n, 'b') + "\"}}";
  };
  Source s;
  s.Router(router(kMaxRejectBodyBytes));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Router(router(kMaxRejectBodyBytes + 1));
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/router: unknown_tenant.body: is 1025 bytes, limit 1024");
}

TEST(LimitsTest, HealthPathBytes) {
  auto cell = [](size_t n) {
    return SimpleCell(1, R"("health_check": {"type": "http", "path": "/)" + std::string(n - 1, 'h') + "\"}");
  };
  Source s;
  s.Cell("eu-1", cell(kMaxHealthPathBytes));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Cell("eu-1", cell(kMaxHealthPathBytes + 1));
  EXPECT_EQ(BuildError(s.get()), "/grid/routes/cells/eu-1: health_check.path: is 1025 bytes, limit 1024");
}

TEST(LimitsTest, MaglevTableSize) {
  auto cell = [](int64_t size) {
    return SimpleCell(1, R"("policy": "consistent_hash", "consistent_hash": {"header": "x",
        "algorithm": "maglev", "maglev_table_size": )" + std::to_string(size) + "}");
  };
  Source s;
  s.Cell("eu-1", cell(balance::kMaxMaglevTableSize));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Cell("eu-1", cell(balance::kMinMaglevTableSize));
  EXPECT_EQ(BuildError(s.get()), "");
  s.Cell("eu-1", cell(65539));
  EXPECT_EQ(BuildError(s.get()),
            "/grid/routes/cells/eu-1: consistent_hash.maglev_table_size: must be 101..65537, got 65539");
}

}  // namespace
}  // namespace grid::router::table
