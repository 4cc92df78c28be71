#include "router/table/yaml_source.h"

#include <fstream>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "router/table/limits.h"
#include "router/table/test_util.h"

namespace grid::router::table {
namespace {
using testing::kPrefix;

constexpr char kYaml[] = R"(
# The same table as the JSON keys in ValidationTest.
router:
  tenant_key_sources:
    - {type: host, wildcards: ["*.example.com"]}
    - type: header
      name: X-Tenant
  unknown_tenant: {status: 421, body: "no such tenant"}
  timeouts_ms: {connect: 1000}
cells:
  eu-1:
    policy: consistent_hash
    consistent_hash: {header: x-user, algorithm: maglev, maglev_table_size: 1021}
    backends:
      - {address: "10.0.1.1:8080", weight: 10}
      - address: 10.0.1.2:8080
    health_check: {type: http, path: /healthz}
  eu-2:
    backends: [{address: "10.0.2.1:8080"}]
    fallback: {status: 503, retry_after_s: 3}
tenants:
  acme: {cell: eu-1, rate_limit: {rps: 100, burst: 200}, hosts: [shop.acme.com]}
  globex: {cell: eu-2}
  "404": {cell: eu-2}
)";

TEST(YamlSourceTest, ProducesOneJsonValuePerKey) {
  auto source = YamlToSource(kYaml, kPrefix);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ(source->prefix, kPrefix);
  ASSERT_EQ(source->kvs.size(), 6u);
  EXPECT_EQ(source->kvs.at("/grid/routes/tenants/globex"), R"({"cell":"eu-2"})");
  EXPECT_EQ(source->kvs.at("/grid/routes/tenants/404"), R"({"cell":"eu-2"})");
  EXPECT_EQ(source->kvs.at("/grid/routes/cells/eu-2"),
            R"({"backends":[{"address":"10.0.2.1:8080"}],"fallback":{"retry_after_s":3,"status":503}})");
}

TEST(YamlSourceTest, BuildsTheSameTableAsTheStore) {
  auto source = YamlToSource(kYaml, kPrefix);
  ASSERT_TRUE(source.ok());
  auto table = BuildTable(*source, 0);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const RouteTable& t = *table.value();
  EXPECT_EQ(t.settings().unknown_tenant.reject.body, "no such tenant");
  EXPECT_EQ(t.settings().timeouts.connect_ms, 1000u);
  EXPECT_EQ(t.FindCell("eu-1")->group(0).config().policy, balance::Policy::kMaglev);
  EXPECT_EQ(t.FindCell("eu-1")->group(0).backends()[1].address, "10.0.1.2:8080");
  EXPECT_EQ(t.FindTenant("acme")->config.rate_limit->rps, 100u);
  EXPECT_EQ(t.FindTenant("404")->config.cell, "eu-2");
}

TEST(YamlSourceTest, ValidationErrorsNameTheKey) {
  auto source = YamlToSource("cells:\n  eu-1:\n    backends: [{address: 10.0.0.1:80, weight: 0}]\n",
                             kPrefix);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(BuildTable(*source, 0).status().message(),
            "/grid/routes/cells/eu-1: backends[0].weight: must be 1..100, got 0");
  // A quoted number stays a string, so the type error is reported.
  source = YamlToSource("cells:\n  eu-1:\n    backends: [{address: 10.0.0.1:80, weight: \"5\"}]\n",
                        kPrefix);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(BuildTable(*source, 0).status().message(),
            "/grid/routes/cells/eu-1: backends[0].weight: must be an integer 1..100, got string \"5\"");
}

TEST(YamlSourceTest, StructuralErrors) {
  EXPECT_EQ(YamlToSource("celss: {}\n", kPrefix).status().message(),
            "yaml: celss: unknown field (expected one of: router, cells, tenants) (line 1)");
  EXPECT_EQ(YamlToSource("cells: [a, b]\n", kPrefix).status().message(),
            "yaml: cells: must be a mapping of name to settings (line 1)");
  EXPECT_EQ(YamlToSource("cells:\n  a: {backends: []}\n  a: {backends: []}\n", kPrefix).status().message(),
            "yaml: cells.a: duplicate key (line 3)");
  EXPECT_EQ(YamlToSource("router: {timeouts_ms: {idle: 1, idle: 2}}\n", kPrefix).status().message(),
            "yaml: router.timeouts_ms.idle: duplicate key (line 1)");
  EXPECT_EQ(YamlToSource("- a\n- b\n", kPrefix).status().message(),
            "yaml: top level: must be a mapping with router, cells, tenants");
  EXPECT_EQ(YamlToSource("cells: {a: [\n", kPrefix).status().message().rfind("yaml: ", 0), 0u);
  auto empty = YamlToSource("", kPrefix);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->kvs.empty());
}

TEST(YamlSourceTest, ScalarTypes) {
  auto source = YamlToSource(
      "router: {unknown_tenant: {status: 404, body: ~}, tenant_key_sources: [{type: header, "
      "name: 'true'}]}\n",
      kPrefix);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ(source->kvs.at("/grid/routes/router"),
            R"({"tenant_key_sources":[{"name":"true","type":"header"}],"unknown_tenant":{"body":null,"status":404}})");
}

TEST(YamlSourceTest, FileAtTheSizeLimit) {
  grid::testing::TempDir dir;
  const std::string path = dir.path() + "/table.yaml";
  {
    std::ofstream out(path, std::ios::binary);
    const std::string head = "tenants:\n  acme: {cell: eu-1}\n#";
    out << head << std::string(kMaxYamlFileBytes - head.size() - 1, 'x') << "\n";
  }
  auto source = LoadYamlFile(path, kPrefix);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ(source->kvs.size(), 1u);
  {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << "#";
  }
  EXPECT_EQ(LoadYamlFile(path, kPrefix).status().message(),
            path + ": 33554433 bytes, limit 33554432");
  EXPECT_FALSE(LoadYamlFile(dir.path() + "/missing.yaml", kPrefix).ok());
}

}  // namespace
}  // namespace grid::router::table
