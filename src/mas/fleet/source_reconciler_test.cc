// The reconciler and spec.storeCluster: the injected resolver, an unknown cluster reported
// while the replicas keep their endpoints, a switch of the named cluster rolled out to green
// replicas started with the new endpoints, and StoreClusterEndpoints.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/testing/temp_dir.h"
#include "mas/fleet/reconciler.h"
#include "mas/fleet/testing/fakes.h"

namespace grid::mas::fleet {
namespace {

using testing::FakeFleetStore;
using testing::FakeReadiness;
using testing::FakeRuntime;

constexpr char kKey[] = "RouterFleet/f";
constexpr char kStoreA[] = "127.0.0.1:2379";

Resource Fleet(const std::string& store_cluster) {
  Resource r;
  r.metadata.name = "f";
  RouterFleetSpec spec;
  spec.replicas = 2;
  spec.version = "1.0";
  spec.routes_prefix = "/grid/routes/";
  if (store_cluster.empty()) {
    spec.store = {kStoreA};
  } else {
    spec.store_cluster = store_cluster;
  }
  spec.l4_front = L4Front{"edge", "127.0.0.1:8443"};
  spec.rollout = Rollout{std::nullopt, /*hold_seconds=*/1, /*ready_timeout_seconds=*/5};
  r.spec = spec;
  return r;
}

struct Harness {
  grid::testing::TempDir dir{"fleet_source_test"};
  FakeRuntime runtime{dir.path()};
  FakeFleetStore store;
  FakeReadiness probe;
  WallTime now = WallTime(std::chrono::hours(500000));
  std::map<std::string, std::vector<std::string>> clusters;  // the resolver's answers
  std::vector<std::string> resolved;                         // the clusters asked for
  RouterFleetOptions options;
  std::unique_ptr<RouterFleetReconciler> reconciler;

  Harness() {
    options.now = [this] { return now; };
    options.plan.source_retry = options.plan.run_resync;  // Drive stops on either wait
    options.resolve_store_cluster =
        [this](const std::string& cluster) -> Result<std::vector<std::string>> {
      resolved.push_back(cluster);
      auto it = clusters.find(cluster);
      if (it == clusters.end()) return NotFound("KVCluster \"" + cluster + "\" not found");
      return it->second;
    };
    reconciler = std::make_unique<RouterFleetReconciler>(static_cast<FleetStore*>(&store), &runtime,
                                                         &probe, options);
  }
  Resource Current() { return store.Current("f"); }
  FleetState State() { return FleetStateFromJson(Current().status.operation).value(); }
  void Drive(int max_passes = 300) {
    for (int i = 0; i < max_passes; ++i) {
      auto r = reconciler->Reconcile(kKey);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (r->requeue_after >= options.plan.run_resync) return;
      if (r->requeue_after > kNextStepDelay) now += r->requeue_after;
    }
    FAIL() << "not settled after " << max_passes << " passes";
  }
  // "--endpoints" of every replica the runtime runs, by name.
  std::map<std::string, std::string> ReplicaEndpoints() {
    std::map<std::string, std::string> out;
    for (const std::string& n : runtime.Names()) {
      if (n == "rf/f/front") continue;
      out[n] = runtime.Get(n)->spec.args.at(1);
    }
    return out;
  }
};

TEST(StoreClusterEndpoints, DropsTheSchemeAndMembersWithoutAURL) {
  ResourceStatus status;
  status.members = {{"m0", "1", "http://127.0.0.1:2379", "", "3.4", true},
                    {"m1", "2", "", "", "3.4", false},
                    {"m2", "3", "127.0.0.1:2381/", "", "3.4", true}};
  EXPECT_EQ(StoreClusterEndpoints(status),
            (std::vector<std::string>{"127.0.0.1:2379", "127.0.0.1:2381"}));
  EXPECT_TRUE(StoreClusterEndpoints(ResourceStatus{}).empty());
}

TEST(RouterFleetSource, UnknownClusterIsReportedAndReplicasKeepTheirEndpoints) {
  Harness h;
  h.store.Put(Fleet(""));
  h.Drive();
  ASSERT_EQ(h.Current().status.phase, Phase::kRun);
  const std::map<std::string, std::string> before = h.ReplicaEndpoints();
  ASSERT_EQ(before.size(), 2u);
  for (const auto& [name, endpoints] : before) EXPECT_EQ(endpoints, kStoreA) << name;

  h.store.Put(Fleet("orders"));  // not known to the resolver
  h.Drive();
  EXPECT_EQ(h.resolved.back(), "orders");
  const Resource r = h.Current();
  EXPECT_EQ(r.status.phase, Phase::kRun);
  const Condition* ready = FindCondition(r.status, kConditionReady);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, ConditionStatus::kFalse);
  EXPECT_EQ(ready->reason, kReasonStoreClusterUnavailable);
  EXPECT_NE(ready->message.find("KVCluster \"orders\""), std::string::npos) << ready->message;
  EXPECT_EQ(h.ReplicaEndpoints(), before);
  EXPECT_EQ(h.State().active_source, "store/127.0.0.1:2379");

