#include <gtest/gtest.h>

#include "format.h"

namespace grid::gridctl {
namespace {

using std::chrono::milliseconds;

TEST(GridctlFormat, KindAliasesAreCaseInsensitive) {
  for (const char* k : {"kvcluster", "KVClusters", "kv", "KV"}) {
    EXPECT_EQ(ParseKindAlias(k).value(), mas::Kind::kKVCluster) << k;
  }
  for (const char* k : {"routerfleet", "RouterFleets", "rf", "RF"}) {
    EXPECT_EQ(ParseKindAlias(k).value(), mas::Kind::kRouterFleet) << k;
  }
  Result<mas::Kind> bad = ParseKindAlias("pods");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"pods\""), std::string::npos);
  EXPECT_EQ(KindSingular(mas::Kind::kRouterFleet), "routerfleet");
}

TEST(GridctlFormat, SplitsYamlDocuments) {
  std::vector<std::string> docs =
      SplitDocuments("---\na: 1\n---  \n# only a comment\n---\nb: 2\nc: '---'\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], "a: 1\n");
  EXPECT_EQ(docs[1], "b: 2\nc: '---'\n");
  EXPECT_EQ(SplitDocuments("  {\"a\": \"---\"}\n").size(), 1u);
  EXPECT_TRUE(SplitDocuments("\n# nothing\n").empty());
}

TEST(GridctlFormat, Durations) {
  EXPECT_EQ(ParseDuration("120s").value(), milliseconds(120000));
  EXPECT_EQ(ParseDuration("2m").value(), milliseconds(120000));
  EXPECT_EQ(ParseDuration("1h").value(), milliseconds(3600000));
  EXPECT_EQ(ParseDuration("250ms").value(), milliseconds(250));
  EXPECT_EQ(ParseDuration("7").value(), milliseconds(7000));
  EXPECT_FALSE(ParseDuration("soon").ok());
  EXPECT_FALSE(ParseDuration("5d").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
}

TEST(GridctlFormat, Ages) {
  auto created = std::chrono::sys_days{std::chrono::year{2026} / 1 / 2} + std::chrono::hours(3);
  std::string ts = "2026-01-02T03:00:00Z";
  EXPECT_EQ(FormatAge(ts, created + std::chrono::seconds(45)), "45s");
  EXPECT_EQ(FormatAge(ts, created + std::chrono::minutes(12)), "12m");
  EXPECT_EQ(FormatAge(ts, created + std::chrono::hours(5)), "5h");
  EXPECT_EQ(FormatAge(ts, created + std::chrono::hours(72)), "3d");
  EXPECT_EQ(FormatAge("", created), "<unknown>");
}

TEST(GridctlFormat, TableColumns) {
  nlohmann::json kv = nlohmann::json::parse(R"({
    "metadata": {"name": "orders", "creationTimestamp": "2026-01-02T03:00:00Z"},
    "spec": {"version": "3.4.23", "members": 3},
    "status": {"phase": "Run", "members": [{"healthy": true}, {"healthy": true}, {"healthy": false}]}
  })");
  auto now = std::chrono::sys_days{std::chrono::year{2026} / 1 / 2} + std::chrono::hours(4);
  std::string table = RenderTable(mas::Kind::kKVCluster, {kv}, now);
  EXPECT_EQ(table,
            "NAME     PHASE   MEMBERS   VERSION   AGE\n"
            "orders   Run     2/3       3.4.23    60m\n");
  nlohmann::json rf = nlohmann::json::parse(
      R"({"metadata": {"name": "edge"}, "spec": {"version": "0.1.0", "replicas": 2}})");
  std::string fleet = RenderTable(mas::Kind::kRouterFleet, {rf}, now);
  EXPECT_NE(fleet.find("REPLICAS"), std::string::npos);
  EXPECT_NE(fleet.find("edge   -       2"), std::string::npos) << fleet;
}

TEST(GridctlFormat, DescribeShowsConditionsMembersAndOperationSteps) {
  nlohmann::json kv = nlohmann::json::parse(R"({
    "kind": "KVCluster",
    "metadata": {"name": "orders", "generation": 2},
    "spec": {"version": "3.4.23", "members": 3},
    "status": {"phase": "Update", "observedGeneration": 2,
      "conditions": [{"type": "Available", "status": "True", "reason": "Quorum",
                      "message": "3/3 healthy", "lastTransitionTime": "2026-01-02T03:00:00Z"}],
      "members": [{"name": "orders-0", "id": "8e9e", "clientURL": "http://a", "healthy": true,
                   "zone": "a"},
                  {"name": "orders-1", "id": "77", "zone": "b", "healthy": false,
                   "downSince": "2026-01-02T03:02:00Z"}],
      "operation": {"name": "RollingUpgrade", "step": 2, "target": "3.4.24",
                    "steps": [{"step": 1, "result": "ok", "time": "2026-01-02T03:01:00Z"}]}}
  })");
  std::string text = RenderDescribe(kv);
  EXPECT_NE(text.find("Name:         orders"), std::string::npos) << text;
  EXPECT_NE(text.find("Phase:        Update"), std::string::npos) << text;
  EXPECT_NE(text.find("Available=True  reason=Quorum  since=2026-01-02T03:00:00Z"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("3/3 healthy"), std::string::npos);
  EXPECT_NE(text.find("orders-0  id=8e9e"), std::string::npos) << text;
  EXPECT_NE(text.find("version=-  zone=a  healthy\n"), std::string::npos) << text;
  EXPECT_NE(text.find("zone=b  unhealthy since 2026-01-02T03:02:00Z\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("RollingUpgrade (step 2)"), std::string::npos) << text;
  EXPECT_NE(text.find("target: 3.4.24"), std::string::npos) << text;
  EXPECT_NE(text.find("result=ok  step=1  time=2026-01-02T03:01:00Z"), std::string::npos) << text;
}

TEST(GridctlFormat, DescribeShowsHistoryNewestFirstAfterTheOperation) {
  mas::Resource r;
  r.metadata.name = "orders";
  mas::KVClusterSpec spec;
  spec.version = "3.4.23";
  r.spec = spec;
  r.status.phase = mas::Phase::kRun;
  r.status.history.push_back({"Provision", mas::OperationResult::kSucceeded,
                              "2026-01-02T03:00:00Z", "2026-01-02T03:00:09Z",
                              {{"PlanMembers orders-0", "2026-01-02T03:00:00Z", "ok"},
                               {"ProvisionMembers orders-0", "2026-01-02T03:00:01Z", "ok"}}});
  r.status.history.push_back({"RollingUpgrade", mas::OperationResult::kRolledBack,
                              "2026-01-02T04:00:00Z", "2026-01-02T04:02:00Z",
                              {{"StopMember orders-0", "2026-01-02T04:00:00Z", "ok"},
                               {"StartMember orders-0", "2026-01-02T04:00:01Z",
                                "Unavailable: no such version"}}});
  const std::string text = RenderDescribe(mas::ToJson(r));
  const std::string expected =
      "Operation:\n"
      "  <none>\n"
      "History:\n"
      "  RollingUpgrade  RolledBack  2026-01-02T04:00:00Z -> 2026-01-02T04:02:00Z\n"
      "    2026-01-02T04:00:00Z  StopMember orders-0  ok\n"
      "    2026-01-02T04:00:01Z  StartMember orders-0  Unavailable: no such version\n"
      "  Provision  Succeeded  2026-01-02T03:00:00Z -> 2026-01-02T03:00:09Z\n"
      "    2026-01-02T03:00:00Z  PlanMembers orders-0  ok\n"
      "    2026-01-02T03:00:01Z  ProvisionMembers orders-0  ok\n";
  ASSERT_GE(text.size(), expected.size()) << text;
  EXPECT_EQ(text.substr(text.size() - expected.size()), expected) << text;

  r.status.history.clear();
  const std::string none = RenderDescribe(mas::ToJson(r));
  EXPECT_NE(none.find("History:\n  <none>\n"), std::string::npos) << none;
}

TEST(GridctlFormat, YamlQuotesStringsThatWouldReadBackOtherwise) {
  nlohmann::json j = {{"version", "3.4.23"}, {"rv", "17"},
                      {"flag", "true"},      {"members", 3},
                      {"name", "orders"},    {"empty", nlohmann::json::object()}};
  std::string y = ToYaml(j);
  EXPECT_NE(y.find("version: \"3.4.23\""), std::string::npos) << y;
  EXPECT_NE(y.find("rv: \"17\""), std::string::npos) << y;
  EXPECT_NE(y.find("flag: \"true\""), std::string::npos) << y;
  EXPECT_NE(y.find("members: 3\n"), std::string::npos) << y;
  EXPECT_NE(y.find("name: orders\n"), std::string::npos) << y;
  EXPECT_NE(y.find("empty: {}"), std::string::npos) << y;
}

}  // namespace
}  // namespace grid::gridctl
