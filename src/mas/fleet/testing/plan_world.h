// A tiny world for the pure fleet decision (plan.h): a converged fleet "f" and an executor
// that applies steps the way RouterFleetReconciler does, on a fake wall clock. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mas/fleet/plan.h"

namespace grid::mas::fleet::testing {

using runtime::InstanceState;
using std::chrono::milliseconds;

inline constexpr PlanOptions kOptions{milliseconds(500), milliseconds(10000)};
// The default rollout's hold and gate (a spec without spec.rollout).
inline constexpr Millis kHold = std::chrono::seconds(kDefaultRolloutHoldSeconds);
inline constexpr Millis kReadyTimeout = std::chrono::seconds(kDefaultRolloutReadyTimeoutSeconds);
inline constexpr WallTime kT0{std::chrono::hours(500000)};
inline constexpr char kStoreA[] = "127.0.0.1:2379";
inline constexpr char kSourceA[] = "store/127.0.0.1:2379";

// A fleet "f" of 2 blue replicas at 1.0 behind front "edge", converged (phase Run), and a
// tiny executor that applies steps the way the reconciler does.
struct World {
  Desired d;
  FleetState s;
  Phase phase = Phase::kRun;
  Observed obs;
  WallTime now = kT0;
  int next_port = 20000;

  World() {
    d.name = "f";
    d.generation = 1;
    d.spec.replicas = 2;
    d.spec.version = "1.0";
    d.spec.routes_prefix = "/r/";
    d.spec.store = {kStoreA};
    d.spec.l4_front = L4Front{"edge", "127.0.0.1:8443"};
    s.active_version = "1.0";
    s.active_source = kSourceA;
    s.replicas = {Replica{kBlue, 0, "1.0", 1000, 1001, {kStoreA}},
                  Replica{kBlue, 1, "1.0", 1002, 1003, {kStoreA}}};
    s.front_admin_port = 2000;
    s.front_version = "1.0";
    Converge();
  }
  // Every recorded replica running and ready, the front running with the rendered config.
  void Converge() {
    obs = Observed{};
    obs.observed_generation = d.generation;
    for (const Replica& r : s.replicas) {
      obs.instances[ReplicaName("f", r.color, r.index)] =
          ObservedInstance{InstanceState::kRunning, ReplicaSpec(d, r), true};
    }
    if (d.spec.l4_front) {
      obs.instances[FrontName("f")] =
          ObservedInstance{InstanceState::kRunning, FrontSpec(d, s), true};
      obs.front_config = RenderFrontConfig(d, s);
    }
  }
  Step Decide() const { return fleet::Decide(d, phase, s, obs, now, kOptions); }
  // Observes a named KVCluster source: `endpoints` empty = it does not resolve.
  void SetCluster(const std::string& cluster, std::vector<std::string> endpoints) {
    d.spec.store_cluster = cluster;
    d.spec.store = std::move(endpoints);
    d.source = TableSource(d.spec);
    d.source_error = d.spec.store.empty() ? "KVCluster \"" + cluster + "\" not found" : "";
  }
  // Applies `step`: started instances are ready at once unless `ready_on_start` is false.
  void Apply(const Step& st, bool ready_on_start = true) {
    switch (st.action) {
      case Action::kNone:
      case Action::kUpdateState:
        break;
      case Action::kAllocatePorts:
        break;
      case Action::kStart:
        obs.instances[st.instance.name] =
            ObservedInstance{InstanceState::kRunning, st.instance, ready_on_start};
        break;
      case Action::kRemove:
        obs.instances.erase(st.instance_name);
        if (st.instance_name == FrontName("f")) obs.front_config.clear();
        break;
      case Action::kWriteFrontConfig:
        obs.front_config = st.front_config;
        break;
    }
    if (st.action == Action::kNone) return;
    obs.observed_generation = d.generation;  // written with every executed step
    s = st.next;
    if (st.action == Action::kAllocatePorts) {
      for (Replica& r : s.replicas) {
        if (r.port == kPortToAllocate) r.port = next_port++;
        if (r.admin_port == kPortToAllocate) r.admin_port = next_port++;
      }
      if (s.front_admin_port == kPortToAllocate) s.front_admin_port = next_port++;
    }
    phase = st.phase;
    if (st.condition && st.condition->type == kConditionReady) obs.ready_reason = st.condition->reason;
  }
  // Decides and applies until the decision is to wait; returns the actions taken.
  std::vector<Action> RunUntilWait(bool ready_on_start = true, int max_steps = 100) {
    std::vector<Action> actions;
    for (int i = 0; i < max_steps; ++i) {
      Step st = Decide();
      if (st.action == Action::kNone) return actions;
      actions.push_back(st.action);
      Apply(st, ready_on_start);
    }
    ADD_FAILURE() << "no wait after " << max_steps << " steps";
    return actions;
  }
  void SetReady(const std::string& name, bool ready) { obs.instances.at(name).ready = ready; }
};

// A world in the middle of a blue-green upgrade 1.0 -> 2.0: both colors running and ready,
// at `step` with `percent` on green since kT0, the front's config as rendered.
inline World UpgradeWorld(const char* op, const char* step, int percent) {
  World w;
  w.d.spec.version = "2.0";
  w.s.operation = op;
  w.s.step = step;
  w.s.target_version = "2.0";
  w.s.target_source = kSourceA;
  w.s.target_endpoints = {kStoreA};
  w.s.green_percent = percent;
  w.s.step_started = kT0;
  w.s.replicas.push_back(Replica{kGreen, 0, "2.0", 3000, 3001, {kStoreA}});
  w.s.replicas.push_back(Replica{kGreen, 1, "2.0", 3002, 3003, {kStoreA}});
  w.Converge();
  return w;
}

}  // namespace grid::mas::fleet::testing
