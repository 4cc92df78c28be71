#include "mas/fleet/plan.h"

#include <algorithm>
#include <set>
#include <utility>

#include "common/check.h"

namespace grid::mas::fleet {
namespace {

using runtime::InstanceState;

std::string HostPort(int port) { return std::string(kReplicaHost) + ":" + std::to_string(port); }

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

int64_t ToMillis(WallTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

// Replicas of `color`, by index.
std::vector<Replica> OfColor(const FleetState& state, const std::string& color) {
  std::vector<Replica> out;
  for (const Replica& r : state.replicas) {
    if (r.color == color) out.push_back(r);
  }
  std::sort(out.begin(), out.end(),
            [](const Replica& a, const Replica& b) { return a.index < b.index; });
  return out;
}

bool InBlueGreen(const FleetState& s) { return s.operation == kOpBlueGreen; }
bool InRollback(const FleetState& s) { return s.operation == kOpRollback; }

// How many active replicas the fleet keeps now: the spec's count, except while a blue-green
// upgrade or its rollback runs (scaling waits for it).
size_t KeptCount(const Desired& d, const FleetState& s) {
  if (InBlueGreen(s) || InRollback(s)) return OfColor(s, s.active_color).size();
  return static_cast<size_t>(d.spec.replicas.value_or(kDefaultRouterReplicas));
}

std::vector<Replica> Kept(const Desired& d, const FleetState& s) {
  std::vector<Replica> active = OfColor(s, s.active_color);
  if (active.size() > KeptCount(d, s)) active.resize(KeptCount(d, s));
  return active;
}

int SmallestFreeIndex(const std::vector<Replica>& replicas) {
  std::set<int> used;
  for (const Replica& r : replicas) used.insert(r.index);
  int i = 0;
  while (used.count(i)) ++i;
  return i;
}

void SortReplicas(std::vector<Replica>* replicas) {
  std::sort(replicas->begin(), replicas->end(), [](const Replica& a, const Replica& b) {
    return std::tie(a.color, a.index) < std::tie(b.color, b.index);
  });
}

void DropReplica(FleetState* s, const Replica& r) {
  std::erase_if(s->replicas,
                [&](const Replica& x) { return x.color == r.color && x.index == r.index; });
}

bool Running(const ObservedInstance* o) {
  return o != nullptr &&
         (o->state == InstanceState::kRunning || o->state == InstanceState::kBackoff);
}

bool Ready(const Observed& obs, const std::string& name) {
  auto it = obs.instances.find(name);
  return it != obs.instances.end() && it->second.state == InstanceState::kRunning &&
         it->second.ready;
}

const ObservedInstance* Find(const Observed& obs, const std::string& name) {
  auto it = obs.instances.find(name);
  return it == obs.instances.end() ? nullptr : &it->second;
}

std::string Ms(Millis d) { return std::to_string(d.count()) + " ms"; }

// Step builders.
class Builder {
 public:
  Builder(const FleetState& s, Phase phase) {
    step_.next = s;
    step_.phase = phase;
  }
  FleetState& next() { return step_.next; }
  Builder& Phase(mas::Phase p) {
    step_.phase = p;
    return *this;
  }
  Builder& Cond(const char* type, ConditionStatus status, std::string reason, std::string message) {
    step_.condition = Condition{type, status, std::move(reason), std::move(message), ""};
    return *this;
  }
  Step Do(Action a, std::string reason) {
    step_.action = a;
    step_.reason = std::move(reason);
    return std::move(step_);
  }
  Step Start(runtime::InstanceSpec spec, std::string reason) {
    step_.instance_name = spec.name;
    step_.instance = std::move(spec);
    return Do(Action::kStart, std::move(reason));
  }
  Step Remove(std::string name, std::string reason) {
    step_.instance_name = std::move(name);
    return Do(Action::kRemove, std::move(reason));
  }
  Step Write(std::string name, std::string config, std::string reason) {
    step_.instance_name = std::move(name);
    step_.front_config = std::move(config);
    return Do(Action::kWriteFrontConfig, std::move(reason));
  }
  Step Wait(Millis after, std::string reason) {
    step_.requeue_after = std::max(after, Millis(1));
    return Do(Action::kNone, std::move(reason));
  }

 private:
  Step step_;
};

// The candidate of an upgrade for messages: its version, and its table source when that
// changes.
std::string TargetText(const FleetState& s) {
  std::string out = s.target_version;
  if (s.target_source != s.active_source) out += " with table source " + s.target_source;
  return out;
}

// Leaves the upgrade: weights back to the active color, the candidate removed.
Step BeginRollback(const Desired& d, const FleetState& s, mas::Phase phase, bool record_failure,
                   std::string reason, std::string message) {
  Builder b(s, phase);
  b.next().operation = kOpRollback;
  b.next().step = kStepShiftBack;
  b.next().green_percent = 0;
  if (record_failure) {
    b.next().failed_version = s.target_version;
    b.next().failed_source = s.target_source;
    b.next().failed_generation = d.generation;
  }
  b.Phase(Phase::kRollback)
      .Cond(kConditionUpgrade, ConditionStatus::kFalse, reason,
            "upgrade to " + TargetText(s) + " rolled back: " + message);
  return b.Do(Action::kUpdateState, reason + ": " + message);
}

// Starts (or replaces, when its spec changed) one replica that should run; nullopt when all
// of `replicas` run with their wanted spec.
std::optional<Step> EnsureRunning(const Desired& d, const FleetState& s, mas::Phase phase,
                                  const Observed& obs, const std::vector<Replica>& replicas) {
  for (const Replica& r : replicas) {
    runtime::InstanceSpec want = ReplicaSpec(d, r);
    const ObservedInstance* o = Find(obs, want.name);
    if (!Running(o)) return Builder(s, phase).Start(want, "start " + want.name);
    if (o->spec != want) {
      // Replace one at a time: only while every other replica of the set is ready.
      for (const Replica& other : replicas) {
        const std::string name = ReplicaName(d.name, other.color, other.index);
        if (name != want.name && !Ready(obs, name)) return std::nullopt;
      }
      return Builder(s, phase).Remove(want.name, "replace " + want.name + ": spec changed");
    }
  }
  return std::nullopt;
}

std::optional<std::string> FirstNotReady(const Desired& d, const Observed& obs,
                                         const std::vector<Replica>& replicas) {
  for (const Replica& r : replicas) {
    const std::string name = ReplicaName(d.name, r.color, r.index);
    if (!Ready(obs, name)) return name;
  }
  return std::nullopt;
}

// The front in shape: port, config, process. nullopt when it is.
std::optional<Step> EnsureFront(const Desired& d, const FleetState& s, mas::Phase phase,
                                const Observed& obs, const PlanOptions& opt) {
  const std::string front = FrontName(d.name);
  const ObservedInstance* o = Find(obs, front);
  if (!d.spec.l4_front) {
    if (o != nullptr || s.front_admin_port != 0) {
      Builder b(s, phase);
      b.next().front_admin_port = 0;
      b.next().front_version.clear();
      return b.Remove(front, "remove " + front + ": spec.l4Front unset");
    }
    return std::nullopt;
  }
  if (s.front_admin_port == 0 || s.front_admin_port == kPortToAllocate) {
    Builder b(s, phase);
    b.next().front_admin_port = kPortToAllocate;
    b.next().front_version = s.active_version;
    return b.Do(Action::kAllocatePorts, "allocate the admin port of " + front);
  }
  const std::string config = RenderFrontConfig(d, s);
  // A listener's name or address changes only by a restart (a reload keeps them).
  const std::string header = config.substr(0, config.find("    backends:"));
  if (Running(o) && !obs.front_config.empty() && obs.front_config.rfind(header, 0) != 0) {
    return Builder(s, phase).Remove(front, "restart " + front + ": listener changed");
  }
  if (obs.front_config != config) {
    return Builder(s, phase).Write(front, config, "write " + front + " weights");
  }
  const runtime::InstanceSpec want = FrontSpec(d, s);
  if (Running(o) && o->spec != want) {
    return Builder(s, phase).Remove(front, "restart " + front + ": spec changed");
  }
  if (!Running(o)) return Builder(s, phase).Start(want, "start " + front);
  // Running is not serving: its listener may still be binding, or taken by another process.
  if (!o->ready) {
    return Builder(s, phase).Wait(opt.readiness_poll, "waiting for " + front + " to be ready");
  }
  return std::nullopt;
}

Step DecideBlueGreen(const Desired& d, const std::string& source, mas::Phase phase,
                     const FleetState& s, const Observed& obs, WallTime now,
                     const PlanOptions& opt) {
  const RolloutPlan rollout = PlanRollout(d.spec);
  const std::string cand_color = OtherColor(s.active_color);
  const std::vector<Replica> blue = OfColor(s, s.active_color);
  const std::vector<Replica> green = OfColor(s, cand_color);
  if (d.spec.version != s.target_version) {
    return BeginRollback(d, s, phase, /*record_failure=*/false, "VersionChanged",
                         "spec.version is now " + d.spec.version);
  }
  if (source != s.target_source) {
    return BeginRollback(d, s, phase, /*record_failure=*/false, "SourceChanged",
                         "the table source is now " + source);
  }
  if (s.step == kStepRetireBlue) {
    if (d.spec.l4_front) {
      const std::string config = RenderFrontConfig(d, s);
      if (obs.front_config != config) {
        return Builder(s, phase).Write(FrontName(d.name), config, "weights: all on " + cand_color);
      }
    }
    if (!blue.empty()) {
      Builder b(s, phase);
      DropReplica(&b.next(), blue.back());
      return b.Remove(ReplicaName(d.name, blue.back().color, blue.back().index),
                      "retire " + ReplicaName(d.name, blue.back().color, blue.back().index));
    }
    Builder b(s, phase);
    FleetState& n = b.next();
    n.active_color = cand_color;
    n.active_version = s.target_version;
    n.active_source = s.target_source;
    n.target_version.clear();
    n.target_source.clear();
    n.target_endpoints.clear();
    n.green_percent = 0;
    n.operation.clear();
    n.step.clear();
    n.step_started = now;
    b.Phase(Phase::kRun)
        .Cond(kConditionUpgrade, ConditionStatus::kTrue, "Completed",
              "running version " + s.target_version + " from table source " + s.target_source);
    return b.Do(Action::kUpdateState, "upgrade to " + TargetText(s) + " complete");
  }

  if (auto st = EnsureRunning(d, s, phase, obs, blue)) return *std::move(st);
  if (s.step == kStepStartGreen) {
    // The gate: every green replica ready within the timeout (checked first, so a replica
    // that cannot even start fails it too).
    const WallTime deadline = s.step_started + rollout.ready_timeout;
    const std::optional<std::string> not_ready =
        green.size() < blue.size() ? ReplicaName(d.name, cand_color, SmallestFreeIndex(green))
                                   : FirstNotReady(d, obs, green);
    if (not_ready && now >= deadline) {
      return BeginRollback(d, s, phase, /*record_failure=*/true, "GreenNotReady",
                           *not_ready + " not ready within " + Ms(rollout.ready_timeout));
    }
    if (green.size() < blue.size()) {
      Builder b(s, phase);
      b.next().replicas.push_back(Replica{cand_color, SmallestFreeIndex(green), s.target_version,
                                          kPortToAllocate, kPortToAllocate, s.target_endpoints});
      SortReplicas(&b.next().replicas);
      return b.Do(Action::kAllocatePorts, "add a " + cand_color + " replica");
    }
    if (auto st = EnsureRunning(d, s, phase, obs, green)) return *std::move(st);
    if (not_ready) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - now);
      return Builder(s, phase).Wait(std::min(left, opt.readiness_poll),
                                    "waiting for " + *not_ready + " to be ready");
    }
    Builder b(s, phase);
    b.next().step = kStepShift;
    b.next().green_percent = rollout.steps.front();
    b.next().step_started = now;
    return b.Do(Action::kUpdateState, "green ready; shift " +
                                          std::to_string(rollout.steps.front()) + "% to " +
                                          cand_color);
  }
  GRID_CHECK(s.step == kStepShift) << "unknown BlueGreen step " << s.step;
  if (auto name = FirstNotReady(d, obs, green)) {
    return BeginRollback(
        d, s, phase, /*record_failure=*/true, "GreenUnready",
        *name + " went unready during the hold at " + std::to_string(s.green_percent) + "%");
  }
  if (d.spec.l4_front) {
    const std::string config = RenderFrontConfig(d, s);
    if (obs.front_config != config) {
      Builder b(s, phase);
      b.next().step_started = now;  // the hold begins when the weights apply
      return b.Write(FrontName(d.name), config,
                     "weights: " + std::to_string(s.green_percent) + "% on " + cand_color);
    }
  }
  const WallTime hold_end = s.step_started + rollout.hold;
  if (now < hold_end) {
    const auto left = std::chrono::duration_cast<Millis>(hold_end - now);
    return Builder(s, phase).Wait(std::min(left, opt.readiness_poll),
                                  "holding at " + std::to_string(s.green_percent) + "%");
  }
  Builder b(s, phase);
  // The first step above the weight held now (it need not be a step of the current rollout).
  const auto next_percent =
      std::upper_bound(rollout.steps.begin(), rollout.steps.end(), s.green_percent);
  if (next_percent == rollout.steps.end()) {
    b.next().step = kStepRetireBlue;
    return b.Do(Action::kUpdateState, "hold at " + std::to_string(s.green_percent) +
                                          "% passed; retire " + s.active_color);
  }
  b.next().green_percent = *next_percent;
  b.next().step_started = now;
  return b.Do(Action::kUpdateState,
              "shift " + std::to_string(*next_percent) + "% to " + cand_color);
}

Step DecideRollback(const Desired& d, mas::Phase phase, const FleetState& s, const Observed& obs) {
  const std::string cand_color = OtherColor(s.active_color);
  if (auto st = EnsureRunning(d, s, phase, obs, OfColor(s, s.active_color))) {
    return *std::move(st);
  }
  if (d.spec.l4_front) {
    const std::string config = RenderFrontConfig(d, s);
    if (obs.front_config != config) {
      return Builder(s, phase).Write(FrontName(d.name), config,
                                     "weights: all back on " + s.active_color);
    }
  }
  const std::vector<Replica> green = OfColor(s, cand_color);
  if (!green.empty()) {
    Builder b(s, phase);
    b.next().step = kStepRemoveGreen;
    DropReplica(&b.next(), green.back());
    const std::string name = ReplicaName(d.name, green.back().color, green.back().index);
    return b.Remove(name, "remove " + name);
  }
  Builder b(s, phase);
  b.next().operation.clear();
  b.next().step.clear();
  b.next().target_version.clear();
  b.next().target_source.clear();
  b.next().target_endpoints.clear();
  return b.Phase(Phase::kRun).Do(Action::kUpdateState, "rollback complete");
}

// Ready=False/StoreClusterUnavailable in phase `want` (written once), then waits.
Step SourceUnavailable(const Desired& d, const FleetState& s, mas::Phase phase, mas::Phase want,
                       const Observed& obs, const PlanOptions& opt) {
  if (phase == want && obs.ready_reason == kReasonStoreClusterUnavailable) {
    return Builder(s, phase).Wait(opt.source_retry,
                                  "waiting for KVCluster " + d.spec.store_cluster);
  }
  const std::string message =
      !d.source_error.empty()
          ? d.source_error
          : "KVCluster \"" + d.spec.store_cluster + "\" has no member endpoints";
  Builder b(s, phase);
  b.Phase(want).Cond(kConditionReady, ConditionStatus::kFalse, kReasonStoreClusterUnavailable,
                     message);
  return b.Do(Action::kUpdateState, "table source unavailable: " + message);
}

// A state written before the table source was recorded: the desired source becomes the
// active one (and the candidate's), and replicas without endpoints get the desired ones
// (what they were started with then). REQUIRES: d.spec.store non-empty. Returns whether
// anything changed.
bool AdoptSource(const Desired& d, const std::string& source, FleetState* s) {
  bool changed = false;
  if (s->active_source.empty()) {
    s->active_source = source;
    changed = true;
  }
  if (InBlueGreen(*s) && s->target_source.empty()) {
    s->target_source = source;
    changed = true;
  }
  if (InBlueGreen(*s) && s->target_endpoints.empty()) {
    s->target_endpoints = d.spec.store;
    changed = true;
  }
  for (Replica& r : s->replicas) {
    if (r.endpoints.empty()) {
      r.endpoints = (InBlueGreen(*s) && r.color != s->active_color) ? s->target_endpoints
                                                                     : d.spec.store;
      changed = true;
    }
  }
  return changed;
}

bool NeedsAdoption(const FleetState& s) {
  if (s.active_source.empty()) return true;
  if (InBlueGreen(s) && (s.target_source.empty() || s.target_endpoints.empty())) return true;
  return std::any_of(s.replicas.begin(), s.replicas.end(),
                     [](const Replica& r) { return r.endpoints.empty(); });
}

// The endpoints of a new replica of the active color: the desired ones while the active
// source is the desired one (a named cluster's current members), else those of an active
// replica (same source); nullopt when neither is known.
std::optional<std::vector<std::string>> NewActiveEndpoints(const Desired& d,
                                                           const std::string& source,
                                                           const FleetState& s) {
  if (source == s.active_source && !d.spec.store.empty()) return d.spec.store;
  for (const Replica& r : OfColor(s, s.active_color)) {
    if (!r.endpoints.empty()) return r.endpoints;
  }
  if (!d.spec.store.empty()) return d.spec.store;
  return std::nullopt;
}

}  // namespace

