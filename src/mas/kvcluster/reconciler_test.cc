// Full KVCluster scenarios driven through Reconcile with a fake runtime, a fake store
// cluster and an in-memory resource store; time is a test-controlled wall clock.
#include "mas/kvcluster/reconciler.h"

#include <algorithm>
#include <functional>

#include <gtest/gtest.h>

#include "mas/kvcluster/testing/fake_cluster.h"
#include "mas/kvcluster/testing/fake_runtime.h"
#include "mas/kvcluster/testing/mem_store.h"

namespace grid::mas::kvcluster {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeCluster;
using testing::FakeRuntime;
using testing::MemStore;
using testing::MemStoreAccess;

// At most this many passes for one scenario phase (each pass takes one step).
constexpr int kMaxPasses = 200;

class KVClusterReconcilerTest : public ::testing::Test {
 protected:
  KVClusterReconcilerTest() {
    options_.now = [this] { return now_; };
    options_.data_dir_empty = [this](const std::string& d) { return runtime_.DataDirEmpty(d); };
    options_.plan.member_grace = seconds(30);
    options_.plan.upgrade_step_timeout = seconds(20);
    NewReconciler();
  }

  // A fresh reconciler: what a restarted control plane sees (nothing in memory).
  void NewReconciler() {
    reconciler_ = std::make_unique<KVClusterReconciler>(
        std::make_unique<MemStoreAccess>(&store_), &runtime_, cluster_.Factory(), options_);
  }

  void Apply(int members, const std::string& version,
             std::map<std::string, std::string> labels = {},
             const std::function<void(KVClusterSpec*)>& edit = nullptr) {
    Resource r;
    r.metadata.name = "c";
    r.metadata.uid = "0123456789abcdef";
    r.metadata.labels = std::move(labels);
    KVClusterSpec spec;
    spec.engine = "gridkv";
    spec.version = version;
    spec.members = members;
    if (edit) edit(&spec);
    Defaults(&spec);
    r.spec = spec;
    store_.Put(std::move(r));
  }

  Resource Current() {
    auto r = store_.Get("c");
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : Resource{};
  }

  // One pass; the clock moves by `tick` afterwards.
  void Pass(Duration tick = seconds(1)) {
    auto r = reconciler_->Reconcile("c");
    if (!r.ok()) errors_.push_back(r.status().ToString());
    now_ += tick;
  }

  // Passes until `done` holds for the stored resource; false after kMaxPasses.
  bool RunUntil(const std::function<bool(const Resource&)>& done, Duration tick = seconds(1)) {
    for (int i = 0; i < kMaxPasses; ++i) {
      if (done(Current())) return true;
      Pass(tick);
      learners_max_ = std::max(learners_max_, Learners());
    }
    return done(Current());
  }

  static bool Running(const Resource& r, size_t members, const std::string& version) {
    if (r.status.phase != Phase::kRun || !r.status.operation.is_null()) return false;
    if (r.status.members.size() != members) return false;
    return std::all_of(r.status.members.begin(), r.status.members.end(), [&](const MemberStatus& m) {
      return m.healthy && m.version == version && !m.id.empty();
    });
  }

  // "name result" of each status.history entry, oldest first.
  std::vector<std::string> History() {
    std::vector<std::string> out;
    for (const OperationRecord& rec : Current().status.history) {
      out.push_back(rec.name + " " + OperationResultName(rec.result));
    }
    return out;
  }

  // The step names recorded by the newest history entry named `name`.
  std::vector<std::string> HistorySteps(const std::string& name) {
    const std::vector<OperationRecord> history = Current().status.history;
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
      if (it->name != name) continue;
      std::vector<std::string> steps;
      for (const HistoryStep& h : it->steps) steps.push_back(h.step);
      return steps;
    }
    return {};
  }

  size_t Learners() {
    size_t n = 0;
    for (const MemberInfo& m : cluster_.Members()) n += m.learner ? 1 : 0;
    return n;
  }
  size_t Voters() { return cluster_.Members().size() - Learners(); }

