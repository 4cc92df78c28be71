// Decide table cases for zone placement and the provision timeout, and the placement rules.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mas/kvcluster/placement.h"
#include "mas/kvcluster/plan.h"
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

// spec.placement.zones = `listed`; member i gets zone `zones[i]`.
void SetZones(World* w, std::vector<std::string> listed, const std::vector<std::string>& zones) {
  w->spec.placement = Placement{std::move(listed)};
  for (size_t i = 0; i < zones.size(); ++i) w->status.members[i].zone = zones[i];
}

void Failed(World* w, const char* reason, int64_t generation, int64_t observed) {
  SetCondition(&w->status, {kCondProvisionFailed, ConditionStatus::kTrue, reason, "x", ""}, "t");
  w->status.phase = Phase::kFailed;
  w->obs.generation = generation;
  w->status.observed_generation = observed;
}

class PlacementTable : public ::testing::TestWithParam<Case> {};

TEST_P(PlacementTable, Step) { testing::CheckCase(GetParam()); }

const Case kCases[] = {
    // Zones: provisioning assigns round robin in spec order.
    {"ProvisionRoundRobin",
     [](World* w) {
       *w = World(0);
       w->spec.members = 5;
       w->spec.placement = Placement{{"a", "b", "c"}};
     },
     StepKind::kPlanMembers, "", Phase::kProvision, kOpProvision,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.zones, (std::vector<std::string>{"a", "b", "c", "a", "b"}));
       EXPECT_EQ(s.Describe(), "PlanMembers c-0 c-1 c-2 c-3 c-4 zones=a,b,c,a,b");
     }},
    {"ProvisionWithoutZones",
     [](World* w) {
       *w = World(0);
       w->spec.members = 3;
     },
     StepKind::kPlanMembers, "", Phase::kProvision, kOpProvision,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.zones, (std::vector<std::string>{"", "", ""}));
       EXPECT_EQ(s.Describe(), "PlanMembers c-0 c-1 c-2");
     }},
    // Scale out: the listed zone with the fewest members.
    {"ScaleOutToFewestZone",
     [](World* w) {
       SetZones(w, {"a", "b", "c"}, {"a", "b", "a"});
       w->spec.members = 4;
     },
     StepKind::kPlanMembers, "c-3", Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.zones, std::vector<std::string>{"c"});
       EXPECT_EQ(s.Describe(), "PlanMembers c-3 zone=c");
     }},
    {"ScaleOutTieTakesSpecOrder",
     [](World* w) {
       SetZones(w, {"c", "b", "a"}, {"a", "b", "c"});
       w->spec.members = 4;
     },
     StepKind::kPlanMembers, "c-3", Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) { EXPECT_EQ(s.zones, std::vector<std::string>{"c"}); }},
    // Scale in: the fullest zone, highest ordinal there; leadership rules unchanged.
    {"ScaleInFromFullestZone",
     [](World* w) {
       *w = World(5);
       SetZones(w, {"a", "b", "c"}, {"a", "a", "a", "b", "c"});
       w->spec.members = 4;
     },
     StepKind::kRemoveMember, "c-2", Phase::kScale, kOpScaleIn,
     [](const World&, const Step& s) { EXPECT_EQ(s.member_id, 102u); }},
    {"ScaleInTieTakesHighestOrdinal",
     [](World* w) {
       *w = World(4);
       SetZones(w, {"a", "b"}, {"a", "b", "b", "a"});
       w->spec.members = 3;
     },
     StepKind::kRemoveMember, "c-3", Phase::kScale, kOpScaleIn},
    {"ScaleInMisplacedFirstLeaderMovedAway",
     [](World* w) {
       SetZones(w, {"a", "b"}, {"x", "a", "b"});
       w->spec.members = 2;
     },
     StepKind::kMoveLeader, "c-1", Phase::kScale, kOpScaleIn,
     [](const World&, const Step& s) { EXPECT_EQ(s.operation->target, "c-0"); }},
    // A zone left the spec: make before break.
    {"MoveScalesOutIntoListedZone",
     [](World* w) { SetZones(w, {"a", "b", "c"}, {"a", "b", "x"}); },
     StepKind::kPlanMembers, "c-3", Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.zones, std::vector<std::string>{"c"});
       EXPECT_EQ(s.operation->reason, "move c-2 out of zone \"x\"");
     }},
    {"MoveThenScalesInMisplaced",
     [](World* w) {
       *w = World(4);
       SetZones(w, {"a", "b", "c"}, {"a", "b", "x", "c"});
       w->spec.members = 3;
     },
     StepKind::kRemoveMember, "c-2", Phase::kScale, kOpScaleIn},
    {"MoveAtMemberLimitScalesInFirst",
     [](World* w) {
       *w = World(static_cast<int>(kMaxMembers));
       SetZones(w, {"a", "b", "c"}, {"a", "b", "c", "a", "b", "c", "x"});
     },
     StepKind::kRemoveMember, "c-6", Phase::kScale, kOpScaleIn,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.operation->reason, "move c-6 out of zone \"x\"");
     }},
    {"MoveWaitsForHealth",
     [](World* w) {
       SetZones(w, {"a", "b", "c"}, {"a", "b", "x"});
       w->M(1).reachable = false;
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    {"PlacementAddedMovesUnzonedMembers",
     [](World* w) { w->spec.placement = Placement{{"a"}}; },
     StepKind::kPlanMembers, "c-3", Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) { EXPECT_EQ(s.zones, std::vector<std::string>{"a"}); }},
    {"PlacementRemovedMovesNothing",
     [](World* w) {
       SetZones(w, {}, {"a", "b", "c"});
       w->spec.placement.reset();
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    {"BalancedZonesSteady", [](World* w) { SetZones(w, {"a", "b", "c"}, {"a", "b", "c"}); },
     StepKind::kNothing, "", Phase::kRun, ""},
    // Provision timeout (default kDefaultProvisionTimeoutSeconds from the operation's start).
    {"ProvisionAtTimeoutWaits",
     [](World* w) {
       auto op = Op(kOpProvision, "");
       op.started = FormatTimestamp(kNow - seconds(kDefaultProvisionTimeoutSeconds));
       w->SetOp(op);
       w->M(1).reachable = false;
     },
     StepKind::kNothing, "", Phase::kProvision, kOpProvision},
    {"ProvisionPastTimeoutFails",
     [](World* w) {
       auto op = Op(kOpProvision, "");
       op.started = FormatTimestamp(kNow - seconds(kDefaultProvisionTimeoutSeconds + 1));
       w->SetOp(op);
       w->M(1).instance = InstanceState::kBackoff;
       w->M(1).reachable = false;
       w->M(1).log_path = "/logs/c-1";
     },
     StepKind::kNothing, "", Phase::kFailed, "",
     [](const World&, const Step& s) {
       const ConditionUpdate* f = Cond(s, kCondProvisionFailed);
       ASSERT_NE(f, nullptr);
       EXPECT_EQ(f->status, ConditionStatus::kTrue);
       EXPECT_EQ(f->reason, kReasonProvisionTimeout);
       EXPECT_EQ(f->message,
                 "provision: c-1 did not become healthy within 300s: c-1 (Backoff, does not "
                 "answer; log /logs/c-1). Change the spec to retry");
     }},
    {"ProvisionTimeoutFromSpec",
     [](World* w) {
       w->spec.provision_timeout_seconds = kMinProvisionTimeoutSeconds;
       auto op = Op(kOpProvision, "");
       op.started = FormatTimestamp(kNow - seconds(kMinProvisionTimeoutSeconds + 1));
       w->SetOp(op);
       w->M(0).reachable = false;
       w->M(2).reachable = false;
     },
     StepKind::kNothing, "", Phase::kFailed, "",
     [](const World&, const Step& s) {
       EXPECT_NE(Cond(s, kCondProvisionFailed)->message.find("provision: c-0, c-2 did not"),
                 std::string::npos);
     }},
    {"ScaleOutMemberPastTimeoutFails",
     [](World* w) {
       w->spec.members = 4;
       w->AddMember(3, "3.4.0", /*learner=*/true);
       w->obs.leader_applied_index = 50 + kDefaultCatchUpLagEntries + 1;
       auto op = Op(kOpScaleOut, "c-3");
       op.started = FormatTimestamp(kNow - seconds(kDefaultProvisionTimeoutSeconds + 1));
       w->SetOp(op);
     },
     StepKind::kNothing, "", Phase::kFailed, "",
     [](const World&, const Step& s) {
       EXPECT_EQ(Cond(s, kCondProvisionFailed)->reason, kReasonMemberStartTimeout);
       EXPECT_NE(Cond(s, kCondProvisionFailed)->message.find("scale out: c-3 did not"),
                 std::string::npos);
     }},
    {"ScaleOutVoterIsNotTimedOut",
     [](World* w) {
       w->spec.members = 4;
       w->AddMember(3, "3.4.0", /*learner=*/false);
       auto op = Op(kOpScaleOut, "c-3");
       op.started = FormatTimestamp(kNow - seconds(kDefaultProvisionTimeoutSeconds + 1));
       w->SetOp(op);
     },
     StepKind::kNothing, "", Phase::kRun, ""},
    // Failed until the spec changes, then retried.
    {"FailedWaitsForSpecChange",
     [](World* w) { Failed(w, kReasonProvisionTimeout, 2, 2); },
     StepKind::kNothing, "", Phase::kFailed, "",
     [](const World&, const Step& s) { EXPECT_EQ(Cond(s, kCondProvisionFailed), nullptr); }},
    {"FailedProvisionRetried",
     [](World* w) {
       *w = World(0);
       for (int i = 0; i < 3; ++i) w->PlanOnly(i);
       w->obs.member_list_ok = false;
       Failed(w, kReasonProvisionTimeout, 3, 2);
     },
     StepKind::kProvisionMembers, "", Phase::kProvision, kOpProvision,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.operation->started, FormatTimestamp(kNow));
       EXPECT_EQ(Cond(s, kCondProvisionFailed)->status, ConditionStatus::kFalse);
       EXPECT_EQ(Cond(s, kCondProvisionFailed)->reason, "Retrying");
     }},
    {"ProvisionRestartsMemberOnOtherVersion",
     [](World* w) {
       w->spec.version = "3.4.1";
       w->SetOp(Op(kOpProvision, ""));
       w->M(1).reachable = false;
     },
     StepKind::kStopMember, "c-0", Phase::kProvision, kOpProvision},
    {"FailedScaleOutRetryRemovesLearner",
     [](World* w) {
       w->spec.members = 4;
       w->AddMember(3, "3.4.0", /*learner=*/true);
       w->M(3).instance = InstanceState::kBackoff;
       w->M(3).reachable = false;
       Failed(w, kReasonMemberStartTimeout, 5, 4);
     },
     StepKind::kRemoveMember, "c-3", Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) {
       EXPECT_EQ(s.member_id, 103u);
       EXPECT_EQ(s.operation->old_id, "67");
     }},
    {"ScaleOutRetryWipesInstance",
     [](World* w) {
       w->spec.members = 4;
       w->AddMember(3, "3.4.0", /*learner=*/true);
       w->obs.store_members.pop_back();
       w->M(3).instance = InstanceState::kBackoff;
       w->M(3).reachable = false;
       auto op = Op(kOpScaleOut, "c-3");
       op.old_id = "67";
       w->SetOp(op);
     },
     StepKind::kDeleteInstance, "c-3", Phase::kScale, kOpScaleOut,
     [](const World&, const Step& s) {
       EXPECT_TRUE(s.wipe);
       EXPECT_FALSE(s.forget);
     }},
    {"FailedScaleOutRetryWaitsForMemberList",
     [](World* w) {
       w->spec.members = 4;
       w->AddMember(3, "3.4.0", /*learner=*/true);
       w->obs.member_list_ok = false;
       Failed(w, kReasonMemberStartTimeout, 5, 4);
     },
     StepKind::kNothing, "", Phase::kFailed, "",
     [](const World&, const Step& s) {
       EXPECT_TRUE(s.defer_generation);  // the next pass retries again
       EXPECT_EQ(Cond(s, kCondProvisionFailed), nullptr);
     }},
    {"FailedScaleOutGivenUpScalesIn",
     [](World* w) {
       w->AddMember(3, "3.4.0", /*learner=*/true);
       Failed(w, kReasonMemberStartTimeout, 5, 4);
     },
     StepKind::kRemoveMember, "c-3", Phase::kScale, kOpScaleIn},
};

