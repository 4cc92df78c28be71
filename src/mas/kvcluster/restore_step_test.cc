// Table tests of the Restore decision (restore_step.h): when a restore starts, each stage in
// order, the wait for healthy members and its timeout, the end, a failure held until a new
// request, a new cluster planned under the Restore operation.
#include "mas/kvcluster/restore_step.h"

#include <gtest/gtest.h>

#include "mas/kvcluster/testing/plan_world.h"

namespace grid::mas::kvcluster {
namespace {

using testing::kNow;
using testing::World;

World Requested(const std::string& backup = "latest", const std::string& requested = "") {
  World w;
  w.spec.backup = BackupSpec{"", "/backups", std::nullopt};
  w.spec.restore_from = RestoreFrom{backup, requested};
  return w;
}

Operation RestoreOp(const std::string& stage) {
  Operation op;
  op.name = kOpRestore;
  op.target = "latest";
  op.reason = "latest";
  op.started = "2027-01-15T08:00:00Z";
  op.stage = stage;
  return op;
}

std::optional<Step> DecideR(const World& w, TimePoint now = kNow) {
  return DecideRestore(w.spec, w.status, w.obs, now, w.options);
}

TEST(RestoreDecision, NoRequestNoRestore) {
  World w;
  EXPECT_FALSE(DecideR(w));
}

TEST(RestoreDecision, RequestStartsWithStopMembers) {
  World w = Requested();
  auto s = DecideR(w);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, StepKind::kRestore);
  EXPECT_EQ(s->stage, kStageStopMembers);
  EXPECT_EQ(s->Describe(), "Restore StopMembers");
  EXPECT_EQ(s->phase, Phase::kProvision);
  ASSERT_TRUE(s->operation);
  EXPECT_EQ(s->operation->name, kOpRestore);
  EXPECT_EQ(s->operation->target, "latest");
  EXPECT_EQ(s->operation->reason, "latest");
  EXPECT_EQ(s->operation->stage, kStageMoveAside);
  EXPECT_EQ(s->operation->started, FormatTimestamp(kNow));
}

TEST(RestoreDecision, StartsFromAnyPhaseIncludingQuorumLost) {
  for (Phase phase : {Phase::kRun, Phase::kFailed, Phase::kUpdate, Phase::kScale}) {
    World w = Requested("c-20270101T000000Z");
    w.status.phase = phase;
    for (int i = 1; i < 3; ++i) w.M(i).reachable = false;
    auto s = DecideR(w);
    ASSERT_TRUE(s) << PhaseName(phase);
    EXPECT_EQ(s->stage, kStageStopMembers);
    EXPECT_EQ(s->operation->target, "c-20270101T000000Z");
  }
}

TEST(RestoreDecision, StagesInOrder) {
  const struct {
    const char* stage;
    const char* next;
  } table[] = {
      {kStageStopMembers, kStageMoveAside},     {kStageMoveAside, kStageFetchBackup},
      {kStageFetchBackup, kStageRestoreData},   {kStageRestoreData, kStageStartMembers},
      {kStageStartMembers, kStageWaitHealthy},
  };
  for (const auto& row : table) {
    World w = Requested();
    w.SetOp(RestoreOp(row.stage));
    auto s = DecideR(w);
    ASSERT_TRUE(s) << row.stage;
    EXPECT_EQ(s->kind, StepKind::kRestore) << row.stage;
    EXPECT_EQ(s->stage, row.stage);
    EXPECT_EQ(s->operation->stage, row.next) << row.stage;
    EXPECT_EQ(s->operation->started, "2027-01-15T08:00:00Z") << "kept across passes";
    if (std::string(row.stage) == kStageStartMembers) {
      EXPECT_EQ(s->operation->member_started, FormatTimestamp(kNow));
    }
  }
}

TEST(RestoreDecision, RunningRestoreContinuesWhateverTheSpecSays) {
  World w;  // restoreFrom removed meanwhile
  w.SetOp(RestoreOp(kStageFetchBackup));
  auto s = DecideR(w);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->stage, kStageFetchBackup);
}

TEST(RestoreDecision, WaitHealthyThenVerifyEndsInRun) {
  World w = Requested();
  Operation op = RestoreOp(kStageWaitHealthy);
  op.from = "c-20270115T075900Z";
  op.record = {{"revision", 42}};
  op.member_started = FormatTimestamp(kNow - std::chrono::seconds(5));
  w.SetOp(op);
  w.status.conditions.push_back({kCondProvisionFailed, ConditionStatus::kTrue, "x", "", ""});
  w.M(2).reachable = false;
  auto wait = DecideR(w);
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->kind, StepKind::kNothing);
  EXPECT_EQ(wait->phase, Phase::kProvision);
  EXPECT_EQ(wait->operation, op);
  EXPECT_NE(wait->why.find("c-2"), std::string::npos);

  w.M(2).reachable = true;
  auto verify = DecideR(w);
  ASSERT_TRUE(verify);
  EXPECT_EQ(verify->kind, StepKind::kRestore);
  EXPECT_EQ(verify->stage, kStageVerifyRestored);
  EXPECT_EQ(verify->phase, Phase::kRun);
  EXPECT_FALSE(verify->operation);
  bool restored = false, provision_cleared = false;
  for (const ConditionUpdate& c : verify->conditions) {
    if (c.type == kCondRestored) {
      restored = true;
      EXPECT_EQ(c.status, ConditionStatus::kTrue);
      EXPECT_EQ(c.message.rfind("request \"latest\": backup c-20270115T075900Z at revision 42", 0),
                0u)
          << c.message;
      EXPECT_NE(c.message.find(".before-restore-20270115T080000Z"), std::string::npos);
    }
    if (c.type == kCondProvisionFailed) provision_cleared = c.status == ConditionStatus::kFalse;
  }
  EXPECT_TRUE(restored);
  EXPECT_TRUE(provision_cleared);
}