  // The stored version of "c" as gridctl's `delete --wipe-data` labels it.
  Resource LabelledForWipe() {
    Resource r = Current();
    r.metadata.labels[kWipeOnDeleteLabel] = "true";
    return r;
  }

  // Deletes "c" and delivers the watch's DELETED event carrying `last`, as the host does.
  void DeleteWithEvent(const Resource& last) {
    store_.Erase("c");
    reconciler_->ObserveDeleted(last);
  }

  // Every instance of cluster "c" removed, with its data.
  void ExpectInstancesGoneDataWiped() {
    EXPECT_TRUE(runtime_.List("kv/c/").empty());
    for (const char* m : {"c-0", "c-1", "c-2"}) {
      EXPECT_FALSE(runtime_.HasData(InstanceName("c", m))) << m;
    }
  }

  void Provision3() {
    Apply(3, "3.4.0");
    ASSERT_TRUE(RunUntil([](const Resource& r) { return Running(r, 3, "3.4.0"); }));
  }

  std::string IdOf(const std::string& member) {
    for (const MemberStatus& m : Current().status.members) {
      if (m.name == member) return m.id;
    }
    return "";
  }

  std::string MemberOf(uint64_t id) {
    for (const MemberStatus& s : Current().status.members) {
      if (s.id == MemberIdHex(id)) return s.name;
    }
    return "";
  }

