// The table source in the fleet decision (plan.h): a change of spec.store or
// spec.storeCluster rolled out blue-green, a named cluster's endpoints changing without a
// rollout, an unresolved cluster, a state written before the source was recorded, and a failed
// gate not retried at its generation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mas/fleet/plan.h"
#include "mas/fleet/testing/plan_world.h"

namespace grid::mas::fleet {
namespace {

using std::chrono::milliseconds;
using testing::kOptions;
using testing::kReadyTimeout;
using testing::kSourceA;
using testing::kStoreA;
using testing::World;

constexpr char kStoreB[] = "127.0.0.1:2380";
constexpr char kSourceB[] = "store/127.0.0.1:2380";
constexpr char kClusterEndpoint[] = "127.0.0.1:3379";

std::string EndpointsArg(const runtime::InstanceSpec& spec) {
  for (size_t i = 0; i + 1 < spec.args.size(); ++i) {
    if (spec.args[i] == "--endpoints") return spec.args[i + 1];
  }
  return "";
}

TEST(FleetSourcePlan, TableSourceIdentity) {
  RouterFleetSpec spec;
  EXPECT_EQ(TableSource(spec), "default");
  spec.store = {"127.0.0.1:2", "127.0.0.1:1"};
  EXPECT_EQ(TableSource(spec), "store/127.0.0.1:1,127.0.0.1:2");  // order is no change
  spec.store.clear();
  spec.store_cluster = "orders";
  EXPECT_EQ(TableSource(spec), "cluster/orders");
}

struct Row {
  const char* name;
  void (*change)(World*);
  Action action;
  const char* reason;
  const char* target_source;  // st.next.target_source
};

const Row kRows[] = {
    {"unchanged", [](World*) {}, Action::kNone, "in shape", ""},
    {"spec.store changed", [](World* w) { w->d.spec.store = {kStoreB}; }, Action::kUpdateState,
     "begin blue-green upgrade to table source store/127.0.0.1:2380", kSourceB},
    {"spec.store reordered",
     [](World* w) {
       w->s.active_source = "store/127.0.0.1:2379,127.0.0.1:2380";
       w->d.spec.store = {kStoreB, kStoreA};
     },
     Action::kNone, "in shape", ""},
    {"storeCluster named",
     [](World* w) {
       w->d.spec.store_cluster = "orders";
       w->d.spec.store = {kClusterEndpoint};
     },
     Action::kUpdateState, "begin blue-green upgrade to table source cluster/orders",
     "cluster/orders"},
    {"storeCluster renamed (a switch-over)",
     [](World* w) {
       w->s.active_source = "cluster/orders";
       w->SetCluster("orders-standby", {"127.0.0.1:4379"});
     },
     Action::kUpdateState, "begin blue-green upgrade to table source cluster/orders-standby",
     "cluster/orders-standby"},
    {"same cluster, other member endpoints: no rollout",
     [](World* w) {
       w->s.active_source = "cluster/orders";
       w->SetCluster("orders", {"127.0.0.1:4379", "127.0.0.1:4380"});
     },
     Action::kNone, "in shape", ""},
    {"version and source together: one upgrade",
     [](World* w) {
       w->d.spec.version = "2.0";
       w->SetCluster("orders", {kClusterEndpoint});
     },
     Action::kUpdateState, "begin blue-green upgrade to 2.0 and table source cluster/orders",
     "cluster/orders"},
    {"failed source at the same generation is not retried",
     [](World* w) {
       w->d.spec.store = {kStoreB};
       w->s.failed_version = "1.0";
       w->s.failed_source = kSourceB;
       w->s.failed_generation = 1;
     },
     Action::kNone, "in shape", ""},
    {"failed source at a newer generation is retried",
     [](World* w) {
       w->d.spec.store = {kStoreB};
       w->d.generation = 2;
       w->s.failed_version = "1.0";
       w->s.failed_source = kSourceB;
       w->s.failed_generation = 1;
     },
     Action::kUpdateState, "begin blue-green upgrade to table source store/127.0.0.1:2380",
     kSourceB},
    {"a failure recorded without a source holds at its generation",
     [](World* w) {
       w->d.spec.store = {kStoreB};
       w->s.failed_version = "1.0";
       w->s.failed_generation = 1;
     },
     Action::kNone, "in shape", ""},
    {"unresolved cluster: no rollout, Ready=False",
     [](World* w) { w->SetCluster("orders", {}); }, Action::kUpdateState,
     "table source unavailable: KVCluster \"orders\" not found", ""},
    {"unresolved cluster already reported: wait",
     [](World* w) {
       w->SetCluster("orders", {});
       w->obs.ready_reason = kReasonStoreClusterUnavailable;
     },
     Action::kNone, "waiting for KVCluster orders", ""},
    {"cluster resolves again: Ready=True",
     [](World* w) {
       w->s.active_source = "cluster/orders";
       w->SetCluster("orders", {kClusterEndpoint});
       w->obs.ready_reason = kReasonStoreClusterUnavailable;
     },
     Action::kUpdateState, "run: 2 replicas ready", ""},
};

TEST(FleetSourcePlan, SteadyStateBranches) {
  for (const Row& row : kRows) {
    SCOPED_TRACE(row.name);
    World w;
    row.change(&w);
    const Step st = w.Decide();
    EXPECT_EQ(ActionName(st.action), std::string(ActionName(row.action)));
    EXPECT_EQ(st.reason, row.reason);
    EXPECT_EQ(st.next.target_source, row.target_source);
    if (!std::string(row.target_source).empty()) {
      EXPECT_EQ(st.phase, Phase::kUpdate);
      EXPECT_EQ(st.next.target_endpoints, w.d.spec.store);
    }
  }
}

TEST(FleetSourcePlan, UnresolvedClusterKeepsReplicasAndReportsOnce) {
  World w;
  w.SetCluster("orders", {});
  w.d.spec.version = "2.0";  // an upgrade waits for the source too
  Step st = w.Decide();
  ASSERT_EQ(st.action, Action::kUpdateState);
  EXPECT_EQ(st.phase, Phase::kRun);
  ASSERT_TRUE(st.condition);
  EXPECT_EQ(st.condition->type, kConditionReady);
  EXPECT_EQ(st.condition->status, ConditionStatus::kFalse);
  EXPECT_EQ(st.condition->reason, kReasonStoreClusterUnavailable);
  EXPECT_EQ(st.condition->message, "KVCluster \"orders\" not found");
  w.Apply(st);
  st = w.Decide();
  EXPECT_EQ(st.action, Action::kNone);
  EXPECT_EQ(st.requeue_after, kOptions.source_retry);
  // A crashed replica restarts with the endpoints it had.
  w.obs.instances.erase("rf/f/blue-0");
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kStart);
  EXPECT_EQ(EndpointsArg(st.instance), kStoreA);
  w.Apply(st);
  // Scale out: the new replica copies an active replica's endpoints.
  w.d.spec.replicas = 3;
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kAllocatePorts);
  EXPECT_EQ(st.next.replicas.back().endpoints, std::vector<std::string>{kStoreA});
}

