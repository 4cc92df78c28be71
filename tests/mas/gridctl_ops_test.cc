#include "ops.h"

#include <gtest/gtest.h>

namespace grid::gridctl {
namespace {

using Result_ = RolloutState::Result;

nlohmann::json Object(const std::string& text) { return nlohmann::json::parse(text); }

const char kKV[] = R"({
  "apiVersion": "grid.dev/v1", "kind": "KVCluster",
  "metadata": {"name": "main", "resourceVersion": "41", "generation": 3,
               "labels": {"team": "payments"}},
  "spec": {"engine": "etcd", "version": "3.4.23", "members": 3},
  "status": {"phase": "Run", "observedGeneration": 3, "conditions": []}
})";

TEST(GridctlOps, EditSpecFieldKeepsTheVersionAndDropsTheStatus) {
  auto edited = EditSpecField(Object(kKV), SpecEdit{"members", 5});
  ASSERT_TRUE(edited.ok()) << edited.status().ToString();
  EXPECT_FALSE(edited->unchanged);
  EXPECT_EQ(edited->previous, 3);
  EXPECT_EQ(edited->body["spec"]["members"], 5);
  EXPECT_EQ(edited->body["spec"]["version"], "3.4.23");
  EXPECT_EQ(edited->body["metadata"]["resourceVersion"], "41");
  EXPECT_EQ(edited->body["metadata"]["labels"]["team"], "payments");
  EXPECT_FALSE(edited->body.contains("status"));

  auto same = EditSpecField(Object(kKV), SpecEdit{"version", "3.4.23"});
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->unchanged);

  auto unset = EditSpecField(Object(kKV), SpecEdit{"replicas", 2});
  ASSERT_TRUE(unset.ok());
  EXPECT_TRUE(unset->previous.is_null());

  EXPECT_FALSE(EditSpecField(Object(R"({"metadata": {}})"), SpecEdit{"members", 1}).ok());
}

TEST(GridctlOps, EditLabelAddsTheLabel) {
  auto edited = EditLabel(Object(kKV), kWipeOnDeleteLabel, "true");
  ASSERT_TRUE(edited.ok());
  EXPECT_FALSE(edited->unchanged);
  EXPECT_EQ(edited->body["metadata"]["labels"]["grid.dev/wipe-on-delete"], "true");
  EXPECT_EQ(edited->body["metadata"]["labels"]["team"], "payments");
  EXPECT_FALSE(edited->body.contains("status"));
  auto again = EditLabel(edited->body, kWipeOnDeleteLabel, "true");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->unchanged);
  auto without_labels = EditLabel(Object(R"({"metadata": {"name": "a"}})"), "k", "v");
  ASSERT_TRUE(without_labels.ok());
  EXPECT_EQ(without_labels->body["metadata"]["labels"]["k"], "v");
}

TEST(GridctlOps, ChangeLines) {
  EXPECT_EQ(ChangeLine(mas::Kind::kKVCluster, "main", "scaled", "members", 3, 5, false, 4),
            "kvcluster/main scaled: members 3 -> 5 (generation 4)");
  EXPECT_EQ(ChangeLine(mas::Kind::kRouterFleet, "edge", "upgraded", "version", "1.0", "2.0",
                       false, 7),
            "routerfleet/edge upgraded: version 1.0 -> 2.0 (generation 7)");
  EXPECT_EQ(ChangeLine(mas::Kind::kKVCluster, "main", "scaled", "members", 5, 5, true, 4),
            "kvcluster/main unchanged: members already 5 (generation 4)");
  EXPECT_EQ(ChangeLine(mas::Kind::kRouterFleet, "edge", "scaled", "replicas", nullptr, 2, false,
                       2),
            "routerfleet/edge scaled: replicas <unset> -> 2 (generation 2)");
}

nlohmann::json KVWith(const std::string& phase, int64_t observed, const nlohmann::json& members,
                      const nlohmann::json& conditions = nlohmann::json::array()) {
  nlohmann::json o = Object(kKV);
  o["status"] = {{"phase", phase},
                 {"observedGeneration", observed},
                 {"members", members},
                 {"conditions", conditions}};
  return o;
}

nlohmann::json Member(const std::string& version, bool healthy) {
  return {{"name", "m"}, {"version", version}, {"healthy", healthy}};
}

