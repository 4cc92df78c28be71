#include "mas/fleet/plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mas/fleet/testing/plan_world.h"

namespace grid::mas::fleet {
namespace {

using runtime::InstanceState;
using std::chrono::milliseconds;
using testing::kHold;
using testing::kOptions;
using testing::kReadyTimeout;
using testing::kT0;
using testing::UpgradeWorld;
using testing::World;

TEST(FleetPlan, NoStoreFailsOnceThenWaits) {
  World w;
  w.d.spec.store.clear();
  Step st = w.Decide();
  EXPECT_EQ(st.action, Action::kUpdateState);
  EXPECT_EQ(st.phase, Phase::kFailed);
  ASSERT_TRUE(st.condition);
  EXPECT_EQ(st.condition->reason, "NoStore");
  w.Apply(st);
  st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);
  EXPECT_EQ(st.requeue_after, kOptions.run_resync);
}

TEST(FleetPlan, FirstPassInitialisesProvision) {
  World w;
  w.s = FleetState{};
  w.phase = Phase::kNone;
  Step st = w.Decide();
  EXPECT_EQ(st.action, Action::kUpdateState);
  EXPECT_EQ(st.phase, Phase::kProvision);
  EXPECT_EQ(st.next.operation, kOpProvision);
  EXPECT_EQ(st.next.active_version, "1.0");
  EXPECT_EQ(st.next.active_color, kBlue);
}

TEST(FleetPlan, ProvisionRecordsStartsWaitsThenFrontThenRun) {
  World w;
  w.s = FleetState{};
  w.phase = Phase::kNone;
  w.obs = Observed{};
  w.Apply(w.Decide());  // init
  Step st = w.Decide();
  ASSERT_EQ(st.action, Action::kAllocatePorts);
  ASSERT_EQ(st.next.replicas.size(), 1u);
  EXPECT_EQ(st.next.replicas[0], (Replica{kBlue, 0, "1.0", kPortToAllocate, kPortToAllocate,
                                             {testing::kStoreA}}));
  w.Apply(st);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kAllocatePorts);  // the second record before any start
  w.Apply(st);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kStart);
  EXPECT_EQ(st.instance.name, "rf/f/blue-0");
  EXPECT_EQ(st.instance.engine, "gridrouter");
  EXPECT_EQ(st.instance.restart, runtime::RestartPolicy::kReplace);
  EXPECT_EQ(st.instance.args, (std::vector<std::string>{"--endpoints", "127.0.0.1:2379", "--prefix",
                                                        "/r/", "--listen", "127.0.0.1:20000",
                                                        "--admin", "127.0.0.1:20001"}));
  w.Apply(st, /*ready_on_start=*/false);
  w.Apply(w.Decide(), false);  // start blue-1
  st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);  // not ready: no front yet
  EXPECT_EQ(st.requeue_after, kOptions.readiness_poll);
  EXPECT_EQ(st.reason, "waiting for rf/f/blue-0 to be ready");
  w.SetReady("rf/f/blue-0", true);
  w.SetReady("rf/f/blue-1", true);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kAllocatePorts);
  EXPECT_EQ(st.next.front_admin_port, kPortToAllocate);
  w.Apply(st);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kWriteFrontConfig);  // config before the process
  EXPECT_NE(st.front_config.find("{address: \"127.0.0.1:20000\", weight: 100}"), std::string::npos);
  EXPECT_NE(st.front_config.find("{address: \"127.0.0.1:20002\", weight: 100}"), std::string::npos);
  EXPECT_NE(st.front_config.find("- name: edge\n    listen: \"127.0.0.1:8443\""),
            std::string::npos);
  w.Apply(st);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kStart);
  EXPECT_EQ(st.instance.args, (std::vector<std::string>{"l4", "--config", "{data_dir}/l4.yaml",
                                                        "--admin", "127.0.0.1:20004"}));
  EXPECT_EQ(st.instance.restart, runtime::RestartPolicy::kInPlace);
  w.Apply(st, /*ready_on_start=*/false);
  st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);  // the front's listener is not bound yet: not Run
  EXPECT_EQ(st.reason, "waiting for rf/f/front to be ready");
  w.SetReady("rf/f/front", true);
  st = w.Decide();
  EXPECT_EQ(st.action, Action::kUpdateState);
  EXPECT_EQ(st.phase, Phase::kRun);
  EXPECT_EQ(st.next.operation, "");
  w.Apply(st);
  st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);
  EXPECT_EQ(st.requeue_after, kOptions.run_resync);
}