std::string TableSource(const RouterFleetSpec& spec) {
  if (!spec.store_cluster.empty()) return kSourceClusterPrefix + spec.store_cluster;
  if (spec.store.empty()) return kSourceDefault;
  std::vector<std::string> sorted = spec.store;
  std::sort(sorted.begin(), sorted.end());
  return kSourceStorePrefix + Join(sorted, ",");
}

std::string OtherColor(const std::string& color) { return color == kBlue ? kGreen : kBlue; }

RolloutPlan PlanRollout(const RouterFleetSpec& spec) {
  const Rollout rollout = EffectiveRollout(spec.rollout);
  RolloutPlan plan;
  for (const int64_t percent : *rollout.steps) {
    plan.steps.push_back(static_cast<int>(std::clamp<int64_t>(percent, 0, kMaxWeight)));
  }
  if (plan.steps.empty()) plan.steps.push_back(kMaxWeight);
  plan.hold = std::chrono::seconds(
      std::clamp(*rollout.hold_seconds, kMinRolloutHoldSeconds, kMaxRolloutHoldSeconds));
  plan.ready_timeout = std::chrono::seconds(std::clamp(
      *rollout.ready_timeout_seconds, kMinRolloutReadyTimeoutSeconds,
      kMaxRolloutReadyTimeoutSeconds));
  return plan;
}

