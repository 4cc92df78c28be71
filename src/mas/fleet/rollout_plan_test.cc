// The blue-green rollout settings of spec.rollout in the decision: custom steps, hold 0, the
// readiness gate's timeout, and a rollout change in the middle of an upgrade.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mas/fleet/plan.h"
#include "mas/fleet/testing/plan_world.h"

namespace grid::mas::fleet {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::kHold;
using testing::kReadyTimeout;
using testing::kT0;
using testing::UpgradeWorld;
using testing::World;

Rollout MakeRollout(std::optional<std::vector<int64_t>> steps, std::optional<int64_t> hold,
                    std::optional<int64_t> ready_timeout) {
  return Rollout{std::move(steps), hold, ready_timeout};
}

// What an upgrade did: the green share of each weight write during Shift, each wait.
struct Trace {
  std::vector<int> percents;
  std::vector<std::string> configs;
  std::vector<Phase> phases;
};

// Decides and applies until the fleet runs `version` (waits advance the fake clock).
Trace DriveTo(World* w, const std::string& version) {
  Trace t;
  for (int i = 0; i < 400 && !(w->s.active_version == version && w->s.operation.empty()); ++i) {
    Step st = w->Decide();
    if (st.action == Action::kWriteFrontConfig && w->s.operation == kOpBlueGreen &&
        w->s.step == kStepShift) {
      t.percents.push_back(w->s.green_percent);
      t.configs.push_back(st.front_config);
    }
    if (st.action == Action::kNone) w->now += st.requeue_after;
    w->Apply(st);
    if (t.phases.empty() || t.phases.back() != w->phase) t.phases.push_back(w->phase);
  }
  EXPECT_EQ(w->s.active_version, version);
  return t;
}

TEST(FleetRolloutPlan, PlanRolloutDefaultsAndConversion) {
  RouterFleetSpec spec;
  EXPECT_EQ(PlanRollout(spec), (RolloutPlan{{10, 50, 100}, seconds(10), seconds(60)}));
  spec.rollout = MakeRollout(std::vector<int64_t>{5, 100}, 0, 3600);
  EXPECT_EQ(PlanRollout(spec), (RolloutPlan{{5, 100}, seconds(0), seconds(3600)}));
  // Out of the validated ranges: clamped into them.
  spec.rollout = MakeRollout(std::vector<int64_t>{}, -1, int64_t{1} << 62);
  EXPECT_EQ(PlanRollout(spec), (RolloutPlan{{100}, seconds(0), seconds(3600)}));
  spec.rollout = MakeRollout(std::vector<int64_t>{-3, 250}, 4000, 0);
  EXPECT_EQ(PlanRollout(spec), (RolloutPlan{{0, 100}, seconds(3600), seconds(1)}));
}

TEST(FleetRolloutPlan, CustomStepsAreShiftedInOrderEachHeldItsHold) {
  World w;
  w.d.spec.rollout = MakeRollout(std::vector<int64_t>{5, 25, 60, 100}, 2, std::nullopt);
  w.d.spec.version = "2.0";
  const Trace t = DriveTo(&w, "2.0");
  EXPECT_EQ(t.percents, (std::vector<int>{5, 25, 60, 100}));
  ASSERT_EQ(t.configs.size(), 4u);
  EXPECT_NE(t.configs[0].find("{address: \"127.0.0.1:1000\", weight: 95}"), std::string::npos);
  EXPECT_NE(t.configs[0].find("{address: \"127.0.0.1:20000\", weight: 5}"), std::string::npos);
  EXPECT_NE(t.configs[2].find("{address: \"127.0.0.1:1002\", weight: 40}"), std::string::npos);
  // Four holds of 2 s on the fake clock, nothing else waited (green was ready at once).
  EXPECT_EQ(w.now - kT0, 4 * seconds(2));
  EXPECT_EQ(w.phase, Phase::kRun);
  EXPECT_EQ(w.s.active_color, kGreen);
  EXPECT_FALSE(w.obs.instances.count("rf/f/blue-0"));
  EXPECT_EQ(w.Decide().reason, "in shape");
}

TEST(FleetRolloutPlan, HoldZeroWritesEveryStepWithoutWaiting) {
  World w;
  w.d.spec.rollout = MakeRollout(std::nullopt, 0, std::nullopt);
  w.d.spec.version = "2.0";
  const Trace t = DriveTo(&w, "2.0");
  EXPECT_EQ(t.percents, (std::vector<int>{10, 50, 100}));  // each weight still applied
  EXPECT_EQ(w.now, kT0);
  EXPECT_EQ(w.s.active_color, kGreen);
  EXPECT_EQ(w.Decide().reason, "in shape");
}

TEST(FleetRolloutPlan, HoldZeroWithoutAFrontNeverWaits) {
  World w;
  w.d.spec.l4_front.reset();
  w.s.front_admin_port = 0;
  w.Converge();
  w.d.spec.rollout = MakeRollout(std::vector<int64_t>{100}, 0, std::nullopt);
  w.d.spec.version = "2.0";
  const Trace t = DriveTo(&w, "2.0");
  EXPECT_TRUE(t.percents.empty());
  EXPECT_EQ(w.now, kT0);
}

TEST(FleetRolloutPlan, ReadyTimeoutFromTheSpecFailsTheGateAndKeepsAllWeightOnBlue) {
  World w;
  w.d.spec.rollout = MakeRollout(std::nullopt, std::nullopt, 5);
  const std::string blue_config = w.obs.front_config;
  w.d.spec.version = "2.0";
  w.Apply(w.Decide());
  w.RunUntilWait(/*ready_on_start=*/false);
  w.now += seconds(5) - milliseconds(1);
  Step st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);
  EXPECT_EQ(st.reason, "waiting for rf/f/green-0 to be ready");
  w.now += milliseconds(1);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kUpdateState);
  EXPECT_EQ(st.phase, Phase::kRollback);
  EXPECT_EQ(st.reason, "GreenNotReady: rf/f/green-0 not ready within 5000 ms");
  EXPECT_EQ(st.next.failed_version, "2.0");
  w.Apply(st);
  w.RunUntilWait();
  EXPECT_EQ(w.phase, Phase::kRun);
  EXPECT_EQ(w.s.active_version, "1.0");
  EXPECT_EQ(w.obs.front_config, blue_config);  // all weight on blue, green never in it
  EXPECT_FALSE(w.obs.instances.count("rf/f/green-0"));
  EXPECT_FALSE(w.obs.instances.count("rf/f/green-1"));
  EXPECT_EQ(w.Decide().reason, "in shape");  // not retried at this generation
  // A longer gate is a spec change: the new generation tries the version again.
  w.d.generation = 2;
  w.d.spec.rollout->ready_timeout_seconds = 120;
  EXPECT_EQ(w.Decide().reason, "begin blue-green upgrade to 2.0");
}

