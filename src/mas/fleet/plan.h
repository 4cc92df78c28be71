// The RouterFleet decision: a pure function from (desired spec, persisted fleet state,
// observed instances, now) to ONE step. No I/O; the reconciler (reconciler.h) observes,
// calls Decide, executes the step and persists the state the step carries.
//
// Instances of fleet F (all under the runtime name prefix "rf/F/"):
//   rf/F/<color>-<n>   a replica ("cattle", RestartPolicy kReplace):
//                      gridrouter --endpoints <store> --prefix <routesPrefix>
//                                 --listen 127.0.0.1:<port> --admin 127.0.0.1:<admin port>
//   rf/F/front         the L4 front (spec.l4Front set): gridrouter l4 --config
//                      {data_dir}/l4.yaml --admin 127.0.0.1:<admin port>
// Colors are "blue" and "green"; the active color serves, the other is the candidate of a
// blue-green upgrade and becomes the active one when the upgrade completes.
//
// The table source: the identity of where the routers read their table (TableSource). A
// change of it (spec.store, spec.storeCluster's name) is rolled out blue-green like a version
// change; a change of the endpoints a named KVCluster resolves to is not (each replica keeps
// the endpoints it was started with; replicas recorded later get the current ones).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "mas/resource/resource.h"
#include "mas/resource/spec.h"
#include "mas/runtime/runtime.h"