const char* ActionName(Action action) {
  switch (action) {
    case Action::kNone:
      return "None";
    case Action::kUpdateState:
      return "UpdateState";
    case Action::kAllocatePorts:
      return "AllocatePorts";
    case Action::kStart:
      return "Start";
    case Action::kRemove:
      return "Remove";
    case Action::kWriteFrontConfig:
      return "WriteFrontConfig";
  }
  return "?";
}

std::string InstancePrefix(const std::string& fleet) { return "rf/" + fleet + "/"; }

std::string ReplicaName(const std::string& fleet, const std::string& color, int index) {
  return InstancePrefix(fleet) + color + "-" + std::to_string(index);
}

std::string FrontName(const std::string& fleet) { return InstancePrefix(fleet) + "front"; }

runtime::InstanceSpec ReplicaSpec(const Desired& d, const Replica& r) {
  runtime::InstanceSpec spec;
  spec.name = ReplicaName(d.name, r.color, r.index);
  spec.engine = kRouterEngine;
  spec.version = r.version;
  const std::vector<std::string>& endpoints = r.endpoints.empty() ? d.spec.store : r.endpoints;
  spec.args = {"--endpoints", Join(endpoints, ","), "--prefix", d.spec.routes_prefix,
               "--listen",    HostPort(r.port),     "--admin",  HostPort(r.admin_port)};
  spec.restart = runtime::RestartPolicy::kReplace;
  return spec;
}