TEST(FleetRolloutPlan, GateFailureAtACustomStepShiftsBackToBlue) {
  World w;
  w.d.spec.rollout = MakeRollout(std::vector<int64_t>{30, 100}, 5, std::nullopt);
  w.d.spec.version = "2.0";
  w.Apply(w.Decide());
  w.RunUntilWait();  // green recorded, started, ready; shift 30 %; weights written
  EXPECT_EQ(w.s.green_percent, 30);
  EXPECT_NE(w.obs.front_config.find("{address: \"127.0.0.1:1000\", weight: 70}"),
            std::string::npos);
  w.now += seconds(4);
  w.SetReady("rf/f/green-1", false);
  Step st = w.Decide();
  EXPECT_EQ(st.reason, "GreenUnready: rf/f/green-1 went unready during the hold at 30%");
  w.Apply(st);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kWriteFrontConfig);
  EXPECT_EQ(st.reason, "weights: all back on blue");
  EXPECT_NE(st.front_config.find("{address: \"127.0.0.1:1000\", weight: 100}"), std::string::npos);
  EXPECT_EQ(st.front_config.find("127.0.0.1:20000"), std::string::npos);
  w.Apply(st);
  w.RunUntilWait();
  EXPECT_EQ(w.phase, Phase::kRun);
  EXPECT_EQ(w.s.active_version, "1.0");
}

// A rollout change (a new generation) in the middle of an upgrade, applied at the next
// decision without restarting or rolling back the upgrade.
struct ChangeRow {
  const char* name;
  const char* step;
  int percent;
  Rollout rollout;
  Millis since_step_start;
  bool green0_ready;
  Action action;
  const char* reason;
};