  TimePoint now_ = std::chrono::system_clock::from_time_t(1'800'000'000);
  KVClusterOptions options_;
  MemStore store_;
  FakeRuntime runtime_;
  FakeCluster cluster_{&runtime_};
  std::unique_ptr<KVClusterReconciler> reconciler_;
  std::vector<std::string> errors_;
  size_t learners_max_ = 0;
};

TEST_F(KVClusterReconcilerTest, ProvisionThreeToRun) {
  Provision3();
  const Resource r = Current();
  EXPECT_EQ(r.status.observed_generation, 1);
  EXPECT_EQ(FindCondition(r.status, kCondAvailable)->status, ConditionStatus::kTrue);
  EXPECT_EQ(FindCondition(r.status, kCondDegraded)->status, ConditionStatus::kFalse);
  EXPECT_EQ(Voters(), 3u);
  for (const MemberStatus& m : r.status.members) {
    auto inst = runtime_.Get(InstanceName("c", m.name));
    ASSERT_TRUE(inst.ok());
    EXPECT_EQ(inst->spec.engine, "gridkv");
    EXPECT_EQ(inst->spec.restart, runtime::RestartPolicy::kInPlace);
    EXPECT_EQ(FakeRuntime::Arg(inst->spec, "--initial-cluster-state"), "new");
    EXPECT_EQ(FakeRuntime::Arg(inst->spec, "--advertise-client-urls"), m.client_url);
    EXPECT_EQ(FakeRuntime::Arg(inst->spec, "--quota-backend-bytes"),
              std::to_string(kDefaultQuotaBackendBytes));
    EXPECT_EQ(FakeRuntime::Arg(inst->spec, "--initial-cluster"),
              r.status.members[0].name + "=" + r.status.members[0].peer_url + "," +
                  r.status.members[1].name + "=" + r.status.members[1].peer_url + "," +
                  r.status.members[2].name + "=" + r.status.members[2].peer_url);
  }
  // The finished provision moved from status.operation to status.history.
  EXPECT_EQ(History(), std::vector<std::string>{"Provision Succeeded"});
  const OperationRecord& rec = r.status.history.front();
  EXPECT_EQ(rec.started, FormatTimestamp(std::chrono::system_clock::from_time_t(1'800'000'000)));
  EXPECT_FALSE(rec.finished.empty());
  EXPECT_GT(rec.finished, rec.started);
  ASSERT_FALSE(rec.steps.empty());
  EXPECT_EQ(rec.steps.front().step, "PlanMembers c-0 c-1 c-2");
  EXPECT_EQ(rec.steps.front().result, "ok");
  EXPECT_EQ(HistorySteps(kOpProvision).back(), "ProvisionMembers c-0 c-1 c-2 version=3.4.0");
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

TEST_F(KVClusterReconcilerTest, PortsAllocatedOnceAndReusedAfterRestart) {
  Apply(3, "3.4.0");
  Pass();  // plans the members
  const auto planned = Current().status.members;
  ASSERT_EQ(planned.size(), 3u);
  NewReconciler();
  ASSERT_TRUE(RunUntil([](const Resource& r) { return Running(r, 3, "3.4.0"); }));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Current().status.members[i].client_url, planned[i].client_url);
    EXPECT_EQ(Current().status.members[i].peer_url, planned[i].peer_url);
  }
}

TEST_F(KVClusterReconcilerTest, ScaleOutAndInOneMemberAtATime) {
  Provision3();
  Apply(5, "3.4.0");
  bool saw_scale = false;
  ASSERT_TRUE(RunUntil([&](const Resource& r) {
    saw_scale = saw_scale || r.status.phase == Phase::kScale;
    return Running(r, 5, "3.4.0");
  }));
  EXPECT_TRUE(saw_scale);
  EXPECT_EQ(Voters(), 5u);
  EXPECT_EQ(learners_max_, 1u);
  EXPECT_EQ(Current().status.observed_generation, 2);
  EXPECT_EQ(History(), (std::vector<std::string>{"Provision Succeeded", "ScaleOut Succeeded",
                                                 "ScaleOut Succeeded"}));
  EXPECT_EQ(HistorySteps(kOpScaleOut),
            (std::vector<std::string>{"PlanMembers c-4", "AddLearner c-4",
                                      "StartMember c-4 version=3.4.0", "PromoteLearner c-4"}));
  auto joined = runtime_.Get(InstanceName("c", "c-4"));
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(FakeRuntime::Arg(joined->spec, "--initial-cluster-state"), "existing");

  // The leader is the highest member: leadership moves away before it is removed.
  const uint64_t c4 = *ParseMemberIdHex(IdOf("c-4"));
  ASSERT_TRUE(cluster_.MoveLeader(c4).ok());
  Apply(3, "3.4.0");
  // A control-plane restart in the middle resumes from the status.
  Pass();
  Pass();
  NewReconciler();
  ASSERT_TRUE(RunUntil([](const Resource& r) { return Running(r, 3, "3.4.0"); }));
  EXPECT_EQ(Voters(), 3u);
  EXPECT_NE(cluster_.LeaderId(), c4);
  const auto calls = cluster_.Calls();
  EXPECT_NE(std::find(calls.begin(), calls.end(), "MemberRemove " + std::to_string(c4)), calls.end());
  for (const char* gone : {"c-3", "c-4"}) {
    EXPECT_FALSE(runtime_.Get(InstanceName("c", gone)).ok()) << gone;
    EXPECT_FALSE(runtime_.HasData(InstanceName("c", gone))) << gone;
  }
  // Highest first: c-4's instance went before c-3's.
  const auto log = runtime_.Log();
  auto pos = [&](const std::string& s) { return std::find(log.begin(), log.end(), s) - log.begin(); };
  EXPECT_LT(pos("Remove kv/c/c-4 wipe"), pos("Remove kv/c/c-3 wipe"));
  // The scale-in survived the restart in the status and ended in the history.
  EXPECT_EQ(History(), (std::vector<std::string>{"Provision Succeeded", "ScaleOut Succeeded",
                                                 "ScaleOut Succeeded", "ScaleIn Succeeded",
                                                 "ScaleIn Succeeded"}));
  const std::vector<std::string> scale_in = HistorySteps(kOpScaleIn);
  ASSERT_FALSE(scale_in.empty());
  EXPECT_EQ(scale_in.back(), "DeleteInstance c-3 wipe");
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

TEST_F(KVClusterReconcilerTest, MemberDownPastGraceIsReplaced) {
  Provision3();
  const std::string old_id = IdOf("c-1");
  runtime_.Crash(InstanceName("c", "c-1"));
  // Within the grace period nothing is replaced.
  for (int i = 0; i < 5; ++i) Pass(seconds(1));
  EXPECT_EQ(IdOf("c-1"), old_id);
  EXPECT_EQ(FindCondition(Current().status, kCondDegraded)->status, ConditionStatus::kTrue);
  ASSERT_TRUE(RunUntil([&](const Resource& r) {
    return Running(r, 3, "3.4.0") && IdOf("c-1") != old_id;
  }, seconds(5)));
  EXPECT_EQ(Voters(), 3u);
  const auto log = runtime_.Log();
  EXPECT_NE(std::find(log.begin(), log.end(), "Remove kv/c/c-1 wipe"), log.end());
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

TEST_F(KVClusterReconcilerTest, DataLossIsReplacedWithoutWaiting) {
  Provision3();
  const std::string old_id = IdOf("c-2");
  runtime_.LoseData(InstanceName("c", "c-2"));
  Pass(Duration::zero());
  const auto calls = cluster_.Calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), "MemberRemove " + std::to_string(*ParseMemberIdHex(old_id)));
  ASSERT_TRUE(RunUntil([&](const Resource& r) {
    return Running(r, 3, "3.4.0") && IdOf("c-2") != old_id;
  }, Duration::zero()));
  EXPECT_TRUE(runtime_.HasData(InstanceName("c", "c-2")));
}

TEST_F(KVClusterReconcilerTest, RollingUpgradeLeaderLast) {
  Provision3();
  const uint64_t leader = cluster_.LeaderId();
  const std::string leader_name = MemberOf(leader);
  ASSERT_FALSE(leader_name.empty());
  Apply(3, "3.5.0");
  bool saw_update = false;
  ASSERT_TRUE(RunUntil([&](const Resource& r) {
    saw_update = saw_update || r.status.phase == Phase::kUpdate;
    return Running(r, 3, "3.5.0");
  }));
  EXPECT_TRUE(saw_update);
  // Stops in order: followers, then the old leader, after leadership moved.
  std::vector<std::string> stops;
  for (const std::string& l : runtime_.Log()) {
    if (l.rfind("Stop ", 0) == 0) stops.push_back(l.substr(5));
  }
  ASSERT_EQ(stops.size(), 3u);
  EXPECT_EQ(stops.back(), InstanceName("c", leader_name));
  const auto calls = cluster_.Calls();
  EXPECT_TRUE(std::any_of(calls.begin(), calls.end(),
                          [](const std::string& c) { return c.rfind("MoveLeader", 0) == 0; }));
  EXPECT_NE(cluster_.LeaderId(), leader);
  EXPECT_EQ(History(),
            (std::vector<std::string>{"Provision Succeeded", "RollingUpgrade Succeeded"}));
  const std::vector<std::string> steps = HistorySteps(kOpRollingUpgrade);
  EXPECT_EQ(std::count_if(steps.begin(), steps.end(),
                          [](const std::string& s) { return s.rfind("StopMember", 0) == 0; }),
            3);
  EXPECT_EQ(std::count_if(steps.begin(), steps.end(),
                          [](const std::string& s) { return s.rfind("MoveLeader", 0) == 0; }),
            1);
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

TEST_F(KVClusterReconcilerTest, FailedUpgradeRollsBack) {
  Provision3();
  cluster_.SetBadVersion("9.9.9");
  Apply(3, "9.9.9");
  bool saw_rollback = false;
  ASSERT_TRUE(RunUntil([&](const Resource& r) {
    saw_rollback = saw_rollback || r.status.phase == Phase::kRollback;
    return saw_rollback && Running(r, 3, "3.4.0");
  }, seconds(5)));
  const Resource r = Current();
  const Condition* failed = FindCondition(r.status, kCondUpgradeFailed);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->status, ConditionStatus::kTrue);
  EXPECT_EQ(failed->reason, "RolledBack");
  EXPECT_NE(failed->message.find("9.9.9"), std::string::npos);
  // The upgrade ended rolled back; the rollback that undid it succeeded.
  EXPECT_EQ(History(), (std::vector<std::string>{"Provision Succeeded", "RollingUpgrade RolledBack",
                                                 "Rollback Succeeded"}));
  const OperationRecord& upgrade = r.status.history[1];
  ASSERT_FALSE(upgrade.steps.empty());
  EXPECT_EQ(upgrade.steps.back().step.rfind("StartMember", 0), 0u) << upgrade.steps.back().step;
  EXPECT_LE(upgrade.started, upgrade.finished);
  // Not retried while spec.version names the failed version.
  const size_t starts = runtime_.Log().size();
  for (int i = 0; i < 5; ++i) Pass(seconds(5));
  EXPECT_EQ(runtime_.Log().size(), starts);
  // Only one member ever ran the bad version.
  int bad_starts = 0;
  for (const std::string& l : runtime_.Log()) bad_starts += l.find(" 9.9.9") != std::string::npos;
  EXPECT_EQ(bad_starts, 1);
}

TEST_F(KVClusterReconcilerTest, QuorumLossFailsWithRecoveryCommand) {
  Provision3();
  runtime_.Crash(InstanceName("c", "c-1"));
  runtime_.Crash(InstanceName("c", "c-2"));
  ASSERT_TRUE(RunUntil([](const Resource& r) { return r.status.phase == Phase::kFailed; },
                       seconds(5)));
  const Condition* q = FindCondition(Current().status, kCondQuorumLost);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->status, ConditionStatus::kTrue);
  EXPECT_NE(q->message.find("gridctl restore kvcluster c"), std::string::npos);
}

TEST_F(KVClusterReconcilerTest, WaitingPassesLeaveStatusUnchanged) {
  Provision3();
  Pass();
  const std::string steady = Current().metadata.resource_version;
  Pass();
  EXPECT_EQ(Current().metadata.resource_version, steady);
  // Waiting for a learner to catch up: no write while nothing changes.
  cluster_.SetCatchUpPolls(1000);
  Apply(4, "3.4.0");
  ASSERT_TRUE(RunUntil([](const Resource& r) {
    auto op = OperationFromJson(r.status.operation);
    return op.ok() && op->has_value() && !(*op)->steps.empty() &&
           (*op)->steps.back().step.rfind("StartMember", 0) == 0;
  }));
  Pass();
  const std::string waiting = Current().metadata.resource_version;
  Pass();
  Pass();
  EXPECT_EQ(Current().metadata.resource_version, waiting);
  EXPECT_EQ(Current().status.phase, Phase::kScale);
}

TEST_F(KVClusterReconcilerTest, ARepeatedFailureIsNotWrittenAgain) {
  runtime_.FailStarts(NotFound("no binary for gridkv@3.4.0"));
  Apply(3, "3.4.0");
  Pass();
  Pass();  // the failing step is recorded once
  const std::string failed = Current().metadata.resource_version;
  const size_t errors = errors_.size();
  Pass();
  Pass();
  // Still failing: no status write (no watch event would requeue it at once), but the error is
  // returned each time, so the runner's back-off paces the retries.
  EXPECT_EQ(Current().metadata.resource_version, failed);
  EXPECT_EQ(errors_.size(), errors + 2);
  auto op = OperationFromJson(Current().status.operation);
  ASSERT_TRUE(op.ok() && op->has_value());
  ASSERT_FALSE((*op)->steps.empty());
  EXPECT_NE((*op)->steps.back().result.find("no binary"), std::string::npos);
  runtime_.FailStarts(Status::Ok());
  EXPECT_TRUE(RunUntil([](const Resource& r) { return Running(r, 3, "3.4.0"); }));
}

TEST_F(KVClusterReconcilerTest, ConflictRequeues) {
  Apply(3, "3.4.0");
  store_.InjectConflicts(1);
  auto r = reconciler_->Reconcile("KVCluster/c");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->requeue);
  EXPECT_TRUE(Current().status.members.empty());
}

TEST_F(KVClusterReconcilerTest, DeleteKeepsDataUnlessLabelled) {
  Provision3();
  DeleteWithEvent(Current());
  Pass();
  EXPECT_TRUE(runtime_.List("kv/c/").empty());
  EXPECT_TRUE(runtime_.HasData(InstanceName("c", "c-0")));
}

TEST_F(KVClusterReconcilerTest, DeleteWipesWhenLabelled) {
  Apply(3, "3.4.0", {{kWipeOnDeleteLabel, "true"}});
  ASSERT_TRUE(RunUntil([](const Resource& r) { return Running(r, 3, "3.4.0"); }));
  DeleteWithEvent(Current());
  Pass();
  ExpectInstancesGoneDataWiped();
}

// The label is set and the object deleted right after: Reconcile never reads the labelled
// version, only the watch's DELETED event carries it.
TEST_F(KVClusterReconcilerTest, DeleteWipesWhenOnlyTheDeletedVersionWasLabelled) {
  Provision3();
  DeleteWithEvent(LabelledForWipe());
  Pass();
  ExpectInstancesGoneDataWiped();
}

// A pass that read the version before the label (it was in flight while gridctl labelled and
// deleted the object) runs after the DELETED event was seen: it must not clear the wipe.
TEST_F(KVClusterReconcilerTest, AStalePassDoesNotClearTheWipeOfTheDeletedVersion) {
  Provision3();
  Resource last = LabelledForWipe();
  last.metadata.resource_version = std::to_string(std::stoll(last.metadata.resource_version) + 1);
  reconciler_->ObserveDeleted(last);
  Pass();  // reads the older, unlabelled version still in the store
  store_.Erase("c");
  Pass();
  ExpectInstancesGoneDataWiped();
}

// A pass queued by the label's event finds the object already gone, before the DELETED event
// arrived: it waits for that event instead of removing the instances with the data kept.
TEST_F(KVClusterReconcilerTest, APassThatFindsTheObjectGoneWaitsForTheDeletedEvent) {
  Provision3();
  Resource last = LabelledForWipe();
  store_.Erase("c");
  auto r = reconciler_->Reconcile("c");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->requeue_after, kDeletedEventPoll);
  EXPECT_EQ(runtime_.List("kv/c/").size(), 3u);
  now_ += kDeletedEventWait - milliseconds(1);
  Pass();
  EXPECT_EQ(runtime_.List("kv/c/").size(), 3u);
  reconciler_->ObserveDeleted(last);
  Pass();
  ExpectInstancesGoneDataWiped();
}