  // The cluster appears: one blue-green upgrade onto its members, Ready again.
  h.clusters["orders"] = {"127.0.0.1:3379", "127.0.0.1:3380"};
  h.Drive();
  const FleetState s = h.State();
  EXPECT_EQ(s.active_source, "cluster/orders");
  EXPECT_EQ(s.active_color, kGreen);
  const std::map<std::string, std::string> after = h.ReplicaEndpoints();
  EXPECT_EQ(after, (std::map<std::string, std::string>{
                       {"rf/f/green-0", "127.0.0.1:3379,127.0.0.1:3380"},
                       {"rf/f/green-1", "127.0.0.1:3379,127.0.0.1:3380"}}));
  const Resource done = h.Current();
  EXPECT_EQ(FindCondition(done.status, kConditionReady)->reason, "AllReady");
  EXPECT_EQ(FindCondition(done.status, kConditionUpgrade)->reason, "Completed");
}

TEST(RouterFleetSource, SwitchOverOfTheNamedClusterStartsGreenWithTheStandbysEndpoints) {
  Harness h;
  h.clusters["orders"] = {"127.0.0.1:3379"};
  h.clusters["orders-standby"] = {"127.0.0.1:4379"};
  h.store.Put(Fleet("orders"));
  h.Drive();
  ASSERT_EQ(h.Current().status.phase, Phase::kRun);
  EXPECT_EQ(h.ReplicaEndpoints(), (std::map<std::string, std::string>{
                                      {"rf/f/blue-0", "127.0.0.1:3379"},
                                      {"rf/f/blue-1", "127.0.0.1:3379"}}));
  // A member replacement in the same cluster: no rollout, nothing restarted.
  h.clusters["orders"] = {"127.0.0.1:3390"};
  const size_t calls = h.runtime.calls().size();
  h.Drive();
  EXPECT_EQ(h.runtime.calls().size(), calls);
  // The switch-over renames the source: green starts on the standby, blue retires.
  h.store.Put(Fleet("orders-standby"));
  h.Drive();
  EXPECT_EQ(h.ReplicaEndpoints(), (std::map<std::string, std::string>{
                                      {"rf/f/green-0", "127.0.0.1:4379"},
                                      {"rf/f/green-1", "127.0.0.1:4379"}}));
  EXPECT_EQ(h.State().active_source, "cluster/orders-standby");
  EXPECT_EQ(h.State().active_version, "1.0");
}

TEST(RouterFleetSource, WithoutAResolverANamedClusterIsUnavailable) {
  Harness h;
  h.options.resolve_store_cluster = nullptr;
  h.reconciler = std::make_unique<RouterFleetReconciler>(static_cast<FleetStore*>(&h.store),
                                                         &h.runtime, &h.probe, h.options);
  h.store.Put(Fleet("orders"));
  h.Drive();
  const Resource r = h.Current();
  EXPECT_EQ(r.status.phase, Phase::kProvision);
  const Condition* ready = FindCondition(r.status, kConditionReady);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->reason, kReasonStoreClusterUnavailable);
  EXPECT_EQ(ready->message,
            "KVCluster \"orders\" (spec.storeCluster): the controller cannot resolve KVClusters");
  EXPECT_TRUE(h.runtime.Names().empty());
}

}  // namespace
}  // namespace grid::mas::fleet