TEST(FleetSourcePlan, UnresolvedClusterBeforeProvisionWaitsInProvision) {
  World w;
  w.s = FleetState{};
  w.phase = Phase::kNone;
  w.obs = Observed{};
  w.SetCluster("orders", {});
  Step st = w.Decide();
  ASSERT_EQ(st.action, Action::kUpdateState);
  EXPECT_EQ(st.phase, Phase::kProvision);
  EXPECT_EQ(st.condition->reason, kReasonStoreClusterUnavailable);
  EXPECT_TRUE(st.next.active_version.empty());
  w.Apply(st);
  EXPECT_EQ(w.Decide().action, Action::kNone);
  w.SetCluster("orders", {kClusterEndpoint});
  st = w.Decide();
  EXPECT_EQ(st.reason, "provision 1.0");
  EXPECT_EQ(st.next.active_source, "cluster/orders");
  w.Apply(st);
  st = w.Decide();
  ASSERT_EQ(st.action, Action::kAllocatePorts);
  EXPECT_EQ(st.next.replicas.back().endpoints, std::vector<std::string>{kClusterEndpoint});
}

TEST(FleetSourcePlan, SameClusterNewReplicasGetTheCurrentMembers) {
  World w;
  w.s.active_source = "cluster/orders";
  w.SetCluster("orders", {"127.0.0.1:4379"});
  w.d.spec.replicas = 3;
  const Step st = w.Decide();
  ASSERT_EQ(st.action, Action::kAllocatePorts);
  EXPECT_EQ(st.next.replicas.back().endpoints, std::vector<std::string>{"127.0.0.1:4379"});
  // The running ones keep theirs (no replacement).
  EXPECT_EQ(st.next.replicas.front().endpoints, std::vector<std::string>{kStoreA});
}