TEST(FleetPlan, ConvergedRunWaits) {
  World w;
  Step st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);
  EXPECT_EQ(st.reason, "in shape");
}

// One branch per row: a change to the converged world and the step it must produce.
struct Row {
  const char* name;
  void (*change)(World*);
  Action action;
  const char* instance;  // the instance acted on, "" when none
  const char* reason;
};

const Row kSteadyRows[] = {
    {"replica gone", [](World* w) { w->obs.instances.erase("rf/f/blue-1"); }, Action::kStart,
     "rf/f/blue-1", "start rf/f/blue-1"},
    {"replica stopped",
     [](World* w) { w->obs.instances.at("rf/f/blue-0").state = InstanceState::kStopped; },
     Action::kStart, "rf/f/blue-0", "start rf/f/blue-0"},
    {"replica in back-off is left to the runtime",
     [](World* w) { w->obs.instances.at("rf/f/blue-0").state = InstanceState::kBackoff; },
     Action::kNone, "", "waiting for rf/f/blue-0 to be ready"},
    {"routes prefix changed: replace one", [](World* w) { w->d.spec.routes_prefix = "/s/"; },
     Action::kRemove, "rf/f/blue-0", "replace rf/f/blue-0: spec changed"},
    {"routes prefix changed, other replica unready: wait",
     [](World* w) {
       w->d.spec.routes_prefix = "/s/";
       w->SetReady("rf/f/blue-1", false);
     },
     Action::kNone, "", "waiting for rf/f/blue-1 to be ready"},
    {"front config lost", [](World* w) { w->obs.front_config.clear(); }, Action::kWriteFrontConfig,
     "rf/f/front", "write rf/f/front weights"},
    {"front gone", [](World* w) { w->obs.instances.erase("rf/f/front"); }, Action::kStart,
     "rf/f/front", "start rf/f/front"},
    {"front running but not serving (listener not bound): wait",
     [](World* w) { w->SetReady("rf/f/front", false); }, Action::kNone, "",
     "waiting for rf/f/front to be ready"},
    {"front listener moved", [](World* w) { w->d.spec.l4_front->listen = "127.0.0.1:9443"; },
     Action::kRemove, "rf/f/front", "restart rf/f/front: listener changed"},
    {"front unset", [](World* w) { w->d.spec.l4_front.reset(); }, Action::kRemove, "rf/f/front",
     "remove rf/f/front: spec.l4Front unset"},
    {"scale out", [](World* w) { w->d.spec.replicas = 3; }, Action::kAllocatePorts, "",
     "add a blue replica"},
    {"scale in: front first", [](World* w) { w->d.spec.replicas = 1; }, Action::kWriteFrontConfig,
     "rf/f/front", "write rf/f/front weights"},
    {"leftover green record",
     [](World* w) {
       w->s.replicas.push_back(Replica{kGreen, 0, "2.0", 3000, 3001});
       w->Converge();
     },
     Action::kRemove, "rf/f/green-0", "remove leftover rf/f/green-0"},
    {"unknown instance", [](World* w) { w->obs.instances["rf/f/blue-7"] = ObservedInstance{}; },
     Action::kRemove, "rf/f/blue-7", "remove unknown instance rf/f/blue-7"},
    {"new version", [](World* w) { w->d.spec.version = "2.0"; }, Action::kUpdateState, "",
     "begin blue-green upgrade to 2.0"},
    {"failed version at the same generation is not retried",
     [](World* w) {
       w->d.spec.version = "2.0";
       w->s.failed_version = "2.0";
       w->s.failed_generation = 1;
     },
     Action::kNone, "", "in shape"},
    {"failed version at a newer generation is retried",
     [](World* w) {
       w->d.spec.version = "2.0";
       w->d.generation = 2;
       w->s.failed_version = "2.0";
       w->s.failed_generation = 1;
     },
     Action::kUpdateState, "", "begin blue-green upgrade to 2.0"},
    {"phase not yet Run", [](World* w) { w->phase = Phase::kScale; }, Action::kUpdateState, "",
     "run: 2 replicas ready"},
    {"only the rollout changed: observedGeneration caught up",
     [](World* w) {
       w->d.generation = 2;
       w->d.spec.rollout = Rollout{std::vector<int64_t>{50, 100}, 1, 5};
     },
     Action::kUpdateState, "", "run: 2 replicas ready"},
};

