#include "mas/kvcluster/plan.h"

#include <functional>

#include <gtest/gtest.h>

#include "mas/kvcluster/testing/plan_world.h"

namespace grid::mas::kvcluster {
namespace {

using std::chrono::seconds;
using testing::Case;
using testing::Cond;
using testing::Fresh;
using testing::kNow;
using testing::Op;
using testing::World;

class DecideTable : public ::testing::TestWithParam<Case> {};

TEST_P(DecideTable, Step) { testing::CheckCase(GetParam()); }

const Case kCases[] = {
    // Provision.
    {"PlanInitialMembers", [](World* w) { *w = World(0); w->spec.members = 3; w->status.phase = Phase::kNone; },
     StepKind::kPlanMembers, "", Phase::kProvision, kOpProvision,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.members, (std::vector<std::string>{"c-0", "c-1", "c-2"}));
     }},
    {"ProvisionStartsAll",
     [](World* w) {
       *w = World(0);
       w->spec.members = 3;
       for (int i = 0; i < 3; ++i) w->PlanOnly(i);
       w->obs.member_list_ok = false;
       w->SetOp(Op(kOpProvision, ""));
     },
     StepKind::kProvisionMembers, "", Phase::kProvision, kOpProvision,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.members.size(), 3u);
       EXPECT_EQ(s.cluster_state, "new");
       EXPECT_EQ(s.version, "3.4.0");
     }},
    {"ProvisionWaitsForAnswers",
     [](World* w) {
       w->SetOp(Op(kOpProvision, ""));
       w->M(1).reachable = false;
     },
     StepKind::kNothing, "", Phase::kProvision, kOpProvision},
    {"ProvisionDone", [](World* w) { w->SetOp(Op(kOpProvision, "")); }, StepKind::kNothing, "",
     Phase::kRun, ""},
    {"Steady", [](World*) {}, StepKind::kNothing, "", Phase::kRun, "",
     [](const World&, const Step& s) {
       EXPECT_EQ(s.requeue_after, kSteadyRequeue);
       EXPECT_EQ(Cond(s, kCondAvailable)->status, ConditionStatus::kTrue);
       EXPECT_EQ(Cond(s, kCondDegraded)->status, ConditionStatus::kFalse);
       EXPECT_EQ(Cond(s, kCondProgressing)->status, ConditionStatus::kFalse);
     }},
    // Scale out, one member at a time.
    {"ScaleOutPlans", [](World* w) { w->spec.members = 5; }, StepKind::kPlanMembers, "c-3",
     Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) { EXPECT_EQ(s.members, std::vector<std::string>{"c-3"}); }},
    {"ScaleOutWaitsForHealth",
     [](World* w) {
       w->spec.members = 5;
       w->M(2).reachable = false;
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    {"ScaleOutAddsLearner",
     [](World* w) {
       w->spec.members = 5;
       w->PlanOnly(3);
       w->SetOp(Op(kOpScaleOut, "c-3"));
     },
     StepKind::kAddLearner, "c-3", Phase::kScale, kOpScaleOut},
    {"ScaleOutStartsExisting",
     [](World* w) {
       w->spec.members = 5;
       w->PlanOnly(3);
       w->obs.store_members.push_back({103, "", true, {w->status.members[3].peer_url}});
       w->SetOp(Op(kOpScaleOut, "c-3"));
     },
     StepKind::kStartMember, "c-3", Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.cluster_state, "existing");
       EXPECT_EQ(s.version, "3.4.0");
     }},
    {"ScaleOutWaitsCatchUp",
     [](World* w) {
       w->spec.members = 5;
       w->AddMember(3, "3.4.0", /*learner=*/true);
       w->obs.leader_applied_index = 50 + kDefaultCatchUpLagEntries + 1;  // one past the bound
       w->SetOp(Op(kOpScaleOut, "c-3"));
     },
     StepKind::kWaitCatchUp, "c-3", Phase::kScale, kOpScaleOut},
    {"ScaleOutPromotesAtLagBound",
     [](World* w) {
       w->spec.members = 5;
       w->AddMember(3, "3.4.0", /*learner=*/true);
       w->obs.leader_applied_index = 50 + kDefaultCatchUpLagEntries;  // lag exactly the bound
       w->SetOp(Op(kOpScaleOut, "c-3"));
     },
     StepKind::kPromoteLearner, "c-3", Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) { EXPECT_EQ(s.member_id, 103u); }},
    {"ScaleOutDone",
     [](World* w) {
       w->spec.members = 5;
       w->AddMember(3, "3.4.0", false);
       w->SetOp(Op(kOpScaleOut, "c-3"));
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    // Scale in: highest first, leadership moved away first.
    {"ScaleInRemovesHighest", [](World* w) { w->spec.members = 1; }, StepKind::kRemoveMember,
     "c-2", Phase::kScale, kOpScaleIn,
     [](const World&, const Step& s) { EXPECT_EQ(s.member_id, 102u); }},
    {"ScaleInMovesLeadershipFirst",
     [](World* w) {
       w->spec.members = 1;
       w->obs.leader_id = 102;
     },
     StepKind::kMoveLeader, "c-0", Phase::kScale, kOpScaleIn,
     [](const World&, const Step& s) { EXPECT_EQ(s.member_id, 100u); }},
    {"ScaleInStops",
     [](World* w) {
       w->spec.members = 1;
       w->RemoveFromStore(2);
       w->M(2).reachable = false;
       w->SetOp(Op(kOpScaleIn, "c-2"));
     },
     StepKind::kStopMember, "c-2", Phase::kScale, kOpScaleIn},
    {"ScaleInDeletesAndWipes",
     [](World* w) {
       w->spec.members = 1;
       w->RemoveFromStore(2);
       w->M(2).instance = InstanceState::kStopped;
       w->SetOp(Op(kOpScaleIn, "c-2"));
     },
     StepKind::kDeleteInstance, "c-2", Phase::kScale, kOpScaleIn,
     [](const World&, const Step& s) {
       EXPECT_TRUE(s.wipe);
       EXPECT_TRUE(s.forget);
     }},
    {"ScaleInDone",
     [](World* w) {
       w->spec.members = 2;
       w->status.members.pop_back();
       w->obs.members.pop_back();
       w->RemoveFromStore(2);
       w->SetOp(Op(kOpScaleIn, "c-2"));
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    // Self-healing.
    {"DownWithinGraceWaits",
     [](World* w) {
       w->M(1).instance = InstanceState::kBackoff;
       w->M(1).reachable = false;
       w->M(1).down_since = kNow - seconds(10);
     },
     StepKind::kNothing, "", Phase::kRun, "",
     [](const World&, const Step& s) {
       EXPECT_EQ(s.requeue_after, kWaitRequeue);
       EXPECT_EQ(Cond(s, kCondDegraded)->status, ConditionStatus::kTrue);
       EXPECT_NE(Cond(s, kCondDegraded)->message.find("c-1 (Backoff)"), std::string::npos);
     }},
    {"DownPastGraceReplaced",
     [](World* w) {
       w->M(1).instance = InstanceState::kBackoff;
       w->M(1).reachable = false;
       w->M(1).down_since = kNow - kDefaultMemberGrace;
     },
     StepKind::kRemoveMember, "c-1", Phase::kRun, kOpReplaceMember,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.member_id, 101u);
       EXPECT_EQ(s.operation->old_id, "65");
     }},
    {"DataLostReplaced", [](World* w) { w->M(2).data_empty = true; }, StepKind::kRemoveMember,
     "c-2", Phase::kRun, kOpReplaceMember},
    {"ReplaceWipes",
     [](World* w) {
       auto op = Op(kOpReplaceMember, "c-1");
       op.old_id = "65";
       w->SetOp(op);
       w->RemoveFromStore(1);
       w->M(1).instance = InstanceState::kBackoff;
       w->M(1).reachable = false;
     },
     StepKind::kDeleteInstance, "c-1", Phase::kRun, kOpReplaceMember,
     [](const World&, const Step& s) {
       EXPECT_TRUE(s.wipe);
       EXPECT_FALSE(s.forget);
     }},
    {"ReplaceAddsLearner",
     [](World* w) {
       auto op = Op(kOpReplaceMember, "c-1");
       op.old_id = "65";
       w->SetOp(op);
       w->RemoveFromStore(1);
       w->M(1) = Fresh("c-1");
     },
     StepKind::kAddLearner, "c-1", Phase::kRun, kOpReplaceMember},
    {"ReplaceStartsNewIncarnation",
     [](World* w) {
       auto op = Op(kOpReplaceMember, "c-1");
       op.old_id = "65";
       w->SetOp(op);
       w->Store(1)->id = 201;
       w->Store(1)->learner = true;
       w->M(1) = Fresh("c-1");
     },
     StepKind::kStartMember, "c-1", Phase::kRun, kOpReplaceMember},
    {"ReplacePromotes",
     [](World* w) {
       auto op = Op(kOpReplaceMember, "c-1");
       op.old_id = "65";
       w->SetOp(op);
       w->Store(1)->id = 201;
       w->Store(1)->learner = true;
     },
     StepKind::kPromoteLearner, "c-1", Phase::kRun, kOpReplaceMember,
     [](const World&, const Step& s) { EXPECT_EQ(s.member_id, 201u); }},
    {"StoppedVoterRestarted",
     [](World* w) {
       w->M(2).instance = InstanceState::kStopped;
       w->M(2).reachable = false;
     },
     StepKind::kStartMember, "c-2", Phase::kRun, "",
     [](const World&, const Step& s) { EXPECT_EQ(s.cluster_state, "existing"); }},
    // Quorum.
    {"QuorumLostWithinGraceWaits",
     [](World* w) {
       for (int i : {1, 2}) {
         w->M(i).instance = InstanceState::kBackoff;
         w->M(i).reachable = false;
       }
       w->obs.quorum_lost_since = kNow - seconds(1);
     },
     StepKind::kNothing, "", Phase::kRun, "",
     [](const World&, const Step& s) {
       EXPECT_EQ(Cond(s, kCondAvailable)->status, ConditionStatus::kFalse);
       EXPECT_EQ(Cond(s, kCondQuorumLost), nullptr);
     }},
    {"QuorumLostPastGraceFails",
     [](World* w) {
       for (int i : {1, 2}) {
         w->M(i).instance = InstanceState::kBackoff;
         w->M(i).reachable = false;
         w->M(i).down_since = kNow - 2 * kDefaultMemberGrace;
       }
       w->obs.quorum_lost_since = kNow - kDefaultMemberGrace;
     },
     StepKind::kNothing, "", Phase::kFailed, "",
     [](const World&, const Step& s) {
       const ConditionUpdate* q = Cond(s, kCondQuorumLost);
       ASSERT_NE(q, nullptr);
       EXPECT_EQ(q->status, ConditionStatus::kTrue);
       EXPECT_NE(q->message.find("gridctl restore kvcluster c"), std::string::npos);
       EXPECT_NE(q->message.find("1/3"), std::string::npos);
     }},
    // Rolling upgrade: followers in name order, the leader last.
    {"UpgradeStopsFirstFollower", [](World* w) { w->spec.version = "3.5.0"; },
     StepKind::kStopMember, "c-1", Phase::kUpdate, kOpRollingUpgrade,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.operation->target, "3.5.0");
       EXPECT_EQ(s.operation->from, "3.4.0");
       EXPECT_EQ(s.operation->member, "c-1");
       EXPECT_EQ(s.operation->member_started, FormatTimestamp(kNow));
     }},
    {"UpgradeWaitsForHealth",
     [](World* w) {
       w->spec.version = "3.5.0";
       w->M(0).applied_index = 0;
       w->obs.leader_applied_index = 1000;
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    {"UpgradeStartsOnNewVersion",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollingUpgrade, "3.5.0");
       op.from = "3.4.0";
       op.member = "c-1";
       op.member_started = FormatTimestamp(kNow - seconds(1));
       w->SetOp(op);
       w->M(1).instance = InstanceState::kStopped;
       w->M(1).reachable = false;
     },
     StepKind::kStartMember, "c-1", Phase::kUpdate, kOpRollingUpgrade,
     [](const World&, const Step& s) { EXPECT_EQ(s.version, "3.5.0"); }},
    {"UpgradeGatesOnHealth",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollingUpgrade, "3.5.0");
       op.from = "3.4.0";
       op.member = "c-1";
       op.member_started = FormatTimestamp(kNow - seconds(1));
       w->SetOp(op);
       w->M(1).instance_version = "3.5.0";
       w->M(1).reachable = false;
     },
     StepKind::kWaitCatchUp, "c-1", Phase::kUpdate, kOpRollingUpgrade},
    {"UpgradeTimeoutRollsBack",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollingUpgrade, "3.5.0");
       op.from = "3.4.0";
       op.member = "c-1";
       op.member_started = FormatTimestamp(kNow - kDefaultUpgradeStepTimeout - seconds(1));
       w->SetOp(op);
       w->M(1).instance_version = "3.5.0";
       w->M(1).reachable = false;
     },
     StepKind::kStopMember, "c-1", Phase::kRollback, kOpRollback,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.operation->target, "3.4.0");
       EXPECT_EQ(s.operation->from, "3.5.0");
       EXPECT_NE(s.operation->reason.find("c-1 not healthy on 3.5.0"), std::string::npos);
     }},
    {"UpgradeNextFollower",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollingUpgrade, "3.5.0");
       op.from = "3.4.0";
       op.member = "c-1";
       w->SetOp(op);
       w->M(1).instance_version = "3.5.0";
     },
     StepKind::kStopMember, "c-2", Phase::kUpdate, kOpRollingUpgrade},
    {"UpgradeMovesLeaderLast",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollingUpgrade, "3.5.0");
       op.from = "3.4.0";
       w->SetOp(op);
       w->M(1).instance_version = "3.5.0";
       w->M(2).instance_version = "3.5.0";
     },
     StepKind::kMoveLeader, "c-1", Phase::kUpdate, kOpRollingUpgrade},
    {"UpgradeLeaderAfterMove",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollingUpgrade, "3.5.0");
       op.from = "3.4.0";
       w->SetOp(op);
       w->M(1).instance_version = "3.5.0";
       w->M(2).instance_version = "3.5.0";
       w->obs.leader_id = 101;
     },
     StepKind::kStopMember, "c-0", Phase::kUpdate, kOpRollingUpgrade},
    {"UpgradeDone",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollingUpgrade, "3.5.0");
       op.from = "3.4.0";
       w->SetOp(op);
       for (int i = 0; i < 3; ++i) w->M(i).instance_version = "3.5.0";
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    {"RollbackDoneSetsUpgradeFailed",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollback, "3.4.0");
       op.from = "3.5.0";
       op.reason = "member c-1 not healthy";
       w->SetOp(op);
     },
     StepKind::kNothing, "", Phase::kRun, "",
     [](const World& w, const Step& s) {
       const ConditionUpdate* c = Cond(s, kCondUpgradeFailed);
       ASSERT_NE(c, nullptr);
       EXPECT_EQ(c->reason, "RolledBack");
       ResourceStatus st = w.status;
       SetCondition(&st, {c->type, c->status, c->reason, c->message, ""}, "t");
       EXPECT_EQ(FailedUpgradeVersion(st), "3.5.0");
     }},
    {"FailedVersionNotRetried",
     [](World* w) {
       w->spec.version = "3.5.0";
       SetCondition(&w->status,
                    {kCondUpgradeFailed, ConditionStatus::kTrue, "RolledBack", "version \"3.5.0\": x", ""},
                    "t");
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    {"OtherVersionRetried",
     [](World* w) {
       w->spec.version = "3.5.1";
       SetCondition(&w->status,
                    {kCondUpgradeFailed, ConditionStatus::kTrue, "RolledBack", "version \"3.5.0\": x", ""},
                    "t");
     },
     StepKind::kStopMember, "c-1", Phase::kUpdate, kOpRollingUpgrade},
    {"RollbackTimeoutFails",
     [](World* w) {
       w->spec.version = "3.5.0";
       auto op = Op(kOpRollback, "3.4.0");
       op.from = "3.5.0";
       op.member = "c-1";
       op.member_started = FormatTimestamp(kNow - kDefaultUpgradeStepTimeout - seconds(1));
       w->SetOp(op);
       w->M(1).reachable = false;
     },
     StepKind::kNothing, "", Phase::kFailed, kOpRollback,
     [](const World&, const Step& s) {
       EXPECT_EQ(Cond(s, kCondUpgradeFailed)->reason, "RollbackFailed");
     }},
};

INSTANTIATE_TEST_SUITE_P(KVClusterPlan, DecideTable, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

TEST(KVClusterPlan, ReplacementKeepsQuorumOfSmallerMembership) {
  // A single voter is never removed, even when its data is gone.
  World w(1);
  w.M(0).data_empty = true;
  EXPECT_EQ(w.Decide().kind, StepKind::kNothing);
}

TEST(KVClusterPlan, MalformedOperationIsIgnored) {
  World w;
  w.status.operation = "not an object";
  const Step s = w.Decide();
  EXPECT_EQ(s.kind, StepKind::kNothing);
  EXPECT_EQ(s.phase, Phase::kRun);
  EXPECT_FALSE(s.operation.has_value());
}

TEST(KVClusterPlan, LearnerThatAppliedNothingIsNotCaughtUp) {
  World w;
  w.spec.members = 5;
  w.AddMember(3, "3.4.0", /*learner=*/true);
  w.obs.leader_applied_index = 10;  // within the lag bound, but the learner has nothing yet
  w.M(3).applied_index = 0;
  Operation op;
  op.name = kOpScaleOut;
  op.target = "c-3";
  w.SetOp(op);
  EXPECT_EQ(w.Decide().kind, StepKind::kWaitCatchUp);
}

TEST(KVClusterPlan, GraceIsConfigurable) {
  World w;
  w.options.member_grace = std::chrono::seconds(5);
  w.M(1).instance = InstanceState::kBackoff;
  w.M(1).reachable = false;
  w.M(1).down_since = kNow - seconds(5);
  EXPECT_EQ(w.Decide().kind, StepKind::kRemoveMember);
}

TEST(KVClusterPlan, DescribeNamesStepAndMember) {
  World w;
  w.spec.members = 5;
  EXPECT_EQ(w.Decide().Describe(), "PlanMembers c-3");
}

}  // namespace
}  // namespace grid::mas::kvcluster