INSTANTIATE_TEST_SUITE_P(KVClusterPlacement, PlacementTable, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

std::vector<MemberStatus> Members(const std::vector<std::string>& zones) {
  std::vector<MemberStatus> out;
  for (size_t i = 0; i < zones.size(); ++i) {
    MemberStatus m;
    m.name = "c-" + std::to_string(i);
    m.zone = zones[i];
    out.push_back(m);
  }
  return out;
}

TEST(KVClusterPlacement, ZonesAtTheLimitRoundRobin) {
  KVClusterSpec spec;
  spec.placement = Placement{};
  for (size_t i = 0; i < kMaxZones; ++i) spec.placement->zones.push_back("z" + std::to_string(i));
  const std::vector<std::string> zones = InitialZones(spec, static_cast<size_t>(kMaxMembers));
  for (size_t i = 0; i < zones.size(); ++i) EXPECT_EQ(zones[i], "z" + std::to_string(i));
  EXPECT_EQ(ZoneForNewMember(spec, Members(zones)), "z7");
}

TEST(KVClusterPlacement, MisplacedOnlyWithListedZones) {
  KVClusterSpec spec;
  EXPECT_FALSE(Misplaced(spec, Members({"x"})[0]));
  EXPECT_EQ(MemberToRemove(spec, Members({"", "", ""})), "c-2");
  spec.placement = Placement{{"a"}};
  EXPECT_TRUE(Misplaced(spec, Members({""})[0]));
  EXPECT_EQ(FirstMisplaced(spec, Members({"a", "x", "y"})), "c-1");
  EXPECT_EQ(ZoneForNewMember(spec, Members({"x", "y"})), "a");
  EXPECT_EQ(MemberOrdinal("orders-12"), 12);
  EXPECT_EQ(MemberOrdinal("orders"), -1);
}

}  // namespace
}  // namespace grid::mas::kvcluster
