// RunPromotionStep over fake cluster calls and a fake fleet store, with a fake clock:
// switch-over and fail-over end to end, each step re-entrant (a new leader re-runs the
// persisted step), the timeouts, fleet re-pointing with conflicts, and the bounded log.
#include "mas/standby/promotion.h"

#include <gtest/gtest.h>

#include <map>

#include "mas/kvcluster/operation.h"

namespace grid::mas::standby {
namespace {

const std::vector<std::string> kP = {"127.0.0.1:1"};
const std::vector<std::string> kS = {"127.0.0.1:2"};

class FakeOps : public ClusterOps {
 public:
  Result<int64_t> Revision(const std::vector<std::string>& eps) override {
    ++revision_calls;
    if (eps == kP) {
      if (!primary_up) return Unavailable("primary down");
      return primary_revision;
    }
    return standby_revision;
  }
  Status RaiseNoSpace(const std::vector<std::string>& eps) override {
    ++raise_calls;
    if (eps == kP && !primary_up) return Unavailable("primary down");
    if (eps == kP) primary_fenced = true;
    return Status::Ok();
  }
  Status DisarmNoSpace(const std::vector<std::string>& eps) override {
    ++disarm_calls;
    if (eps == kP) primary_fenced = false;
    return Status::Ok();
  }
  Result<int64_t> ProgressRevision(const std::vector<std::string>&, const std::string& key) override {
    if (key != "/grid-mirror/p/progress") return NotFound("no " + key);
    if (!progress_readable) return Unavailable("standby down");
    return progress;
  }
  bool primary_up = true;
  bool primary_fenced = false;
  bool progress_readable = true;
  int64_t primary_revision = 100;
  int64_t standby_revision = 50;
  int64_t progress = 0;
  int raise_calls = 0, disarm_calls = 0, revision_calls = 0;
};

class FakeFleets : public FleetStore {
 public:
  void Add(const std::string& name, const std::string& store_cluster) {
    Resource r;
    r.metadata.name = name;
    r.metadata.resource_version = "1";
    RouterFleetSpec spec;
    spec.version = "1";
    spec.routes_prefix = "/routes";
    spec.store_cluster = store_cluster;
    r.spec = spec;
    fleets[name] = r;
  }
  Result<std::vector<Resource>> ListFleets() override {
    if (list_fails) return Unavailable("store down");
    std::vector<Resource> out;
    for (auto& [n, r] : fleets) out.push_back(r);
    return out;
  }
  Result<Resource> UpdateFleet(const Resource& fleet) override {
    Resource& cur = fleets.at(fleet.metadata.name);
    if (conflicts > 0) {
      --conflicts;
      cur.metadata.resource_version = std::to_string(std::stoi(cur.metadata.resource_version) + 1);
      return ConflictError(cur.Describe(), fleet.metadata.resource_version,
                           cur.metadata.resource_version);
    }
    if (fleet.metadata.resource_version != cur.metadata.resource_version) {
      return ConflictError(cur.Describe(), fleet.metadata.resource_version,
                           cur.metadata.resource_version);
    }
    cur = fleet;
    cur.metadata.resource_version = std::to_string(std::stoi(cur.metadata.resource_version) + 1);
    ++updates;
    return cur;
  }
  Result<Resource> GetFleet(const std::string& name) override {
    auto it = fleets.find(name);
    if (it == fleets.end()) return NotFound(name);
    return it->second;
  }
  std::string StoreCluster(const std::string& name) {
    return std::get<RouterFleetSpec>(fleets.at(name).spec).store_cluster;
  }
  std::map<std::string, Resource> fleets;
  int conflicts = 0;
  int updates = 0;
  bool list_fails = false;
};

class PromotionTest : public ::testing::Test {
 protected:
  PromotionContext Ctx() {
    PromotionContext c;
    c.primary = "p";
    c.standby = "s";
    c.primary_endpoints = kP;
    c.standby_endpoints = kS;
    c.progress_key = "/grid-mirror/p/progress";
    c.last_primary_revision = last_primary_revision_;
    c.mirror_applied = mirror_applied_;
    c.now = now_;
    return c;
  }
  PromotionEffects Fx() {
    PromotionEffects fx;
    fx.ops = &ops_;
    fx.fleets = &fleets_;
    fx.stop_mirror = [this] { ++stops_; };
    return fx;
  }
  // One step; the operation goes through its JSON form first, as a new leader reads it.
  StepResult Step(PromotionOp* op) {
    auto reread = PromotionOpFromJson(ToJson(*op));
    EXPECT_TRUE(reread.ok()) << reread.status().ToString();
    *op = *reread;
    return RunPromotionStep(Ctx(), Fx(), op);
  }
  PromotionOp Switchover() {
    return NewPromotion({kPromoteSwitchover, "2026-01-01T00:00:00Z"}, FormatTimestamp(now_));
  }
  PromotionOp Failover() {
    return NewPromotion({kPromoteFailover, "2026-01-01T00:00:00Z"}, FormatTimestamp(now_));
  }