TEST(GridctlOps, KVClusterScaleRollout) {
  const Rollout scale{mas::Kind::kKVCluster, 4, SpecEdit{"members", 3}};
  const nlohmann::json three = {Member("3.4.23", true), Member("3.4.23", true),
                                Member("3.4.23", true)};
  RolloutState s = CheckRollout(scale, KVWith("Run", 3, three));
  EXPECT_EQ(s.result, Result_::kWaiting);
  EXPECT_EQ(s.text, "Run (spec not yet observed)");
  EXPECT_EQ(CheckRollout(scale, KVWith("Scale", 4, three)).result, Result_::kWaiting);
  // Run between two one-member operations: not done until every member is there.
  s = CheckRollout(scale, KVWith("Run", 4, {Member("3.4.23", true), Member("3.4.23", true)}));
  EXPECT_EQ(s.result, Result_::kWaiting);
  EXPECT_EQ(s.text, "Run (2/3 members healthy)");
  EXPECT_EQ(CheckRollout(scale, KVWith("Run", 4, {Member("3.4.23", true),
                                                  Member("3.4.23", false),
                                                  Member("3.4.23", true)}))
                .result,
            Result_::kWaiting);
  s = CheckRollout(scale, KVWith("Run", 4, three));
  EXPECT_EQ(s.result, Result_::kDone);
  EXPECT_EQ(s.text, "Run");
  // Failed at the new generation names the condition.
  s = CheckRollout(scale, KVWith("Failed", 4, three,
                                 {{{"type", "Available"}, {"status", "False"},
                                   {"reason", "NoQuorum"}, {"message", "1/3 voters"}},
                                  {{"type", "QuorumLost"},
                                   {"status", "True"},
                                   {"reason", "QuorumLost"},
                                   {"message", "1/3 voters reachable"}}}));
  EXPECT_EQ(s.result, Result_::kFailed);
  EXPECT_EQ(s.text, "phase Failed: QuorumLost=True QuorumLost: 1/3 voters reachable");
}

TEST(GridctlOps, KVClusterUpgradeRollout) {
  const Rollout upgrade{mas::Kind::kKVCluster, 5, SpecEdit{"version", "3.4.23-b"}};
  RolloutState s = CheckRollout(
      upgrade, KVWith("Run", 5, {Member("3.4.23-b", true), Member("3.4.23", true)}));
  EXPECT_EQ(s.result, Result_::kWaiting);
  EXPECT_EQ(s.text, "Run (1/2 members healthy on 3.4.23-b)");
  EXPECT_EQ(CheckRollout(upgrade, KVWith("Update", 5, {Member("3.4.23-b", true)})).result,
            Result_::kWaiting);
  EXPECT_EQ(CheckRollout(upgrade, KVWith("Run", 5, {Member("3.4.23-b", true),
                                                    Member("3.4.23-b", true)}))
                .result,
            Result_::kDone);
  // Rolled back: Run again on the old version, UpgradeFailed names the version.
  s = CheckRollout(upgrade,
                   KVWith("Run", 5, {Member("3.4.23", true)},
                          {{{"type", "UpgradeFailed"}, {"status", "True"}, {"reason", "RolledBack"},
                            {"message", "version \"3.4.23-b\": member main-0 not healthy"}}}));
  EXPECT_EQ(s.result, Result_::kFailed);
  EXPECT_EQ(s.text, "the upgrade to 3.4.23-b was rolled back: UpgradeFailed=True RolledBack: "
                    "version \"3.4.23-b\": member main-0 not healthy");
  // Another version's failure is not this upgrade's.
  EXPECT_EQ(CheckRollout(upgrade, KVWith("Run", 5, {Member("3.4.23-b", true)},
                                         {{{"type", "UpgradeFailed"}, {"status", "True"},
                                           {"message", "version \"3.5.0\": x"}}}))
                .result,
            Result_::kDone);
}

nlohmann::json Fleet(const std::string& phase, int64_t observed, const nlohmann::json& fleet,
                     const nlohmann::json& conditions = nlohmann::json::array()) {
  nlohmann::json o = {{"kind", "RouterFleet"},
                      {"metadata", {{"name", "edge"}, {"generation", 2}}},
                      {"spec", {{"version", "1.0"}, {"replicas", 2}}}};
  o["status"] = {{"phase", phase},
                 {"observedGeneration", observed},
                 {"operation", {{"fleet", fleet}}},
                 {"conditions", conditions}};
  return o;
}