// No DELETED event within kDeletedEventWait (the watch broke): the instances go, the data is
// kept as the last read version asked.
TEST_F(KVClusterReconcilerTest, WithoutTheDeletedEventTheInstancesGoAfterTheWaitDataKept) {
  Provision3();
  store_.Erase("c");
  Pass(kDeletedEventWait - milliseconds(1));
  Pass();
  EXPECT_EQ(runtime_.List("kv/c/").size(), 3u);
  Pass();
  EXPECT_TRUE(runtime_.List("kv/c/").empty());
  EXPECT_TRUE(runtime_.HasData(InstanceName("c", "c-0")));
}

// A resource deleted and created again under the same name is a new resource: its own
// deletion waits for its own DELETED event.
TEST_F(KVClusterReconcilerTest, ARecreatedResourceWaitsForItsOwnDeletedEvent) {
  Provision3();
  DeleteWithEvent(Current());
  Pass();
  ASSERT_TRUE(runtime_.List("kv/c/").empty());
  Apply(3, "3.4.0");
  ASSERT_TRUE(RunUntil([&](const Resource&) { return runtime_.List("kv/c/").size() == 3; }));
  store_.Erase("c");
  Pass();
  EXPECT_EQ(runtime_.List("kv/c/").size(), 3u);
}