TEST(FleetSourcePlan, StateWithoutSourceAdoptsTheSpecsWithoutARollout) {
  World w;
  w.s.active_source.clear();
  for (Replica& r : w.s.replicas) r.endpoints.clear();
  Step st = w.Decide();
  ASSERT_EQ(st.action, Action::kUpdateState);  // one write records the source
  EXPECT_EQ(st.reason, "run: 2 replicas ready");
  EXPECT_EQ(st.next.active_source, kSourceA);
  for (const Replica& r : st.next.replicas) {
    EXPECT_EQ(r.endpoints, std::vector<std::string>{kStoreA});
  }
  w.Apply(st);
  EXPECT_EQ(w.Decide().reason, "in shape");
  // Through JSON: a state without the fields reads back as the older state did.
  nlohmann::json old = FleetStateToJson(w.s);
  old["fleet"].erase("activeSource");
  for (auto& r : old["fleet"]["replicas"]) r.erase("endpoints");
  auto back = FleetStateFromJson(old);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->active_source, "");
  w.s = *back;
  EXPECT_EQ(w.Decide().next.active_source, kSourceA);
}

TEST(FleetSourcePlan, StateJsonRoundTripWithSources) {
  World w;
  w.s.operation = kOpBlueGreen;
  w.s.step = kStepStartGreen;
  w.s.target_version = "1.0";
  w.s.target_source = kSourceB;
  w.s.target_endpoints = {kStoreB};
  w.s.replicas.push_back(Replica{kGreen, 0, "1.0", 3000, 3001, {kStoreB}});
  w.s.failed_version = "1.0";
  w.s.failed_source = "cluster/x";
  w.s.failed_generation = 3;
  const nlohmann::json j = FleetStateToJson(w.s);
  EXPECT_EQ(j["fleet"]["activeSource"], kSourceA);
  EXPECT_EQ(j["fleet"]["targetSource"], kSourceB);
  EXPECT_EQ(j["fleet"]["replicas"][2]["endpoints"], nlohmann::json::array({kStoreB}));
  auto back = FleetStateFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, w.s);
}

// Drives the world until the upgrade ends, moving the clock over waits.
void RunUpgrade(World* w) {
  for (int i = 0; i < 400 && (w->s.operation == kOpBlueGreen || w->s.operation == kOpRollback);
       ++i) {
    const Step st = w->Decide();
    if (st.action == Action::kNone) w->now += st.requeue_after;
    w->Apply(st);
  }
}