TEST(GridctlOps, RouterFleetRollouts) {
  const Rollout scale{mas::Kind::kRouterFleet, 2, SpecEdit{"replicas", 2}};
  nlohmann::json fleet = {{"activeColor", "blue"},
                          {"activeVersion", "1.0"},
                          {"replicas", {{{"color", "blue"}}, {{"color", "green"}}}}};
  RolloutState s = CheckRollout(scale, Fleet("Run", 2, fleet));
  EXPECT_EQ(s.result, Result_::kWaiting);
  EXPECT_EQ(s.text, "Run (1/2 replicas)");
  fleet["replicas"] = {{{"color", "blue"}}, {{"color", "blue"}}};
  EXPECT_EQ(CheckRollout(scale, Fleet("Run", 2, fleet)).result, Result_::kDone);

  const Rollout upgrade{mas::Kind::kRouterFleet, 2, SpecEdit{"version", "2.0"}};
  EXPECT_EQ(CheckRollout(upgrade, Fleet("Update", 2, fleet)).result, Result_::kWaiting);
  fleet["failedVersion"] = "2.0";
  fleet["failedGeneration"] = 2;
  s = CheckRollout(upgrade, Fleet("Run", 2, fleet,
                                  {{{"type", "Upgrade"},
                                    {"status", "False"},
                                    {"reason", "ProbeFailed"},
                                    {"message", "upgrade to 2.0 rolled back"}}}));
  EXPECT_EQ(s.result, Result_::kFailed);
  EXPECT_EQ(s.text, "the upgrade to 2.0 was rolled back: Upgrade=False ProbeFailed: upgrade to "
                    "2.0 rolled back");
  fleet.erase("failedVersion");
  fleet["activeVersion"] = "2.0";
  EXPECT_EQ(CheckRollout(upgrade, Fleet("Run", 2, fleet)).result, Result_::kDone);
}

TEST(GridctlOps, FailingCondition) {
  EXPECT_EQ(FailingCondition(Object(kKV)), "no condition says why");
  nlohmann::json o = Object(kKV);
  o["status"]["conditions"] = {{{"type", "Degraded"}, {"status", "True"}, {"reason", "x"}},
                               {{"type", "Ready"}, {"status", "False"}, {"reason", "NoStore"},
                                {"message", "no store endpoints"}}};
  EXPECT_EQ(FailingCondition(o), "Ready=False NoStore: no store endpoints");
}

TEST(GridctlOps, RenderInspection) {
  nlohmann::json report = Object(R"({
    "cluster": "main", "time": "2026-01-02T03:04:05Z", "hashRevision": 12,
    "members": [
      {"name": "main-0", "endpoint": "127.0.0.1:2379", "reachable": true, "memberId": "a1",
       "leaderId": "a1", "raftIndex": 20, "appliedIndex": 20, "dbSizeBytes": 20480,
       "dbSizeInUseBytes": 16384, "revision": 12, "hash": 1234},
      {"name": "main-1", "endpoint": "127.0.0.1:2380", "reachable": false,
       "error": "connection refused"}],
    "alarms": [{"memberId": "a1", "alarm": "NOSPACE"}],
    "conditions": [{"type": "Healthy", "status": "False", "reason": "Unreachable",
                    "message": "main-1 unreachable"}],
    "events": [{"time": "2026-01-02T03:04:05Z", "type": "Warning", "reason": "Unreachable",
                "message": "main-1"}]})");
  const std::string text = RenderInspection(report);
  EXPECT_EQ(text.rfind("Inspection of kvcluster/main at 2026-01-02T03:04:05Z (hashes at "
                       "revision 12)\n", 0), 0u) << text;
  EXPECT_NE(text.find("  NAME     ENDPOINT         REACHABLE   LEADER   APPLIED   DB-SIZE    "
                      "REVISION   HASH\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  main-0   127.0.0.1:2379   yes         *        20        20.0 KiB   "
                      "12         1234\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  main-1   127.0.0.1:2380   no          -"), std::string::npos) << text;
  EXPECT_NE(text.find("  main-1: connection refused\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Alarms:\n  NOSPACE on member a1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  Healthy   False    Unreachable   main-1 unreachable\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("Events:\n"), std::string::npos) << text;
  EXPECT_EQ(text.find(" \n"), std::string::npos) << "trailing blanks:\n" << text;

  const std::string empty = RenderInspection(Object(R"({"cluster": "x", "members": []})"));
  EXPECT_NE(empty.find("Alarms: none\n"), std::string::npos) << empty;
  EXPECT_EQ(empty.find("Events:"), std::string::npos) << empty;
}

}  // namespace
}  // namespace grid::gridctl