TEST(FleetPlan, SteadyStateBranches) {
  for (const Row& row : kSteadyRows) {
    SCOPED_TRACE(row.name);
    World w;
    row.change(&w);
    Step st = w.Decide();
    EXPECT_EQ(ActionName(st.action), std::string(ActionName(row.action)));
    EXPECT_EQ(st.instance_name, row.instance);
    EXPECT_EQ(st.reason, row.reason);
  }
}

struct UpgradeRow {
  const char* name;
  const char* op;
  const char* step;
  int percent;
  void (*change)(World*);
  Action action;
  const char* instance;
  const char* reason;
};

const UpgradeRow kUpgradeRows[] = {
    {"start: green record missing", kOpBlueGreen, kStepStartGreen, 0,
     [](World* w) {
       w->s.replicas.pop_back();
       w->Converge();
     },
     Action::kAllocatePorts, "", "add a green replica"},
    {"start: green not running", kOpBlueGreen, kStepStartGreen, 0,
     [](World* w) { w->obs.instances.erase("rf/f/green-1"); }, Action::kStart, "rf/f/green-1",
     "start rf/f/green-1"},
    {"start: blue gone is restarted first", kOpBlueGreen, kStepStartGreen, 0,
     [](World* w) { w->obs.instances.erase("rf/f/blue-0"); }, Action::kStart, "rf/f/blue-0",
     "start rf/f/blue-0"},
    {"start: green not ready before the deadline", kOpBlueGreen, kStepStartGreen, 0,
     [](World* w) { w->SetReady("rf/f/green-0", false); }, Action::kNone, "",
     "waiting for rf/f/green-0 to be ready"},
    {"start: green not ready at the deadline", kOpBlueGreen, kStepStartGreen, 0,
     [](World* w) {
       w->SetReady("rf/f/green-0", false);
       w->now = kT0 + kReadyTimeout;
     },
     Action::kUpdateState, "", "GreenNotReady: rf/f/green-0 not ready within 60000 ms"},
    {"start: green cannot start by the deadline", kOpBlueGreen, kStepStartGreen, 0,
     [](World* w) {
       w->obs.instances.at("rf/f/green-1").state = InstanceState::kFailed;
       w->now = kT0 + kReadyTimeout;
     },
     Action::kUpdateState, "", "GreenNotReady: rf/f/green-1 not ready within 60000 ms"},
    {"start: green record missing at the deadline", kOpBlueGreen, kStepStartGreen, 0,
     [](World* w) {
       w->s.replicas.pop_back();
       w->Converge();
       w->now = kT0 + kReadyTimeout;
     },
     Action::kUpdateState, "", "GreenNotReady: rf/f/green-1 not ready within 60000 ms"},
    {"start: all green ready", kOpBlueGreen, kStepStartGreen, 0, [](World*) {},
     Action::kUpdateState, "", "green ready; shift 10% to green"},
    {"shift: green unready", kOpBlueGreen, kStepShift, 50,
     [](World* w) { w->SetReady("rf/f/green-0", false); }, Action::kUpdateState, "",
     "GreenUnready: rf/f/green-0 went unready during the hold at 50%"},
    {"shift: green in back-off", kOpBlueGreen, kStepShift, 10,
     [](World* w) { w->obs.instances.at("rf/f/green-1").state = InstanceState::kBackoff; },
     Action::kUpdateState, "", "GreenUnready: rf/f/green-1 went unready during the hold at 10%"},
    {"shift: weights not applied", kOpBlueGreen, kStepShift, 10,
     [](World* w) { w->obs.front_config = "old"; }, Action::kWriteFrontConfig, "rf/f/front",
     "weights: 10% on green"},
    {"shift: holding", kOpBlueGreen, kStepShift, 10, [](World*) {}, Action::kNone, "",
     "holding at 10%"},
    {"shift: hold at 10 over", kOpBlueGreen, kStepShift, 10,
     [](World* w) { w->now = kT0 + kHold; }, Action::kUpdateState, "",
     "shift 50% to green"},
    {"shift: hold at 100 over", kOpBlueGreen, kStepShift, 100,
     [](World* w) { w->now = kT0 + kHold; }, Action::kUpdateState, "",
     "hold at 100% passed; retire blue"},
    {"spec version changed", kOpBlueGreen, kStepShift, 50,
     [](World* w) { w->d.spec.version = "3.0"; }, Action::kUpdateState, "",
     "VersionChanged: spec.version is now 3.0"},
    {"retire: weights first", kOpBlueGreen, kStepRetireBlue, 100,
     [](World* w) { w->obs.front_config = "old"; }, Action::kWriteFrontConfig, "rf/f/front",
     "weights: all on green"},
    {"retire: remove blue", kOpBlueGreen, kStepRetireBlue, 100, [](World*) {}, Action::kRemove,
     "rf/f/blue-1", "retire rf/f/blue-1"},
    {"retire: done", kOpBlueGreen, kStepRetireBlue, 100,
     [](World* w) {
       w->s.replicas.erase(w->s.replicas.begin(), w->s.replicas.begin() + 2);
       w->Converge();
     },
     Action::kUpdateState, "", "upgrade to 2.0 complete"},
    {"rollback: weights first", kOpRollback, kStepShiftBack, 0,
     [](World* w) { w->obs.front_config = "old"; }, Action::kWriteFrontConfig, "rf/f/front",
     "weights: all back on blue"},
    {"rollback: remove green", kOpRollback, kStepShiftBack, 0, [](World*) {}, Action::kRemove,
     "rf/f/green-1", "remove rf/f/green-1"},
    {"rollback: done", kOpRollback, kStepRemoveGreen, 0,
     [](World* w) {
       w->s.replicas.resize(2);
       w->Converge();
     },
     Action::kUpdateState, "", "rollback complete"},
};