TEST(FleetSourcePlan, SourceChangeRollsOutBlueGreenToTheNewEndpoints) {
  World w;
  w.SetCluster("orders", {kClusterEndpoint});
  w.Apply(w.Decide());
  ASSERT_EQ(w.s.operation, kOpBlueGreen);
  std::vector<std::string> started;  // the --endpoints of every replica started
  bool blue_removed_early = false;
  for (int i = 0; i < 400 && w.s.operation == kOpBlueGreen; ++i) {
    const Step st = w.Decide();
    if (st.action == Action::kStart) started.push_back(EndpointsArg(st.instance));
    if (st.action == Action::kRemove && w.s.step != kStepRetireBlue) blue_removed_early = true;
    if (st.action == Action::kNone) w.now += st.requeue_after;
    w.Apply(st);
  }
  EXPECT_EQ(started, (std::vector<std::string>{kClusterEndpoint, kClusterEndpoint}));
  EXPECT_FALSE(blue_removed_early);
  EXPECT_EQ(w.phase, Phase::kRun);
  EXPECT_EQ(w.s.active_color, kGreen);
  EXPECT_EQ(w.s.active_version, "1.0");
  EXPECT_EQ(w.s.active_source, "cluster/orders");
  EXPECT_TRUE(w.s.target_source.empty());
  ASSERT_EQ(w.s.replicas.size(), 2u);
  for (const Replica& r : w.s.replicas) {
    EXPECT_EQ(r.endpoints, std::vector<std::string>{kClusterEndpoint});
    EXPECT_EQ(EndpointsArg(w.obs.instances.at(ReplicaName("f", r.color, r.index)).spec),
              kClusterEndpoint);
  }
  EXPECT_NE(w.obs.front_config.find("127.0.0.1:20000"), std::string::npos);
  EXPECT_EQ(w.obs.front_config.find("127.0.0.1:1000\""), std::string::npos);
  EXPECT_EQ(w.Decide().reason, "in shape");
}

TEST(FleetSourcePlan, GreenNeverReadyOnTheNewSourceRollsBackAndIsNotRetried) {
  World w;
  w.d.spec.store = {kStoreB};
  w.Apply(w.Decide());
  w.RunUntilWait(/*ready_on_start=*/false);  // green started, never ready
  w.now += kReadyTimeout;
  Step st = w.Decide();
  ASSERT_EQ(st.phase, Phase::kRollback);
  EXPECT_EQ(st.condition->reason, "GreenNotReady");
  EXPECT_EQ(st.condition->message,
            "upgrade to 1.0 with table source store/127.0.0.1:2380 rolled back: rf/f/green-0 "
            "not ready within 60000 ms");
  EXPECT_EQ(st.next.failed_version, "1.0");
  EXPECT_EQ(st.next.failed_source, kSourceB);
  EXPECT_EQ(st.next.failed_generation, 1);
  w.Apply(st);
  RunUpgrade(&w);
  EXPECT_EQ(w.phase, Phase::kRun);
  EXPECT_EQ(w.s.active_source, kSourceA);
  EXPECT_TRUE(w.s.target_endpoints.empty());
  for (const Replica& r : w.s.replicas) {
    EXPECT_EQ(r.color, kBlue);
    EXPECT_EQ(r.endpoints, std::vector<std::string>{kStoreA});
  }
  EXPECT_EQ(w.RunUntilWait(), std::vector<Action>{});
  EXPECT_EQ(w.Decide().reason, "in shape");  // not retried at generation 1
  w.d.generation = 2;                          // any spec change: tried again
  EXPECT_EQ(w.Decide().reason, "begin blue-green upgrade to table source store/127.0.0.1:2380");
}

TEST(FleetSourcePlan, SourceChangedDuringUpgradeRollsBackWithoutRecording) {
  World w;
  w.d.spec.store = {kStoreB};
  w.Apply(w.Decide());
  w.SetCluster("orders", {kClusterEndpoint});
  const Step st = w.Decide();
  EXPECT_EQ(st.phase, Phase::kRollback);
  EXPECT_EQ(st.condition->reason, "SourceChanged");
  EXPECT_EQ(st.next.failed_source, "");
  w.Apply(st);
  RunUpgrade(&w);
  // Then the newest source is rolled out.
  EXPECT_EQ(w.Decide().reason, "begin blue-green upgrade to table source cluster/orders");
}

}  // namespace
}  // namespace grid::mas::fleet