runtime::InstanceSpec FrontSpec(const Desired& d, const FleetState& s) {
  runtime::InstanceSpec spec;
  spec.name = FrontName(d.name);
  spec.engine = kRouterEngine;
  spec.version = s.front_version;
  spec.args = {"l4", "--config", std::string("{data_dir}/") + kFrontConfigFile, "--admin",
               HostPort(s.front_admin_port)};
  // In place: its data dir holds the configuration.
  spec.restart = runtime::RestartPolicy::kInPlace;
  return spec;
}

std::string RenderFrontConfig(const Desired& d, const FleetState& s) {
  if (!d.spec.l4_front) return "";
  std::vector<std::pair<Replica, int>> backends;  // replica, weight
  const std::string cand = OtherColor(s.active_color);
  if (InBlueGreen(s) && s.step == kStepRetireBlue) {
    for (const Replica& r : OfColor(s, cand)) backends.emplace_back(r, kMaxWeight);
  } else if (InBlueGreen(s) && s.step == kStepShift) {
    for (const Replica& r : OfColor(s, s.active_color)) {
      backends.emplace_back(r, kMaxWeight - s.green_percent);
    }
    for (const Replica& r : OfColor(s, cand)) backends.emplace_back(r, s.green_percent);
  } else {
    for (const Replica& r : Kept(d, s)) backends.emplace_back(r, kMaxWeight);
  }
  std::string out = "# written by the RouterFleet controller; reloaded on change\n";
  out += "listeners:\n";
  out += "  - name: " + d.spec.l4_front->name + "\n";
  out += "    listen: \"" + d.spec.l4_front->listen + "\"\n";
  out += "    backends:\n";
  for (const auto& [r, weight] : backends) {
    out += "      - {address: \"" + HostPort(r.port) + "\", weight: " + std::to_string(weight) +
           "}  # " + r.color + "-" + std::to_string(r.index) + "\n";
  }
  return out;
}