TEST(FleetPlan, UpgradeBranches) {
  for (const UpgradeRow& row : kUpgradeRows) {
    SCOPED_TRACE(row.name);
    World w = UpgradeWorld(row.op, row.step, row.percent);
    row.change(&w);
    Step st = w.Decide();
    EXPECT_EQ(ActionName(st.action), std::string(ActionName(row.action)));
    EXPECT_EQ(st.instance_name, row.instance);
    EXPECT_EQ(st.reason, row.reason);
  }
}

TEST(FleetPlan, ScaleInMovesWeightThenRemovesHighestIndex) {
  World w;
  w.d.spec.replicas = 1;
  Step st = w.Decide();
  ASSERT_EQ(st.action, Action::kWriteFrontConfig);
  EXPECT_EQ(st.front_config.find("127.0.0.1:1002"), std::string::npos);
  w.Apply(st);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kRemove);
  EXPECT_EQ(st.instance_name, "rf/f/blue-1");
  EXPECT_EQ(st.phase, Phase::kScale);
  EXPECT_EQ(st.next.operation, kOpScale);
  EXPECT_EQ(st.next.replicas.size(), 1u);
  w.Apply(st);
  st = w.Decide();
  EXPECT_EQ(st.phase, Phase::kRun);
  EXPECT_EQ(st.next.operation, "");
}