  FakeOps ops_;
  FakeFleets fleets_;
  int stops_ = 0;
  int64_t last_primary_revision_ = 0;
  std::optional<int64_t> mirror_applied_ = 90;
  TimePoint now_ = *kvcluster::ParseTimestamp("2026-03-01T10:00:00Z");
};

TEST_F(PromotionTest, SwitchoverRunsEveryStepAndReportsNoUncopiedRevisions) {
  fleets_.Add("edge", "p");
  fleets_.Add("other", "q");
  PromotionOp op = Switchover();
  EXPECT_EQ(op.name, kOpSwitchover);
  EXPECT_EQ(op.step, kStepFence);

  StepResult r = Step(&op);
  EXPECT_EQ(r.outcome, StepResult::Outcome::kAdvanced);
  EXPECT_EQ(r.write_fenced, true);
  EXPECT_TRUE(ops_.primary_fenced);
  EXPECT_EQ(op.step, kStepCatchUp);

  r = Step(&op);  // reads the fence revision
  EXPECT_EQ(r.outcome, StepResult::Outcome::kAdvanced);
  EXPECT_EQ(op.fence_revision, 100);
  r = Step(&op);  // the standby has applied 90 < 100
  EXPECT_EQ(r.outcome, StepResult::Outcome::kWaiting);
  EXPECT_EQ(op.step, kStepCatchUp);
  mirror_applied_ = 100;
  r = Step(&op);
  EXPECT_EQ(r.outcome, StepResult::Outcome::kAdvanced);
  EXPECT_EQ(op.step, kStepPromote);

  ops_.progress = 100;
  r = Step(&op);
  EXPECT_EQ(stops_, 1);
  EXPECT_EQ(op.applied_revision, 100);
  EXPECT_EQ(op.step, kStepRepoint);
  r = Step(&op);
  EXPECT_EQ(op.step, kStepDone);
  EXPECT_EQ(fleets_.StoreCluster("edge"), "s");
  EXPECT_EQ(fleets_.StoreCluster("other"), "q");
  EXPECT_EQ(op.repointed_fleets, std::vector<std::string>{"edge"});

  r = Step(&op);
  ASSERT_EQ(r.outcome, StepResult::Outcome::kFinished);
  EXPECT_EQ(r.promotion["result"], "Succeeded");
  EXPECT_EQ(r.promotion["promoted"], "s");
  EXPECT_EQ(r.promotion["mode"], "switchover");
  EXPECT_EQ(r.promotion["requested"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(r.promotion["fenceRevision"], 100);
  EXPECT_EQ(r.promotion["appliedRevision"], 100);
  EXPECT_EQ(r.promotion["primaryRevisionAfter"], 100);
  EXPECT_EQ(r.promotion["uncopiedRevisions"], 0);
  EXPECT_EQ(r.promotion["repointedFleets"], nlohmann::json::array({"edge"}));
  EXPECT_TRUE(ops_.primary_fenced);  // the former primary keeps refusing writes
  EXPECT_EQ(ops_.disarm_calls, 0);
}

TEST_F(PromotionTest, DeletesAfterTheMirrorStoppedAreReportedUncopied) {
  PromotionOp op = Switchover();
  op.step = kStepDone;
  op.fence_revision = 100;
  op.applied_revision = 100;
  ops_.primary_revision = 103;  // three deletes passed the fence
  StepResult r = Step(&op);
  EXPECT_EQ(r.promotion["uncopiedRevisions"], 3);
  EXPECT_EQ(r.promotion["primaryRevisionAfter"], 103);
}

TEST_F(PromotionTest, EveryStepIsReentrant) {
  fleets_.Add("edge", "p");
  mirror_applied_ = 100;
  ops_.progress = 100;
  PromotionOp op = Switchover();
  // Each step run twice, the second time as a new leader would (from the persisted form)
  // after the first one's effects reached the clusters but before its status write.
  for (int i = 0; i < 10 && op.step != kStepDone; ++i) {
    PromotionOp before = op;
    StepResult first = Step(&op);
    ASSERT_NE(first.outcome, StepResult::Outcome::kFinished);
    PromotionOp replay = before;
    StepResult second = Step(&replay);
    EXPECT_EQ(second.outcome, first.outcome) << before.step;
    EXPECT_EQ(replay.step, op.step) << before.step;
    EXPECT_EQ(replay.fence_revision, op.fence_revision);
    EXPECT_EQ(replay.applied_revision, op.applied_revision);
  }
  EXPECT_EQ(op.step, kStepDone);
  EXPECT_TRUE(ops_.primary_fenced);
  EXPECT_EQ(fleets_.StoreCluster("edge"), "s");
  EXPECT_EQ(fleets_.updates, 1);  // the replayed Repoint found the fleet already pointing at s
}

TEST_F(PromotionTest, CatchUpTimeoutDisarmsThePrimaryAndFails) {
  PromotionOp op = Switchover();
  ASSERT_EQ(Step(&op).outcome, StepResult::Outcome::kAdvanced);  // fenced
  ASSERT_EQ(Step(&op).outcome, StepResult::Outcome::kAdvanced);  // fence revision 100
  now_ += kCatchUpTimeout - std::chrono::seconds(1);
  EXPECT_EQ(Step(&op).outcome, StepResult::Outcome::kWaiting);
  now_ += std::chrono::seconds(1);  // at the limit
  StepResult r = Step(&op);
  ASSERT_EQ(r.outcome, StepResult::Outcome::kFinished);
  EXPECT_EQ(r.promotion["result"], "Failed");
  EXPECT_EQ(r.promotion["step"], kStepCatchUp);
  const std::string message = r.promotion["message"];
  EXPECT_NE(message.find("standby KVCluster \"s\" did not apply revision 100"), std::string::npos)
      << message;
  EXPECT_NE(message.find("(applied 90)"), std::string::npos) << message;
  EXPECT_NE(message.find("disarmed"), std::string::npos) << message;
  EXPECT_FALSE(ops_.primary_fenced);
  EXPECT_EQ(r.write_fenced, false);
  EXPECT_EQ(stops_, 0);  // the mirror keeps running
}

TEST_F(PromotionTest, FenceRetriesThenFailsAfterItsTimeout) {
  ops_.primary_up = false;
  PromotionOp op = Switchover();
  EXPECT_EQ(Step(&op).outcome, StepResult::Outcome::kWaiting);
  EXPECT_EQ(op.step, kStepFence);
  EXPECT_NE(op.log.back().result.find("primary down"), std::string::npos);
  now_ += kFenceTimeout;
  StepResult r = Step(&op);
  ASSERT_EQ(r.outcome, StepResult::Outcome::kFinished);
  EXPECT_EQ(r.promotion["result"], "Failed");
  EXPECT_NE(r.promotion["message"].get<std::string>().find("fencing KVCluster \"p\""),
            std::string::npos);
}

TEST_F(PromotionTest, FailoverWithThePrimaryGoneReportsMissingRevisions) {
  ops_.primary_up = false;
  last_primary_revision_ = 120;  // the last status.mirror.primaryRevision published
  ops_.progress = 111;
  PromotionOp op = Failover();
  EXPECT_EQ(op.name, kOpFailover);
  EXPECT_EQ(op.step, kStepPromote);
  StepResult r = Step(&op);
  EXPECT_EQ(stops_, 1);
  EXPECT_FALSE(r.write_fenced.has_value());
  EXPECT_EQ(op.step, kStepRepoint);
  Step(&op);
  r = Step(&op);
  ASSERT_EQ(r.outcome, StepResult::Outcome::kFinished);
  EXPECT_EQ(r.promotion["result"], "Succeeded");
  EXPECT_EQ(r.promotion["promoted"], "s");
  EXPECT_EQ(r.promotion["primaryReachable"], false);
  EXPECT_EQ(r.promotion["primaryRevision"], 120);
  EXPECT_EQ(r.promotion["appliedRevision"], 111);
  EXPECT_EQ(r.promotion["missingRevisions"], 9);
  EXPECT_EQ(ops_.raise_calls, 0);
}

TEST_F(PromotionTest, FailoverWithThePrimaryAnsweringFencesIt) {
  ops_.primary_revision = 130;
  last_primary_revision_ = 120;
  ops_.progress = 130;
  PromotionOp op = Failover();
  StepResult r = Step(&op);
  EXPECT_EQ(r.write_fenced, true);
  EXPECT_TRUE(ops_.primary_fenced);
  EXPECT_TRUE(op.primary_reachable);
  Step(&op);
  r = Step(&op);
  EXPECT_EQ(r.promotion["primaryReachable"], true);
  EXPECT_EQ(r.promotion["missingRevisions"], 0);
}

TEST_F(PromotionTest, FailoverFallsBackToTheMirrorsAppliedRevision) {
  ops_.primary_up = false;
  ops_.progress_readable = false;
  last_primary_revision_ = 95;
  mirror_applied_ = 90;
  PromotionOp op = Failover();
  Step(&op);
  EXPECT_EQ(op.applied_revision, 90);
  EXPECT_EQ(op.primary_revision, 95);
}

TEST_F(PromotionTest, RepointRetriesConflictsAndStopsAtTheirLimit) {
  fleets_.Add("a", "p");
  fleets_.Add("b", "p");
  fleets_.conflicts = kMaxRepointConflicts - 1;
  std::vector<std::string> changed;
  ASSERT_TRUE(RepointFleets(&fleets_, "p", "s", &changed).ok());
  EXPECT_EQ(changed, (std::vector<std::string>{"a", "b"}));

  fleets_.Add("c", "p");
  fleets_.conflicts = kMaxRepointConflicts;
  changed.clear();
  Status s = RepointFleets(&fleets_, "p", "s", &changed);
  EXPECT_TRUE(IsConflict(s)) << s.ToString();
  EXPECT_NE(s.message().find("RouterFleet \"c\""), std::string::npos) << s.message();
  EXPECT_TRUE(changed.empty());
}

TEST_F(PromotionTest, RepointWaitsWhileTheStoreFails) {
  fleets_.Add("edge", "p");
  PromotionOp op = Failover();
  op.step = kStepRepoint;
  fleets_.list_fails = true;
  EXPECT_EQ(Step(&op).outcome, StepResult::Outcome::kWaiting);
  EXPECT_EQ(op.step, kStepRepoint);
  fleets_.list_fails = false;
  EXPECT_EQ(Step(&op).outcome, StepResult::Outcome::kAdvanced);
  EXPECT_EQ(op.step, kStepDone);
}

TEST_F(PromotionTest, RepointedNamesAreBounded) {
  for (size_t i = 0; i <= kMaxRepointedFleetNames; ++i) fleets_.Add("f" + std::to_string(1000 + i), "p");
  PromotionOp op = Failover();
  op.step = kStepRepoint;
  Step(&op);
  EXPECT_EQ(op.repointed_fleets.size(), kMaxRepointedFleetNames);
  EXPECT_EQ(op.repointed_count, static_cast<int64_t>(kMaxRepointedFleetNames + 1));
}

TEST(PromotionLogTest, BoundedAndRepeatsCollapse) {
  PromotionOp op;
  AppendLog(&op, "t0", kStepCatchUp, "waiting");
  AppendLog(&op, "t1", kStepCatchUp, "waiting");
  ASSERT_EQ(op.log.size(), 1u);
  EXPECT_EQ(op.log[0].time, "t1");
  for (size_t i = 0; i < kMaxOperationLog + 5; ++i) {
    AppendLog(&op, "t", kStepFence, "error " + std::to_string(i));
  }
  EXPECT_EQ(op.log.size(), kMaxOperationLog);
  EXPECT_EQ(op.log.back().result, "error " + std::to_string(kMaxOperationLog + 4));
  AppendLog(&op, "t", kStepFence, std::string(kMaxLogResultBytes + 10, 'x'));
  EXPECT_EQ(op.log.back().result.size(), kMaxLogResultBytes);
}

TEST(PromotionJsonTest, RoundTripAndRefusals) {
  PromotionOp op = NewPromotion({kPromoteSwitchover, "r1"}, "2026-01-01T00:00:00Z");
  op.fence_revision = 7;
  op.repointed_fleets = {"a"};
  AppendLog(&op, "2026-01-01T00:00:01Z", kStepFence, "ok");
  auto back = PromotionOpFromJson(ToJson(op));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, op);

  nlohmann::json bad = ToJson(op);
  bad["step"] = "Bogus";
  auto refused = PromotionOpFromJson(bad);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("status.mirror.operation.step"), std::string::npos);
  bad = ToJson(op);
  bad["name"] = "Other";
  EXPECT_FALSE(PromotionOpFromJson(bad).ok());
  bad = ToJson(op);
  bad["fenceRevision"] = "x";
  EXPECT_FALSE(PromotionOpFromJson(bad).ok());
  EXPECT_FALSE(PromotionOpFromJson(nlohmann::json::array()).ok());
}

TEST(PromotionHistoryTest, CarriesTheLog) {
  PromotionOp op = NewPromotion({kPromoteFailover, "r"}, "2026-01-01T00:00:00Z");
  AppendLog(&op, "2026-01-01T00:00:01Z", kStepPromote, "ok");
  OperationRecord rec = PromotionHistory(op, true, "2026-01-01T00:00:02Z");
  EXPECT_EQ(rec.name, kOpFailover);
  EXPECT_EQ(rec.result, OperationResult::kSucceeded);
  ASSERT_EQ(rec.steps.size(), 1u);
  EXPECT_EQ(rec.steps[0].step, kStepPromote);
}

}  // namespace
}  // namespace grid::mas::standby