namespace grid::mas::fleet {

using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

inline constexpr char kBlue[] = "blue";
inline constexpr char kGreen[] = "green";
inline constexpr char kRouterEngine[] = "gridrouter";
inline constexpr char kReplicaHost[] = "127.0.0.1";
inline constexpr char kFrontConfigFile[] = "l4.yaml";  // in the front's data dir
inline constexpr int kMaxWeight = 100;  // the L4 front's weight range is 0..100
// A port in the state that Action::kAllocatePorts fills with Runtime::AllocatePort.
inline constexpr int kPortToAllocate = -1;
// Operation names (status.operation.name).
inline constexpr char kOpProvision[] = "Provision";
inline constexpr char kOpScale[] = "Scale";
inline constexpr char kOpBlueGreen[] = "BlueGreen";
inline constexpr char kOpRollback[] = "Rollback";
// Steps of BlueGreen / Rollback (status.operation.step).
inline constexpr char kStepStartGreen[] = "StartGreen";  // start + gate on readiness
inline constexpr char kStepShift[] = "Shift";            // hold at greenPercent
inline constexpr char kStepRetireBlue[] = "RetireBlue";
inline constexpr char kStepShiftBack[] = "ShiftBack";
inline constexpr char kStepRemoveGreen[] = "RemoveGreen";
// Condition types.
inline constexpr char kConditionUpgrade[] = "Upgrade";
inline constexpr char kConditionReady[] = "Ready";
inline constexpr char kConditionProgressing[] = "Progressing";  // False: a step's action failed
// Ready=False reasons.
inline constexpr char kReasonNoStore[] = "NoStore";
inline constexpr char kReasonStoreClusterUnavailable[] = "StoreClusterUnavailable";
// Table source identities (TableSource).
inline constexpr char kSourceDefault[] = "default";          // the control plane's own store
inline constexpr char kSourceStorePrefix[] = "store/";       // + spec.store sorted, ","-joined
inline constexpr char kSourceClusterPrefix[] = "cluster/";   // + spec.storeCluster

// The tunables of the decision (RouterFleetOptions carries them). The rollout's own steps,
// hold and gate come from the spec (RolloutPlan).
struct PlanOptions {
  Millis readiness_poll{500};  // requeue delay while waiting on readiness or a hold
  Millis run_resync{10000};    // requeue delay in phase Run (readiness re-observed)
  Millis source_retry{2000};   // requeue delay while spec.storeCluster does not resolve
};

// A blue-green upgrade's rollout: spec.rollout with its defaults (EffectiveRollout).
struct RolloutPlan {
  std::vector<int> steps;   // the green share of the front's weight per step, %, the last 100
  Millis hold{0};           // each step is held (and its gate watched) this long
  Millis ready_timeout{0};  // StartGreen: every green replica ready within this
  bool operator==(const RolloutPlan&) const = default;
};
// Total: values outside the spec's ranges (a spec that escaped validation) are clamped into
// them, and no steps count as [100].
RolloutPlan PlanRollout(const RouterFleetSpec& spec);

// One replica the fleet owns; ports allocated once and kept for its life.
struct Replica {
  std::string color;
  int index = 0;
  std::string version;
  int port = kPortToAllocate;
  int admin_port = kPortToAllocate;
  // The store endpoints ("host:port") it runs with (--endpoints), fixed when it is recorded;
  // empty only in a state written before the field existed (Decide fills it in).
  std::vector<std::string> endpoints = {};
  bool operator==(const Replica&) const = default;
};

struct LogEntry {
  std::string time;  // RFC 3339
  std::string step;
  std::string result;
  bool operator==(const LogEntry&) const = default;
};

// The fleet's persisted state: status.operation (see FleetStateToJson for the layout).
struct FleetState {
  std::string operation;  // "" = none running, else a kOp* name
  std::string step;       // within the operation
  std::string active_color = kBlue;
  std::string active_version;     // "" until the fleet was first initialised
  std::vector<Replica> replicas;  // both colors, ordered by (color, index)
  int front_admin_port = 0;       // 0 = no front; kPortToAllocate = to allocate
  std::string front_version;      // the gridrouter version the front runs (kept for its life)
  int green_percent = 0;          // the candidate's share of the front's weight
  std::string target_version;     // BlueGreen: the candidate's version
  WallTime step_started{};        // when the current step began (timeouts and holds)
  // The table source (TableSource) the active color reads; "" only in a state written before
  // the field existed (Decide adopts the desired source then, without a rollout).
  std::string active_source;
  std::string target_source;               // BlueGreen: the candidate's table source
  std::vector<std::string> target_endpoints;  // BlueGreen: the candidate's endpoints
  std::string failed_version;     // the last version whose blue-green gate failed
  std::string failed_source;      // ... with this table source ("" = any: an older state)
  int64_t failed_generation = 0;  // ... at this spec generation (not retried at it)
  std::vector<LogEntry> log;      // oldest first, bounded by the reconciler
  bool operator==(const FleetState&) const = default;
};

std::string OtherColor(const std::string& color);

nlohmann::json FleetStateToJson(const FleetState& state);
// InvalidArgument naming the field when `operation` is not a fleet state; null → initial.
Result<FleetState> FleetStateFromJson(const nlohmann::json& operation);

// What the reconciler saw of one instance.
struct ObservedInstance {
  runtime::InstanceState state = runtime::InstanceState::kStopped;
  runtime::InstanceSpec spec;
  bool ready = false;  // replicas: admin /readyz answered 200 (probed only while running)
};

struct Observed {
  std::map<std::string, ObservedInstance> instances;  // every instance under "rf/<fleet>/"
  std::string front_config;                           // the front's current l4.yaml, "" when absent
  int64_t observed_generation = 0;  // status.observedGeneration as read with the resource
  std::string ready_reason;         // the reason of the status' Ready condition, "" without one
};

struct Desired {
  std::string name;  // metadata.name
  int64_t generation = 0;
  // Defaulted; spec.store = the endpoints the routers use, resolved by the reconciler (the
  // default store when the spec names none; a KVCluster's members for spec.storeCluster,
  // empty while it does not resolve).
  RouterFleetSpec spec;
  std::string source;        // TableSource of the spec as written; "" = TableSource(spec)
  std::string source_error;  // why spec.storeCluster did not resolve (condition message)
};

// The identity of the spec's table source: "cluster/<storeCluster>", "store/<spec.store
// sorted, joined with ','>" (a reordering is no change), or "default" (the control plane's
// own store, whatever endpoints it is reached by).
std::string TableSource(const RouterFleetSpec& spec);

enum class Action {
  kNone,              // nothing to do now; requeue after `requeue_after` if > 0
  kUpdateState,       // persist `next` (and phase/condition) only
  kAllocatePorts,     // fill every kPortToAllocate in `next` (Runtime::AllocatePort), persist
  kStart,             // Runtime::Start(instance)
  kRemove,            // Runtime::Remove(instance_name, wipe), then persist `next`
  kWriteFrontConfig,  // write `front_config` to the front's l4.yaml; Reload when running
};
const char* ActionName(Action action);

struct Step {
  Action action = Action::kNone;
  runtime::InstanceSpec instance;      // kStart
  std::string instance_name;           // kRemove (and kStart, kWriteFrontConfig: the target)
  std::string front_config;            // kWriteFrontConfig
  FleetState next;                     // the state to persist after the action succeeded
  Phase phase = Phase::kNone;          // the phase to persist
  std::optional<Condition> condition;  // set (SetCondition) with the state
  std::string reason;                  // one line for the log and the operation's step log
  Millis requeue_after{0};             // > 0: reconcile again after this delay
};

// The names of the fleet's instances.
std::string InstancePrefix(const std::string& fleet);  // "rf/<fleet>/"
std::string ReplicaName(const std::string& fleet, const std::string& color, int index);
std::string FrontName(const std::string& fleet);
// The instance spec of a replica / the front.
runtime::InstanceSpec ReplicaSpec(const Desired& desired, const Replica& replica);
runtime::InstanceSpec FrontSpec(const Desired& desired, const FleetState& state);
// The front's l4.yaml for `state` (weights from the operation and step); "" when the spec
// has no front.
std::string RenderFrontConfig(const Desired& desired, const FleetState& state);

// The one step towards `desired`. `phase` is the persisted phase.
//
// The rollout (PlanRollout(desired.spec)) is read at every decision, so a change of
// spec.rollout during an upgrade applies at once, without restarting or rolling back the
// upgrade: the running hold ends at its start + the new hold (a shorter one may end at once),
// the StartGreen gate's deadline is its start + the new ready timeout, and the weight held now
// stays until its hold ends, then moves to the first new step above it (green's share never
// goes down during an upgrade). A converged fleet whose status.observedGeneration lags
// (e.g. only spec.rollout changed) gets one status write that catches it up.
//
// The table source: a change of TableSource (desired.source) begins the same blue-green
// upgrade as a version change (both at once: one upgrade); green replicas start with the
// desired endpoints, recorded in the state (target_endpoints, then per replica). A failed gate
// records the version, the source and the generation; that candidate is not tried again at
// that generation. A source change during an upgrade rolls it back (reason SourceChanged).
// While spec.storeCluster does not resolve (desired.spec.store empty), replicas keep their
// endpoints, no upgrade begins, and the fleet gets Ready=False/StoreClusterUnavailable (phase
// Provision before the first provision, else Run once in shape). A state without an active
// source (written before it was recorded) adopts the desired one without an upgrade.
Step Decide(const Desired& desired, Phase phase, const FleetState& state, const Observed& observed,
            WallTime now, const PlanOptions& options);

}  // namespace grid::mas::fleet