TEST(FleetPlan, BlueGreenSuccessShiftsTenFiftyHundredThenRetiresBlue) {
  World w;
  w.d.spec.version = "2.0";
  w.Apply(w.Decide());
  EXPECT_EQ(w.phase, Phase::kUpdate);
  EXPECT_EQ(w.s.operation, kOpBlueGreen);
  EXPECT_EQ(w.s.step, kStepStartGreen);
  // Green records and starts; started not ready.
  EXPECT_EQ(w.RunUntilWait(/*ready_on_start=*/false),
            (std::vector<Action>{Action::kAllocatePorts, Action::kAllocatePorts, Action::kStart,
                                 Action::kStart}));
  EXPECT_EQ(w.obs.instances.at("rf/f/green-1").spec.version, "2.0");
  Step st = w.Decide();
  EXPECT_EQ(st.reason, "waiting for rf/f/green-0 to be ready");
  w.SetReady("rf/f/green-0", true);
  w.SetReady("rf/f/green-1", true);
  std::vector<int> percents;
  std::vector<std::string> configs;
  for (int i = 0; i < 400 && w.s.operation == kOpBlueGreen; ++i) {
    st = w.Decide();
    if (st.action == Action::kWriteFrontConfig) {
      percents.push_back(w.s.green_percent);
      configs.push_back(st.front_config);
    }
    if (st.action == Action::kNone) {
      EXPECT_LE(st.requeue_after, kOptions.readiness_poll);
      w.now += st.requeue_after;
    }
    w.Apply(st);
  }
  EXPECT_EQ(percents, (std::vector<int>{10, 50, 100, 100}));
  ASSERT_EQ(configs.size(), 4u);
  EXPECT_NE(configs[0].find("{address: \"127.0.0.1:1000\", weight: 90}"), std::string::npos);
  EXPECT_NE(configs[0].find("{address: \"127.0.0.1:20000\", weight: 10}"), std::string::npos);
  EXPECT_NE(configs[1].find("{address: \"127.0.0.1:1002\", weight: 50}"), std::string::npos);
  EXPECT_NE(configs[2].find("{address: \"127.0.0.1:1000\", weight: 0}"), std::string::npos);
  EXPECT_EQ(configs[3].find("127.0.0.1:1000"), std::string::npos);  // blue out, then retired
  EXPECT_EQ(w.phase, Phase::kRun);
  EXPECT_EQ(w.s.active_color, kGreen);
  EXPECT_EQ(w.s.active_version, "2.0");
  EXPECT_FALSE(w.obs.instances.count("rf/f/blue-0"));
  EXPECT_FALSE(w.obs.instances.count("rf/f/blue-1"));
  EXPECT_EQ(w.Decide().reason, "in shape");
  // Each hold lasted at least the hold period.
  EXPECT_GE(w.now - kT0, 3 * kHold);
}

TEST(FleetPlan, HoldIsCountedFromTheWeightWrite) {
  World w;
  w.s.operation = kOpBlueGreen;
  w.s.step = kStepShift;
  w.s.target_version = "1.1";
  w.d.spec.version = "1.1";
  w.s.green_percent = 50;
  w.s.replicas.push_back(Replica{kGreen, 0, "1.1", 3000, 3001});
  w.s.replicas.push_back(Replica{kGreen, 1, "1.1", 3002, 3003});
  w.s.step_started = kT0 - milliseconds(100000);
  w.Converge();
  w.obs.front_config = "stale";
  Step st = w.Decide();
  ASSERT_EQ(st.action, Action::kWriteFrontConfig);
  EXPECT_EQ(st.next.step_started, w.now);
  w.Apply(st);
  w.now += kHold - milliseconds(1);
  st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);
  EXPECT_EQ(st.requeue_after, milliseconds(1));
  w.now += milliseconds(1);
  st = w.Decide();
  EXPECT_EQ(st.action, Action::kUpdateState);
  EXPECT_EQ(st.next.green_percent, 100);
}

TEST(FleetPlan, GreenNeverReadyRollsBackAndRecordsTheVersion) {
  World w;
  w.d.spec.version = "2.0";
  w.Apply(w.Decide());
  w.RunUntilWait(/*ready_on_start=*/false);
  w.now += kReadyTimeout - milliseconds(1);
  Step st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);
  EXPECT_EQ(st.requeue_after, milliseconds(1));
  w.now += milliseconds(1);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kUpdateState);
  EXPECT_EQ(st.phase, Phase::kRollback);
  EXPECT_EQ(st.next.failed_version, "2.0");
  EXPECT_EQ(st.next.failed_generation, 1);
  ASSERT_TRUE(st.condition);
  EXPECT_EQ(st.condition->status, ConditionStatus::kFalse);
  EXPECT_EQ(st.condition->reason, "GreenNotReady");
  EXPECT_EQ(st.condition->message,
            "upgrade to 2.0 rolled back: rf/f/green-0 not ready within 60000 ms");
  w.Apply(st);
  // Front unchanged (green never got weight): green removed, then Run.
  EXPECT_EQ(w.RunUntilWait(),
            (std::vector<Action>{Action::kRemove, Action::kRemove, Action::kUpdateState}));
  EXPECT_EQ(w.phase, Phase::kRun);
  EXPECT_EQ(w.s.active_version, "1.0");
  EXPECT_EQ(w.s.replicas.size(), 2u);
  EXPECT_EQ(w.Decide().reason, "in shape");  // 2.0 is not retried at generation 1
}