nlohmann::json FleetStateToJson(const FleetState& s) {
  nlohmann::json j = nlohmann::json::object();
  if (!s.operation.empty()) j["name"] = s.operation;
  if (!s.step.empty()) j["step"] = s.step;
  const int cand = (InBlueGreen(s) && s.step != kStepStartGreen) ? s.green_percent : 0;
  j["weights"] = {{s.active_color, kMaxWeight - cand}, {OtherColor(s.active_color), cand}};
  if (InBlueGreen(s) && s.step == kStepRetireBlue) j["weights"][s.active_color] = 0;
  nlohmann::json f = {{"activeColor", s.active_color},
                      {"activeVersion", s.active_version},
                      {"greenPercent", s.green_percent},
                      {"stepStartedMs", ToMillis(s.step_started)},
                      {"replicas", nlohmann::json::array()}};
  if (!s.target_version.empty()) f["targetVersion"] = s.target_version;
  for (const Replica& r : s.replicas) {
    nlohmann::json rj = {{"color", r.color},
                         {"index", r.index},
                         {"version", r.version},
                         {"port", r.port},
                         {"adminPort", r.admin_port}};
    if (!r.endpoints.empty()) rj["endpoints"] = r.endpoints;
    f["replicas"].push_back(std::move(rj));
  }
  if (!s.active_source.empty()) f["activeSource"] = s.active_source;
  if (!s.target_source.empty()) f["targetSource"] = s.target_source;
  if (!s.target_endpoints.empty()) f["targetEndpoints"] = s.target_endpoints;
  if (s.front_admin_port != 0) {
    f["front"] = {{"adminPort", s.front_admin_port}, {"version", s.front_version}};
  }
  if (!s.failed_version.empty()) {
    f["failedVersion"] = s.failed_version;
    if (!s.failed_source.empty()) f["failedSource"] = s.failed_source;
    f["failedGeneration"] = s.failed_generation;
  }
  j["fleet"] = std::move(f);
  j["log"] = nlohmann::json::array();
  for (const LogEntry& e : s.log) {
    j["log"].push_back({{"time", e.time}, {"step", e.step}, {"result", e.result}});
  }
  return j;
}