const ChangeRow kChangeRows[] = {
    {"shorter hold ends the running hold", kStepShift, 10, MakeRollout(std::nullopt, 3, {}),
     seconds(3), true, Action::kUpdateState, "shift 50% to green"},
    {"shorter hold not over yet", kStepShift, 10, MakeRollout(std::nullopt, 3, {}),
     seconds(2), true, Action::kNone, "holding at 10%"},
    {"longer hold keeps holding", kStepShift, 10, MakeRollout(std::nullopt, 60, {}), kHold, true,
     Action::kNone, "holding at 10%"},
    {"hold 0 moves on at once", kStepShift, 10, MakeRollout(std::nullopt, 0, {}), seconds(0),
     true, Action::kUpdateState, "shift 50% to green"},
    {"the weight held stays until its hold ends", kStepShift, 10,
     MakeRollout(std::vector<int64_t>{20, 100}, {}, {}), seconds(0), true, Action::kNone,
     "holding at 10%"},
    {"new steps: the first one above the weight held", kStepShift, 10,
     MakeRollout(std::vector<int64_t>{20, 100}, {}, {}), kHold, true, Action::kUpdateState,
     "shift 20% to green"},
    {"weight held is not a new step", kStepShift, 30, MakeRollout(std::nullopt, {}, {}), kHold,
     true, Action::kUpdateState, "shift 50% to green"},
    {"new steps all below the weight held but 100", kStepShift, 50,
     MakeRollout(std::vector<int64_t>{10, 20, 100}, {}, {}), kHold, true, Action::kUpdateState,
     "shift 100% to green"},
    {"at 100 with new steps: retire", kStepShift, 100,
     MakeRollout(std::vector<int64_t>{40, 100}, {}, {}), kHold, true, Action::kUpdateState,
     "hold at 100% passed; retire blue"},
    {"longer gate keeps waiting", kStepStartGreen, 0, MakeRollout({}, {}, 120), kReadyTimeout,
     false, Action::kNone, "waiting for rf/f/green-0 to be ready"},
    {"shorter gate fails", kStepStartGreen, 0, MakeRollout({}, {}, 5), seconds(5), false,
     Action::kUpdateState, "GreenNotReady: rf/f/green-0 not ready within 5000 ms"},
    {"the first step of the new rollout", kStepStartGreen, 0,
     MakeRollout(std::vector<int64_t>{33, 100}, {}, {}), seconds(1), true, Action::kUpdateState,
     "green ready; shift 33% to green"},
};

TEST(FleetRolloutPlan, RolloutChangeDuringAnUpgradeAppliesAtTheNextDecision) {
  for (const ChangeRow& row : kChangeRows) {
    SCOPED_TRACE(row.name);
    World w = UpgradeWorld(kOpBlueGreen, row.step, row.percent);
    w.d.generation = 2;
    w.d.spec.rollout = row.rollout;
    w.SetReady("rf/f/green-0", row.green0_ready);
    w.now = kT0 + row.since_step_start;
    const Step st = w.Decide();
    EXPECT_EQ(ActionName(st.action), std::string(ActionName(row.action)));
    EXPECT_EQ(st.reason, row.reason);
    if (st.next.operation != kOpRollback) {
      EXPECT_EQ(st.next.operation, kOpBlueGreen);
      EXPECT_FALSE(st.condition);
    }
  }
}

TEST(FleetRolloutPlan, RolloutChangeMidUpgradeFinishesWithTheNewSteps) {
  World w;
  w.d.spec.version = "2.0";
  w.Apply(w.Decide());
  w.RunUntilWait();  // green ready; 10 % written; the default 10 s hold begins
  ASSERT_EQ(w.s.step, kStepShift);
  ASSERT_EQ(w.s.green_percent, 10);
  w.now += seconds(1);
  w.d.generation = 2;
  w.d.spec.rollout = MakeRollout(std::vector<int64_t>{25, 100}, 0, std::nullopt);
  const Trace t = DriveTo(&w, "2.0");
  EXPECT_EQ(t.percents, (std::vector<int>{25, 100}));
  EXPECT_EQ(t.phases, (std::vector<Phase>{Phase::kUpdate, Phase::kRun}));  // no rollback
  EXPECT_EQ(w.now, kT0 + seconds(1));
  EXPECT_EQ(w.s.failed_version, "");
  EXPECT_EQ(w.Decide().reason, "in shape");
}

}  // namespace
}  // namespace grid::mas::fleet