TEST(FleetPlan, GreenUnreadyDuringHoldShiftsBackToBlue) {
  World w;
  w.d.spec.version = "2.0";
  w.Apply(w.Decide());
  w.RunUntilWait();
  Step st = w.Decide();  // green ready: shift 10 %
  ASSERT_EQ(st.next.step, kStepShift);
  w.Apply(st);
  w.Apply(w.Decide());  // write the 10 % weights
  EXPECT_NE(w.obs.front_config.find("weight: 10}"), std::string::npos);
  w.SetReady("rf/f/green-1", false);
  st = w.Decide();
  ASSERT_TRUE(st.condition);
  EXPECT_EQ(st.condition->reason, "GreenUnready");
  EXPECT_EQ(st.reason, "GreenUnready: rf/f/green-1 went unready during the hold at 10%");
  w.Apply(st);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kWriteFrontConfig);  // all weight back on blue first
  EXPECT_EQ(st.front_config.find("127.0.0.1:20000"), std::string::npos);
  EXPECT_NE(st.front_config.find("{address: \"127.0.0.1:1000\", weight: 100}"), std::string::npos);
  w.Apply(st);
  w.RunUntilWait();
  EXPECT_EQ(w.phase, Phase::kRun);
  EXPECT_FALSE(w.obs.instances.count("rf/f/green-0"));
  EXPECT_EQ(w.obs.front_config, RenderFrontConfig(w.d, w.s));
}

TEST(FleetPlan, VersionChangedDuringUpgradeRollsBackWithoutRecording) {
  World w;
  w.d.spec.version = "2.0";
  w.Apply(w.Decide());
  w.d.spec.version = "1.0";
  Step st = w.Decide();
  EXPECT_EQ(st.phase, Phase::kRollback);
  EXPECT_EQ(st.condition->reason, "VersionChanged");
  EXPECT_EQ(st.next.failed_version, "");
}

TEST(FleetPlan, NoFrontUpgradeStillHoldsEachStep) {
  World w;
  w.d.spec.l4_front.reset();
  w.s.front_admin_port = 0;
  w.Converge();
  w.d.spec.version = "2.0";
  for (int i = 0; i < 400 && w.s.active_version != "2.0"; ++i) {
    Step st = w.Decide();
    EXPECT_NE(st.action, Action::kWriteFrontConfig);
    if (st.action == Action::kNone) w.now += st.requeue_after;
    w.Apply(st);
  }
  EXPECT_EQ(w.s.active_version, "2.0");
  EXPECT_GE(w.now - kT0, 3 * kHold);
}

TEST(FleetPlan, StateJsonRoundTrip) {
  World w;
  w.s.operation = kOpBlueGreen;
  w.s.step = kStepShift;
  w.s.green_percent = 50;
  w.s.target_version = "2.0";
  w.s.failed_version = "1.5";
  w.s.failed_generation = 4;
  w.s.step_started = kT0 + milliseconds(7);
  w.s.log = {LogEntry{"2026-01-01T00:00:00Z", "BlueGreen/Shift", "shift 50% to green"}};
  const nlohmann::json j = FleetStateToJson(w.s);
  EXPECT_EQ(j["name"], "BlueGreen");
  EXPECT_EQ(j["step"], "Shift");
  EXPECT_EQ(j["weights"], (nlohmann::json{{"blue", 50}, {"green", 50}}));
  auto back = FleetStateFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, w.s);
  EXPECT_EQ(FleetStateFromJson(nlohmann::json()).value(), FleetState{});
  nlohmann::json bad = j;
  bad["fleet"]["replicas"][0]["port"] = "x";
  EXPECT_EQ(FleetStateFromJson(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FleetStateFromJson(bad).status().message().rfind("status.operation.fleet.replicas", 0),
            0u);
  bad = j;
  bad["step"] = "Dance";
  EXPECT_EQ(FleetStateFromJson(bad).status().message(),
            "status.operation: unknown operation/step \"BlueGreen/Dance\"");
  bad = j;
  bad["fleet"]["greenPercent"] = 101;
  EXPECT_EQ(FleetStateFromJson(bad).status().message(),
            "status.operation.fleet.greenPercent: must be 0..100, got 101");
}

}  // namespace
}  // namespace grid::mas::fleet