TEST_F(KVClusterReconcilerTest, OperationStepsRecorded) {
  Provision3();
  Apply(4, "3.4.0");
  Pass();
  auto op = OperationFromJson(Current().status.operation);
  ASSERT_TRUE(op.ok());
  ASSERT_TRUE(op->has_value());
  EXPECT_EQ((*op)->name, kOpScaleOut);
  EXPECT_EQ((*op)->target, "c-3");
  ASSERT_EQ((*op)->steps.size(), 1u);
  EXPECT_EQ((*op)->steps[0].step, "PlanMembers c-3");
  EXPECT_EQ((*op)->steps[0].result, "ok");
}

// "name=zone" of each member in status order.
std::vector<std::string> ZonesOf(const Resource& r) {
  std::vector<std::string> out;
  for (const MemberStatus& m : r.status.members) out.push_back(m.name + "=" + m.zone);
  return out;
}

TEST_F(KVClusterReconcilerTest, ZonesSpreadKeptByReplacementAndMovedWhenUnlisted) {
  auto zones = [](std::vector<std::string> z) {
    return [z](KVClusterSpec* s) { s->placement = Placement{z}; };
  };
  Apply(3, "3.4.0", {}, zones({"a", "b"}));
  ASSERT_TRUE(RunUntil([](const Resource& r) { return Running(r, 3, "3.4.0"); }));
  EXPECT_EQ(ZonesOf(Current()), (std::vector<std::string>{"c-0=a", "c-1=b", "c-2=a"}));
  EXPECT_EQ(HistorySteps(kOpProvision).front(), "PlanMembers c-0 c-1 c-2 zones=a,b,a");
  // Each instance carries its member's zone.
  for (const auto& [member, zone] : {std::pair{"c-0", "a"}, {"c-1", "b"}, {"c-2", "a"}}) {
    auto inst = runtime_.Get(InstanceName("c", member));
    ASSERT_TRUE(inst.ok()) << member;
    EXPECT_EQ(inst->spec.labels.at(kZoneLabel), zone) << member;
  }

  // A replaced member keeps its zone.
  const std::string old_id = IdOf("c-1");
  runtime_.LoseData(InstanceName("c", "c-1"));
  ASSERT_TRUE(RunUntil([&](const Resource& r) {
    return Running(r, 3, "3.4.0") && IdOf("c-1") != old_id;
  }));
  EXPECT_EQ(ZonesOf(Current()), (std::vector<std::string>{"c-0=a", "c-1=b", "c-2=a"}));

  // Scale out: the zone with the fewest members.
  Apply(4, "3.4.0", {}, zones({"a", "b"}));
  ASSERT_TRUE(RunUntil([](const Resource& r) { return Running(r, 4, "3.4.0"); }));
  EXPECT_EQ(ZonesOf(Current()).back(), "c-3=b");

  // Zone "a" leaves the spec: its members move one at a time, each a new member in a listed
  // zone before the old one goes; never more than one member over the desired size.
  Apply(4, "3.4.0", {}, zones({"b", "c"}));
  size_t most = 0;
  ASSERT_TRUE(RunUntil([&](const Resource& r) {
    most = std::max(most, r.status.members.size());
    return Running(r, 4, "3.4.0") && std::none_of(r.status.members.begin(), r.status.members.end(),
                                                   [](const MemberStatus& m) { return m.zone == "a"; });
  }));
  EXPECT_EQ(most, 5u);
  EXPECT_EQ(ZonesOf(Current()),
            (std::vector<std::string>{"c-1=b", "c-3=b", "c-4=c", "c-5=c"}));
  EXPECT_EQ(Voters(), 4u);
  EXPECT_EQ(learners_max_, 1u);
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

TEST_F(KVClusterReconcilerTest, ProvisionTimeoutFailsThenSpecChangeRetries) {
  cluster_.SetBadVersion("9.9.9");
  auto timeout = [](KVClusterSpec* s) { s->provision_timeout_seconds = 30; };
  Apply(3, "9.9.9", {}, timeout);
  ASSERT_TRUE(RunUntil([](const Resource& r) { return r.status.phase == Phase::kFailed; },
                       seconds(5)));
  const Resource failed = Current();
  const Condition* f = FindCondition(failed.status, kCondProvisionFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status, ConditionStatus::kTrue);
  EXPECT_EQ(f->reason, kReasonProvisionTimeout);
  EXPECT_NE(f->message.find("c-0, c-1, c-2 did not become healthy within 30s"), std::string::npos)
      << f->message;
  EXPECT_NE(f->message.find("log " + runtime_.LogPath(InstanceName("c", "c-2"))),
            std::string::npos)
      << f->message;
  EXPECT_TRUE(failed.status.operation.is_null());
  EXPECT_EQ(History(), std::vector<std::string>{"Provision Failed"});
  // Failed stays failed while the spec is the same.
  const size_t log_size = runtime_.Log().size();
  for (int i = 0; i < 3; ++i) Pass(seconds(60));
  EXPECT_EQ(Current().status.phase, Phase::kFailed);
  EXPECT_EQ(runtime_.Log().size(), log_size);

  // A spec change (a version that works) retries: members restarted on it.
  Apply(3, "3.4.0", {}, timeout);
  ASSERT_TRUE(RunUntil([](const Resource& r) { return Running(r, 3, "3.4.0"); }));
  EXPECT_EQ(FindCondition(Current().status, kCondProvisionFailed)->status, ConditionStatus::kFalse);
  EXPECT_EQ(History(), (std::vector<std::string>{"Provision Failed", "Provision Succeeded"}));
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

TEST_F(KVClusterReconcilerTest, ScaleOutMemberStartTimeoutFailsThenRetries) {
  Provision3();
  cluster_.SetCatchUpPolls(1000);  // the learner never catches up
  auto timeout = [](int s) { return [s](KVClusterSpec* spec) { spec->provision_timeout_seconds = s; }; };
  Apply(4, "3.4.0", {}, timeout(30));
  ASSERT_TRUE(RunUntil([](const Resource& r) { return r.status.phase == Phase::kFailed; },
                       seconds(5)));
  const Resource failed = Current();
  const Condition* f = FindCondition(failed.status, kCondProvisionFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->reason, kReasonMemberStartTimeout);
  EXPECT_NE(f->message.find("scale out: c-3 did not become healthy within 30s"), std::string::npos)
      << f->message;
  EXPECT_EQ(History(), (std::vector<std::string>{"Provision Succeeded", "ScaleOut Failed"}));

  // Retried after a spec change: the learner is removed and wiped, then joins again.
  cluster_.SetCatchUpPolls(2);
  Apply(4, "3.4.0", {}, timeout(60));
  ASSERT_TRUE(RunUntil([](const Resource& r) { return Running(r, 4, "3.4.0"); }));
  EXPECT_EQ(Voters(), 4u);
  const std::vector<std::string> steps = HistorySteps(kOpScaleOut);
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps[0], "RemoveMember c-3");
  EXPECT_EQ(steps[1], "DeleteInstance c-3 wipe");
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

TEST_F(KVClusterReconcilerTest, PersistedDownSinceSurvivesRestart) {
  Provision3();
  const std::string old_id = IdOf("c-1");
  runtime_.Crash(InstanceName("c", "c-1"));
  const std::string first_seen = FormatTimestamp(now_);
  Pass(seconds(1));
  Pass(seconds(1));
  EXPECT_EQ(Current().status.members[1].down_since, first_seen);  // set once
  // The control plane restarts after the grace period has passed: the replacement starts on
  // the first pass of the fresh reconciler.
  now_ += options_.plan.member_grace;
  NewReconciler();
  Pass(Duration::zero());
  const auto calls = cluster_.Calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), "MemberRemove " + std::to_string(*ParseMemberIdHex(old_id)));
  ASSERT_TRUE(RunUntil([&](const Resource& r) {
    return Running(r, 3, "3.4.0") && IdOf("c-1") != old_id;
  }));
  for (const MemberStatus& m : Current().status.members) EXPECT_EQ(m.down_since, "") << m.name;
}

TEST_F(KVClusterReconcilerTest, QuorumLossGraceSurvivesRestart) {
  Provision3();
  runtime_.Crash(InstanceName("c", "c-1"));
  runtime_.Crash(InstanceName("c", "c-2"));
  Pass(seconds(1));
  EXPECT_EQ(FindCondition(Current().status, kCondAvailable)->status, ConditionStatus::kFalse);
  EXPECT_NE(Current().status.phase, Phase::kFailed);
  now_ += options_.plan.member_grace;
  NewReconciler();
  Pass(Duration::zero());
  EXPECT_EQ(Current().status.phase, Phase::kFailed);
}

}  // namespace
}  // namespace grid::mas::kvcluster