Result<FleetState> FleetStateFromJson(const nlohmann::json& j) {
  FleetState s;
  if (j.is_null()) return s;
  std::string field = "status.operation";
  try {
    if (!j.is_object()) return InvalidArgument(field + ": must be an object");
    s.operation = j.value("name", "");
    s.step = j.value("step", "");
    field = "status.operation.fleet";
    const nlohmann::json& f = j.at("fleet");
    s.active_color = f.at("activeColor").get<std::string>();
    if (s.active_color != kBlue && s.active_color != kGreen) {
      return InvalidArgument(field + ".activeColor: must be blue or green");
    }
    s.active_version = f.at("activeVersion").get<std::string>();
    s.green_percent = f.at("greenPercent").get<int>();
    s.step_started = WallTime(Millis(f.at("stepStartedMs").get<int64_t>()));
    s.target_version = f.value("targetVersion", "");
    s.active_source = f.value("activeSource", "");
    s.target_source = f.value("targetSource", "");
    s.target_endpoints = f.value("targetEndpoints", std::vector<std::string>{});
    field = "status.operation.fleet.replicas";
    for (const auto& r : f.at("replicas")) {
      s.replicas.push_back(Replica{
          r.at("color").get<std::string>(), r.at("index").get<int>(),
          r.at("version").get<std::string>(), r.at("port").get<int>(),
          r.at("adminPort").get<int>(),
          r.value("endpoints", std::vector<std::string>{})});
    }
    field = "status.operation.fleet.front";
    if (f.contains("front")) {
      s.front_admin_port = f["front"].at("adminPort").get<int>();
      s.front_version = f["front"].at("version").get<std::string>();
    }
    field = "status.operation";
    const bool known_step =
        (s.operation.empty() && s.step.empty()) ||
        ((s.operation == kOpProvision || s.operation == kOpScale) && s.step.empty()) ||
        (s.operation == kOpBlueGreen &&
         (s.step == kStepStartGreen || s.step == kStepShift || s.step == kStepRetireBlue)) ||
        (s.operation == kOpRollback && (s.step == kStepShiftBack || s.step == kStepRemoveGreen));
    if (!known_step) {
      return InvalidArgument(field + ": unknown operation/step \"" + s.operation + "/" + s.step +
                             "\"");
    }
    if (s.green_percent < 0 || s.green_percent > kMaxWeight) {
      return InvalidArgument(field + ".fleet.greenPercent: must be 0..100, got " +
                             std::to_string(s.green_percent));
    }
    field = "status.operation.fleet";
    s.failed_version = f.value("failedVersion", "");
    s.failed_source = f.value("failedSource", "");
    s.failed_generation = f.value("failedGeneration", int64_t{0});
    field = "status.operation.log";
    if (j.contains("log")) {
      for (const auto& e : j.at("log")) {
        s.log.push_back(LogEntry{e.at("time").get<std::string>(), e.at("step").get<std::string>(),
                                 e.at("result").get<std::string>()});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(field + ": " + e.what());
  }
  return s;
}

Step Decide(const Desired& d, Phase phase, const FleetState& in, const Observed& obs,
            WallTime now, const PlanOptions& opt) {
  const std::string source = d.source.empty() ? TableSource(d.spec) : d.source;
  const bool resolved = !d.spec.store.empty();
  if (!resolved && d.spec.store_cluster.empty()) {
    if (phase == Phase::kFailed) return Builder(in, phase).Wait(opt.run_resync, "no store");
    Builder b(in, phase);
    b.Phase(Phase::kFailed)
        .Cond(kConditionReady, ConditionStatus::kFalse, kReasonNoStore,
              "spec.store is empty and the controller has no default store");
    return b.Do(Action::kUpdateState, "no store endpoints");
  }
  if (in.active_version.empty()) {
    if (!resolved) return SourceUnavailable(d, in, phase, Phase::kProvision, obs, opt);
    Builder b(in, phase);
    b.next().active_color = kBlue;
    b.next().active_version = d.spec.version;
    b.next().active_source = source;
    b.next().operation = kOpProvision;
    b.next().step.clear();
    b.next().step_started = now;
    return b.Phase(Phase::kProvision).Do(Action::kUpdateState, "provision " + d.spec.version);
  }
  FleetState s = in;
  bool adopted = false;  // an older state took the desired source: persisted at the next write
  if (NeedsAdoption(s)) {
    if (!resolved) return SourceUnavailable(d, s, phase, phase, obs, opt);
    adopted = AdoptSource(d, source, &s);
  }
  if (InBlueGreen(s)) return DecideBlueGreen(d, source, phase, s, obs, now, opt);
  if (InRollback(s)) return DecideRollback(d, phase, s, obs);

  // Provision and scale: the active color at spec.replicas, all ready, then the front.
  const std::vector<Replica> active = OfColor(s, s.active_color);
  const std::vector<Replica> kept = Kept(d, s);
  const size_t want = KeptCount(d, s);
  const bool provisioning = s.operation == kOpProvision;
  // The phase and operation of a scaling step (a provision keeps its own).
  auto scaling = [&](Builder& b) {
    if (!provisioning) {
      b.next().operation = kOpScale;
      b.Phase(Phase::kScale);
    }
  };
  if (active.size() < want) {
    const std::optional<std::vector<std::string>> endpoints = NewActiveEndpoints(d, source, s);
    if (!endpoints) return SourceUnavailable(d, s, phase, phase, obs, opt);
    Builder b(s, phase);
    scaling(b);
    b.next().replicas.push_back(Replica{s.active_color, SmallestFreeIndex(active), s.active_version,
                                        kPortToAllocate, kPortToAllocate, *endpoints});
    SortReplicas(&b.next().replicas);
    return b.Do(Action::kAllocatePorts, "add a " + s.active_color + " replica");
  }
  if (auto st = EnsureRunning(d, s, phase, obs, kept)) return *std::move(st);
  if (auto name = FirstNotReady(d, obs, kept)) {
    return Builder(s, phase).Wait(opt.readiness_poll, "waiting for " + *name + " to be ready");
  }
  if (auto st = EnsureFront(d, s, phase, obs, opt)) return *std::move(st);
  if (active.size() > want) {
    Builder b(s, phase);
    scaling(b);
    DropReplica(&b.next(), active.back());
    const std::string name = ReplicaName(d.name, active.back().color, active.back().index);
    return b.Remove(name, "scale in: remove " + name);
  }
  // Leftovers: candidate records outside an upgrade, instances with no record.
  for (const Replica& r : OfColor(s, OtherColor(s.active_color))) {
    Builder b(s, phase);
    DropReplica(&b.next(), r);
    const std::string name = ReplicaName(d.name, r.color, r.index);
    return b.Remove(name, "remove leftover " + name);
  }
  for (const auto& [name, o] : obs.instances) {
    bool known = name == FrontName(d.name);
    for (const Replica& r : s.replicas)
      known = known || name == ReplicaName(d.name, r.color, r.index);
    if (!known) return Builder(s, phase).Remove(name, "remove unknown instance " + name);
  }
  // A new version or table source: one blue-green upgrade for both. It needs the desired
  // endpoints; a candidate whose gate failed is not tried again at the same generation.
  const bool version_change = d.spec.version != s.active_version;
  const bool source_change = source != s.active_source;
  const bool failed_here = d.generation == s.failed_generation &&
                           d.spec.version == s.failed_version &&
                           (s.failed_source.empty() || s.failed_source == source);
  if ((version_change || source_change) && resolved && !failed_here) {
    Builder b(s, phase);
    b.next().operation = kOpBlueGreen;
    b.next().step = kStepStartGreen;
    b.next().target_version = d.spec.version;
    b.next().target_source = source;
    b.next().target_endpoints = d.spec.store;
    b.next().green_percent = 0;
    b.next().step_started = now;
    std::string what = "blue-green upgrade " + s.active_version + " -> " + d.spec.version;
    if (source_change) what += ", table source " + s.active_source + " -> " + source;
    std::string reason = "begin blue-green upgrade to ";
    if (version_change) reason += d.spec.version;
    if (version_change && source_change) reason += " and ";
    if (source_change) reason += "table source " + source;
    b.Phase(Phase::kUpdate).Cond(kConditionUpgrade, ConditionStatus::kUnknown, "InProgress", what);
    return b.Do(Action::kUpdateState, reason);
  }
  // A named cluster that does not resolve: the replicas keep their endpoints, Ready=False.
  const bool unavailable = !resolved;
  const bool ready_reason_stale = unavailable
                                      ? obs.ready_reason != kReasonStoreClusterUnavailable
                                      : obs.ready_reason == kReasonStoreClusterUnavailable;
  if (phase != Phase::kRun || !s.operation.empty() || !s.step.empty() ||
      obs.observed_generation != d.generation || adopted || ready_reason_stale) {
    if (unavailable) {
      Step st = SourceUnavailable(d, s, phase, Phase::kRun, Observed{}, opt);
      st.next.operation.clear();
      st.next.step.clear();
      return st;
    }
    Builder b(s, phase);
    b.next().operation.clear();
    b.next().step.clear();
    b.Phase(Phase::kRun)
        .Cond(kConditionReady, ConditionStatus::kTrue, "AllReady",
              std::to_string(kept.size()) + "/" + std::to_string(want) + " replicas ready");
    return b.Do(Action::kUpdateState, "run: " + std::to_string(kept.size()) + " replicas ready");
  }
  if (unavailable) {
    return Builder(s, phase).Wait(opt.source_retry,
                                  "waiting for KVCluster " + d.spec.store_cluster);
  }
  return Builder(s, phase).Wait(opt.run_resync, "in shape");
}

}  // namespace grid::mas::fleet