TEST(RestoreDecision, WaitHealthyTimeoutAtTheLimitWaitsPastItFails) {
  World w = Requested();
  w.spec.provision_timeout_seconds = 60;
  Operation op = RestoreOp(kStageWaitHealthy);
  op.member_started = FormatTimestamp(kNow);
  w.SetOp(op);
  w.M(0).reachable = false;
  auto at = DecideR(w, kNow + std::chrono::seconds(60));
  ASSERT_TRUE(at);
  EXPECT_EQ(at->phase, Phase::kProvision);
  auto past = DecideR(w, kNow + std::chrono::seconds(61));
  ASSERT_TRUE(past);
  EXPECT_EQ(past->phase, Phase::kFailed);
  EXPECT_FALSE(past->operation);
  ASSERT_FALSE(past->conditions.empty());
  const ConditionUpdate* restored = nullptr;
  for (const auto& c : past->conditions) {
    if (c.type == kCondRestored) restored = &c;
  }
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->status, ConditionStatus::kFalse);
  EXPECT_EQ(restored->reason, kReasonRestoreFailed);
  EXPECT_NE(restored->message.find("WaitHealthy failed"), std::string::npos) << restored->message;
  EXPECT_NE(restored->message.find("c-0 did not become healthy within 60s"), std::string::npos);
}

TEST(RestoreDecision, FailRestoreNamesTheStageAndTheError) {
  World w = Requested();
  w.SetOp(RestoreOp(kStageFetchBackup));
  Step s = *DecideR(w);
  FailRestore(&s, *s.operation, NotFound("no backup of c"));
  EXPECT_EQ(s.phase, Phase::kFailed);
  EXPECT_FALSE(s.operation);
  ASSERT_EQ(s.conditions.size(), 2u);
  EXPECT_EQ(s.conditions[0].type, kCondRestored);
  EXPECT_EQ(s.conditions[0].message.rfind("request \"latest\": FetchBackup failed: ", 0), 0u)
      << s.conditions[0].message;
  EXPECT_NE(s.conditions[0].message.find("no backup of c"), std::string::npos);
}

TEST(RestoreDecision, OncePerRequest) {
  World w = Requested("latest", "2027-01-15T08:00:00Z");
  const std::string key = RestoreRequestKey(*w.spec.restore_from);
  EXPECT_EQ(key, "latest requested 2027-01-15T08:00:00Z");
  // Done (True): nothing more, Decide runs the cluster.
  w.status.conditions.push_back({kCondRestored, ConditionStatus::kTrue, kReasonRestored,
                                 "request \"" + key + "\": backup b at revision 1", ""});
  EXPECT_TRUE(RestoreRequestDone(w.status, key));
  EXPECT_FALSE(DecideR(w));
  // Failed (False): held in Failed, nothing else runs.
  w.status.conditions.back().status = ConditionStatus::kFalse;
  auto hold = DecideR(w);
  ASSERT_TRUE(hold);
  EXPECT_EQ(hold->kind, StepKind::kNothing);
  EXPECT_EQ(hold->phase, Phase::kFailed);
  EXPECT_FALSE(hold->operation);
  // A new request (another `requested`) restores again.
  w.spec.restore_from->requested = "2027-01-15T09:00:00Z";
  auto again = DecideR(w);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stage, kStageStopMembers);
  // A key that is a prefix of another is not the same request.
  EXPECT_FALSE(RestoreRequestDone(w.status, "latest"));
}

TEST(RestoreDecision, NewClusterPlansMembersUnderTheRestoreOperation) {
  World w = Requested();
  w.status = ResourceStatus{};
  w.obs.members.clear();
  w.obs.store_members.clear();
  w.obs.member_list_ok = false;
  auto s = DecideR(w);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, StepKind::kPlanMembers);
  EXPECT_EQ(s->members.size(), 3u);
  ASSERT_TRUE(s->operation);
  EXPECT_EQ(s->operation->name, kOpRestore);
  EXPECT_EQ(s->operation->stage, kStageStopMembers);
}

TEST(RestoreDecision, OperationJsonKeepsStageAndRecord) {
  Operation op = RestoreOp(kStageRestoreData);
  op.record = {{"name", "c-1"}, {"revision", 7}};
  auto back = OperationFromJson(OperationToJson(op));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(*back);
  EXPECT_EQ(**back, op);
  nlohmann::json bad = OperationToJson(op);
  bad["record"] = "x";
  EXPECT_EQ(OperationFromJson(bad).status().code(), Code::kCorruption);
}

TEST(RestoreDecision, TokenAndAsideNamesComeFromTheStart) {
  Operation op = RestoreOp(kStageStartMembers);
  EXPECT_EQ(CompactTime(op.started), "20270115T080000Z");
  EXPECT_EQ(RestoreToken("c", op), "c-restore-20270115T080000Z");
}

}  // namespace
}  // namespace grid::mas::kvcluster
