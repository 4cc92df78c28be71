// status.mirror encoding, the mirror state, what is written at once, and MirrorInSync.
#include "mas/standby/mirror_status.h"

#include <gtest/gtest.h>

namespace grid::mas::standby {
namespace {

MirrorView Running(bool watching, int64_t sessions_failed = 0) {
  MirrorView v;
  v.standby = "s";
  mirror::MirrorStats s;
  s.watching = watching;
  s.sessions_failed = sessions_failed;
  s.lag = {.primary_revision = 120, .applied_revision = 100, .revisions = 20, .seconds = 1.5};
  s.full_copies = 1;
  s.last_full_copy_reason = "no progress";
  s.foreign_writes = 2;
  s.last_foreign_key = "/k";
  s.last_foreign_revision = 9;
  s.last_error = "boom";
  v.stats = s;
  return v;
}

TEST(MirrorStateTest, FromTheStats) {
  MirrorView none;
  EXPECT_EQ(MirrorState(none), kStateWaiting);
  EXPECT_EQ(MirrorState(Running(true)), kStateWatching);
  EXPECT_EQ(MirrorState(Running(false)), kStateCopying);
  EXPECT_EQ(MirrorState(Running(false, 1)), kStateReconnecting);
  MirrorView promoted = Running(true);
  promoted.promoted = true;
  EXPECT_EQ(MirrorState(promoted), kStatePromoted);
}

TEST(MirrorStatusJsonTest, Fields) {
  MirrorView v = Running(true);
  v.prefixes = {"/a/"};
  v.write_fenced = true;
  v.operation = {{"name", "Switchover"}, {"step", "CatchUp"}};
  nlohmann::json j = MirrorStatusJson(v);
  EXPECT_EQ(j["standby"], "s");
  EXPECT_EQ(j["prefixes"], nlohmann::json::array({"/a/"}));
  EXPECT_EQ(j["state"], "Watching");
  EXPECT_EQ(j["appliedRevision"], 100);
  EXPECT_EQ(j["primaryRevision"], 120);
  EXPECT_EQ(j["lagRevisions"], 20);
  EXPECT_EQ(j["lagSeconds"], 1.5);
  EXPECT_EQ(j["fullCopies"], 1);
  EXPECT_EQ(j["lastFullCopyReason"], "no progress");
  EXPECT_EQ(j["foreignWrites"], 2);
  EXPECT_EQ(j["lastForeignKey"], "/k");
  EXPECT_EQ(j["lastForeignRevision"], 9);
  EXPECT_EQ(j["sessionsFailed"], 0);
  EXPECT_EQ(j["lastError"], "boom");
  EXPECT_EQ(j["writeFenced"], true);
  EXPECT_EQ(j["operation"]["step"], "CatchUp");
  EXPECT_FALSE(j.contains("promotion"));
  EXPECT_FALSE(j.contains("updated"));
}

TEST(MirrorStatusJsonTest, WithoutAMirrorKeepsTheLastPrimaryRevision) {
  MirrorView v;
  v.standby = "s";
  v.waiting_reason = "standby KVCluster \"s\" not found";
  v.last_primary_revision = 77;
  nlohmann::json j = MirrorStatusJson(v);
  EXPECT_EQ(j["state"], "WaitingForClusters");
  EXPECT_EQ(j["primaryRevision"], 77);
  EXPECT_EQ(j["lastError"], "standby KVCluster \"s\" not found");
  EXPECT_FALSE(j.contains("lagRevisions"));
}

TEST(MirrorStatusJsonTest, TextsAreBounded) {
  MirrorView v = Running(true);
  v.stats->last_error = std::string(kMaxStatusTextBytes + 1, 'e');
  v.stats->last_foreign_key = std::string(kMaxStatusTextBytes, 'k');
  nlohmann::json j = MirrorStatusJson(v);
  EXPECT_EQ(j["lastError"].get<std::string>().size(), kMaxStatusTextBytes);
  EXPECT_EQ(j["lastForeignKey"].get<std::string>().size(), kMaxStatusTextBytes);
}

TEST(MirrorStatusChangeTest, LagAloneIsNotUrgent) {
  nlohmann::json a = MirrorStatusJson(Running(true));
  MirrorView v = Running(true);
  v.stats->lag.revisions = 3;
  nlohmann::json b = MirrorStatusJson(v);
  EXPECT_FALSE(UrgentChange(a, b));
  EXPECT_TRUE(AnyChange(a, b));
  b["updated"] = "x";
  EXPECT_FALSE(AnyChange(b, MirrorStatusJson(v)));
  v.stats->foreign_writes = 3;
  EXPECT_TRUE(UrgentChange(a, MirrorStatusJson(v)));
  v = Running(false, 1);
  EXPECT_TRUE(UrgentChange(a, MirrorStatusJson(v)));
  v = Running(true);
  v.operation = {{"step", "Fence"}};
  nlohmann::json c = MirrorStatusJson(v);
  EXPECT_TRUE(UrgentChange(a, c));
  v.operation = {{"step", "CatchUp"}};
  EXPECT_TRUE(UrgentChange(c, MirrorStatusJson(v)));
  EXPECT_TRUE(UrgentChange(nullptr, a));
}

TEST(InSyncConditionTest, Reasons) {
  EXPECT_EQ(InSyncCondition(Running(true), false).status, ConditionStatus::kTrue);
  EXPECT_EQ(InSyncCondition(Running(true), false).reason, "InSync");
  EXPECT_EQ(InSyncCondition(Running(true), true).reason, "ForeignWrites");
  MirrorView lagging = Running(true);
  lagging.stats->lag.seconds = kInSyncMaxLagSeconds + 1;
  Condition c = InSyncCondition(lagging, false);
  EXPECT_EQ(c.reason, "Lagging");
  EXPECT_EQ(c.status, ConditionStatus::kFalse);
  lagging.stats->lag.seconds = kInSyncMaxLagSeconds;  // at the limit: in sync
  EXPECT_EQ(InSyncCondition(lagging, false).reason, "InSync");
  EXPECT_EQ(InSyncCondition(Running(false, 2), false).reason, "Disconnected");
  EXPECT_EQ(InSyncCondition(Running(false), false).reason, "Copying");
  EXPECT_EQ(InSyncCondition(MirrorView{}, false).reason, "WaitingForClusters");
  MirrorView promoted;
  promoted.promoted = true;
  EXPECT_EQ(InSyncCondition(promoted, false).reason, "Promoted");
}

TEST(MirrorPrefixesTest, EmptyMeansEveryKey) {
  EXPECT_EQ(MirrorPrefixes({}), std::vector<std::string>{""});
  EXPECT_EQ(MirrorPrefixes({"/a/", "/b/"}), (std::vector<std::string>{"/a/", "/b/"}));
  EXPECT_EQ(OwnPrefix("main"), "/grid-mirror/main");
}

}  // namespace
}  // namespace grid::mas::standby
