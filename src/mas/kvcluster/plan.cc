#include "mas/kvcluster/plan.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "mas/kvcluster/placement.h"

namespace grid::mas::kvcluster {
namespace {

// Everything one decision looks at.
struct Ctx {
  const KVClusterSpec& spec;
  const ResourceStatus& status;
  const Observed& obs;
  TimePoint now;
  const PlanOptions& opt;
};

bool IsUp(InstanceState s) { return s == InstanceState::kRunning || s == InstanceState::kBackoff; }

std::string MemberName(const std::string& cluster, int64_t ordinal) {
  return fmt::format("{}-{}", cluster, ordinal);
}

// The name of one more member: the next ordinal after every planned one.
std::string NextMemberName(const Ctx& c) {
  int64_t next = 0;
  for (const MemberStatus& m : c.status.members) next = std::max(next, MemberOrdinal(m.name) + 1);
  return MemberName(c.obs.cluster, next);
}

int IndexOf(const Ctx& c, const std::string& name) {
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    if (c.status.members[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

const MemberObservation& Obs(const Ctx& c, size_t i) {
  static const MemberObservation kNone;
  return i < c.obs.members.size() ? c.obs.members[i] : kNone;
}

const StoreMember* StoreById(const Observed& obs, uint64_t id) {
  for (const StoreMember& m : obs.store_members) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

// The version member `i` runs (its instance's, else the last recorded one).
std::string VersionOf(const Ctx& c, size_t i) {
  const MemberObservation& o = Obs(c, i);
  return o.instance_version.empty() ? c.status.members[i].version : o.instance_version;
}

bool Healthy(const Ctx& c, size_t i) {
  return MemberHealthy(c.status.members[i], Obs(c, i), c.obs, c.opt.catch_up_lag_entries);
}

bool AllHealthy(const Ctx& c) {
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    if (!Healthy(c, i)) return false;
  }
  return true;
}

bool CaughtUp(const Ctx& c, size_t i) {
  const MemberObservation& o = Obs(c, i);
  if (!o.reachable || c.obs.leader_id == 0 || o.applied_index == 0) return false;
  return o.applied_index + c.opt.catch_up_lag_entries >= c.obs.leader_applied_index;
}

// The version most running members have: what a new member joins with.
std::string ClusterVersion(const Ctx& c) {
  std::map<std::string, int> counts;
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    if (IsUp(Obs(c, i).instance) && !Obs(c, i).instance_version.empty()) {
      ++counts[Obs(c, i).instance_version];
    }
  }
  std::string best = c.spec.version;
  int best_count = 0;
  for (const auto& [v, n] : counts) {
    if (n > best_count) best = v, best_count = n;
  }
  return best;
}

using Quorum = QuorumCount;

Quorum CountQuorum(const Ctx& c) { return kvcluster::CountQuorum(c.status, c.obs); }

Phase PhaseOf(const std::optional<Operation>& op) {
  if (!op) return Phase::kRun;
  if (op->name == kOpProvision) return Phase::kProvision;
  if (op->name == kOpScaleOut || op->name == kOpScaleIn) return Phase::kScale;
  if (op->name == kOpRollingUpgrade) return Phase::kUpdate;
  if (op->name == kOpRollback) return Phase::kRollback;
  return Phase::kRun;  // ReplaceMember: self-healing keeps the cluster running
}

Step Wait(std::optional<Operation> op, std::string why, Duration after = kWaitRequeue) {
  Step s;
  s.kind = StepKind::kNothing;
  s.operation = std::move(op);
  s.why = std::move(why);
  s.requeue_after = after;
  return s;
}

Step Act(StepKind kind, const std::string& member, std::optional<Operation> op, std::string why) {
  Step s;
  s.kind = kind;
  s.member = member;
  s.operation = std::move(op);
  s.why = std::move(why);
  s.requeue_after = kWaitRequeue;
  return s;
}

Step Done(std::string why) { return Wait(std::nullopt, std::move(why)); }

Operation NewOp(const Ctx& c, const char* name, std::string target) {
  Operation op;
  op.name = name;
  op.target = std::move(target);
  op.started = FormatTimestamp(c.now);
  return op;
}

// A healthy voter other than `not_id` to lead, preferring one on `version`.
const StoreMember* PickLeader(const Ctx& c, uint64_t not_id, const std::string& version) {
  const StoreMember* best = nullptr;
  bool best_on_version = false;
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    const StoreMember* sm = FindStoreMember(c.obs, c.status.members[i]);
    if (sm == nullptr || sm->id == not_id || !Healthy(c, i)) continue;
    const bool on_version = VersionOf(c, i) == version;
    if (best == nullptr || (on_version && !best_on_version)) {
      best = sm;
      best_on_version = on_version;
    }
  }
  return best;
}

Step MoveLeaderTo(const StoreMember& target, std::optional<Operation> op, const std::string& from) {
  Step s = Act(StepKind::kMoveLeader, target.name, op,
               fmt::format("move leadership from {} to {}", from, target.name));
  s.member_id = target.id;
  return s;
}

// Learner → started → caught up → promoted (scale out and the tail of a replacement).
Step JoinAsLearner(const Ctx& c, Operation op, size_t i, const std::string& verb) {
  const MemberStatus& m = c.status.members[i];
  const StoreMember* sm = FindStoreMember(c.obs, m);
  if (sm == nullptr) {
    Step s = Act(StepKind::kAddLearner, m.name, op,
                 fmt::format("{}: add {} as a learner", verb, m.name));
    return s;
  }
  if (!IsUp(Obs(c, i).instance)) {
    Step s = Act(StepKind::kStartMember, m.name, op,
                 fmt::format("{}: start {}", verb, m.name));
    s.version = ClusterVersion(c);
    s.cluster_state = "existing";
    return s;
  }
  if (sm->learner) {
    if (CaughtUp(c, i)) {
      Step s = Act(StepKind::kPromoteLearner, m.name, op,
                   fmt::format("{}: promote {} (applied {} of {})", verb, m.name,
                               Obs(c, i).applied_index, c.obs.leader_applied_index));
      s.member_id = sm->id;
      return s;
    }
    // No indexes in the message: a waiting pass must leave the status unchanged.
    Step s = Wait(op, fmt::format("{}: waiting for {} to catch up", verb, m.name));
    s.kind = StepKind::kWaitCatchUp;
    s.member = m.name;
    return s;
  }
  return Done(fmt::format("{}: {} is a voter", verb, m.name));
}

Duration ProvisionTimeout(const Ctx& c) {
  return std::chrono::seconds(
      c.spec.provision_timeout_seconds.value_or(kDefaultProvisionTimeoutSeconds));
}

// True when `op` started more than the provision timeout ago.
bool PastProvisionTimeout(const Ctx& c, const Operation& op) {
  const auto started = ParseTimestamp(op.started);
  return started && c.now - *started > ProvisionTimeout(c);
}

// The members at `indexes` did not become healthy in time: phase Failed, the operation ends
// (Failed in status.history) and ProvisionFailed names the members and their logs.
Step FailProvision(const Ctx& c, const std::vector<size_t>& indexes, const char* reason,
                   const char* verb) {
  std::string names;
  std::string details;
  for (size_t i : indexes) {
    const MemberObservation& o = Obs(c, i);
    names += (names.empty() ? "" : ", ") + c.status.members[i].name;
    details += fmt::format("{}{} ({}, {}; log {})", details.empty() ? "" : "; ",
                           c.status.members[i].name, InstanceStateName(o.instance),
                           o.reachable ? "answers" : "does not answer",
                           o.log_path.empty() ? "unknown" : o.log_path);
  }
  const int64_t timeout_s = ProvisionTimeout(c).count() / 1000;
  Step s = Wait(std::nullopt, fmt::format("{}: {} not healthy within {}s", verb, names, timeout_s),
                kSteadyRequeue);
  s.phase = Phase::kFailed;
  s.conditions.push_back(
      {kCondProvisionFailed, ConditionStatus::kTrue, reason,
       fmt::format("{}: {} did not become healthy within {}s: {}. Change the spec to retry",
                   verb, names, timeout_s, details)});
  return s;
}

// A retried operation's first steps: the incarnation recorded in op.old_id leaves the
// membership, then the instance and its data go. nullopt once neither is left.
std::optional<Step> ClearOldIncarnation(const Ctx& c, const Operation& op, size_t i,
                                        const char* verb) {
  if (auto old = ParseMemberIdHex(op.old_id); old && StoreById(c.obs, *old) != nullptr) {
    Step s = Act(StepKind::kRemoveMember, op.target, op,
                 fmt::format("{}: remove {} (id {}) from the membership", verb, op.target,
                             op.old_id));
    s.member_id = *old;
    return s;
  }
  if (FindStoreMember(c.obs, c.status.members[i]) == nullptr &&
      (Obs(c, i).instance != InstanceState::kMissing || !Obs(c, i).data_empty)) {
    Step s = Act(StepKind::kDeleteInstance, op.target, op,
                 fmt::format("{}: delete {} and wipe its data", verb, op.target));
    s.wipe = true;
    return s;
  }
  return std::nullopt;
}

// One member joins: planned in the zone with the fewest members, added as a learner,
// started, promoted; a voter within the provision timeout or the operation fails. A retry
// first clears the incarnation that did not make it (op.old_id, its instance and data).
Step ScaleOut(const Ctx& c, Operation op) {
  const int idx = IndexOf(c, op.target);
  if (idx < 0) {
    Step s = Act(StepKind::kPlanMembers, op.target, op, "scale out: plan " + op.target);
    s.members = {op.target};
    s.zones = {ZoneForNewMember(c.spec, c.status.members)};
    return s;
  }
  const size_t i = static_cast<size_t>(idx);
  if (!c.obs.member_list_ok) return Wait(op, "scale out: member list unavailable");
  const StoreMember* sm = FindStoreMember(c.obs, c.status.members[i]);
  if ((sm == nullptr || sm->learner) && PastProvisionTimeout(c, op)) {
    return FailProvision(c, {i}, kReasonMemberStartTimeout, "scale out");
  }
  if (auto s = ClearOldIncarnation(c, op, i, "scale out")) return *s;
  return JoinAsLearner(c, op, i, "scale out");
}

Step ScaleIn(const Ctx& c, Operation op) {
  const int idx = IndexOf(c, op.target);
  if (idx < 0) return Done("scale in: " + op.target + " removed");
  const size_t i = static_cast<size_t>(idx);
  if (!c.obs.member_list_ok) return Wait(op, "scale in: member list unavailable");
  if (const StoreMember* sm = FindStoreMember(c.obs, c.status.members[i])) {
    if (sm->id == c.obs.leader_id) {
      const StoreMember* to = PickLeader(c, sm->id, ClusterVersion(c));
      if (to == nullptr) return Wait(op, "scale in: no healthy member to lead");
      const std::string from = op.target;
      return MoveLeaderTo(*to, op, from);
    }
    Step s = Act(StepKind::kRemoveMember, op.target, op,
                 "scale in: remove " + c.status.members[i].name + " from the membership");
    s.member_id = sm->id;
    return s;
  }
  if (IsUp(Obs(c, i).instance)) {
    return Act(StepKind::kStopMember, op.target, op, "scale in: stop " + op.target);
  }
  Step s = Act(StepKind::kDeleteInstance, op.target, op, "scale in: delete " + op.target);
  s.wipe = true;
  s.forget = true;
  return s;
}

Step Replace(const Ctx& c, Operation op) {
  const int idx = IndexOf(c, op.target);
  if (idx < 0) return Done("replace: " + op.target + " is no longer planned");
  const size_t i = static_cast<size_t>(idx);
  if (!c.obs.member_list_ok) return Wait(op, "replace: member list unavailable");
  if (auto s = ClearOldIncarnation(c, op, i, "replace")) return *s;
  return JoinAsLearner(c, op, i, "replace");
}

// One member past its gate: a failed upgrade rolls back; a failed rollback is Failed.
Step Timeout(const Ctx& c, Operation op, const std::string& member) {
  const std::string why = fmt::format("member {} not healthy on {} within {}s", member, op.target,
                                      c.opt.upgrade_step_timeout.count() / 1000);
  if (op.name == kOpRollingUpgrade) {
    Operation rb = NewOp(c, kOpRollback, op.from);
    rb.from = op.target;
    rb.reason = why;
    rb.step = op.step;
    rb.steps = op.steps;
    rb.member = member;
    rb.member_started = FormatTimestamp(c.now);
    Step s = Act(StepKind::kStopMember, member, rb, "rollback: " + why + "; stop " + member);
    s.phase = Phase::kRollback;
    return s;
  }
  const std::string message =
      fmt::format("version \"{}\": {}; rollback failed: {}", op.from, op.reason, why);
  Step s = Wait(op, "rollback failed: " + why, kSteadyRequeue);
  s.phase = Phase::kFailed;
  s.conditions.push_back({kCondUpgradeFailed, ConditionStatus::kTrue, "RollbackFailed", message});
  return s;
}

// RollingUpgrade and Rollback: one member at a time to op.target, followers first, the
// leader last after moving leadership away; each gated on health within the step timeout.
Step UpgradeStep(const Ctx& c, Operation op) {
  const char* verb = op.name == kOpRollback ? "rollback" : "upgrade";
  if (!op.member.empty()) {
    const int idx = IndexOf(c, op.member);
    if (idx >= 0) {
      const size_t i = static_cast<size_t>(idx);
      const bool on_target = VersionOf(c, i) == op.target;
      if (!on_target || !Healthy(c, i)) {
        const auto started = ParseTimestamp(op.member_started);
        if (started && c.now - *started > c.opt.upgrade_step_timeout) {
          const std::string member = op.member;
          return Timeout(c, op, member);
        }
        const std::string member = op.member;
        if (!on_target && IsUp(Obs(c, i).instance)) {
          return Act(StepKind::kStopMember, member, op,
                     fmt::format("{}: stop {}", verb, member));
        }
        if (!on_target || !IsUp(Obs(c, i).instance)) {
          const std::string target = op.target;
          Step s = Act(StepKind::kStartMember, member, op,
                       fmt::format("{}: start {} on {}", verb, member, target));
          s.version = target;
          s.cluster_state = "existing";
          return s;
        }
        Step s = Wait(op, fmt::format("{}: waiting for {} to be healthy", verb, member));
        s.kind = StepKind::kWaitCatchUp;
        s.member = member;
        return s;
      }
    }
    op.member.clear();
    op.member_started.clear();
  }
  // Next member: followers in name order, the leader last.
  std::vector<size_t> todo;
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    if (VersionOf(c, i) != op.target) todo.push_back(i);
  }
  if (todo.empty()) {
    Step s = Done(fmt::format("{}: every member runs {}", verb, op.target));
    if (op.name == kOpRollback) {
      s.conditions.push_back({kCondUpgradeFailed, ConditionStatus::kTrue, "RolledBack",
                              fmt::format("version \"{}\": {}; rolled back to {}; set "
                                          "spec.version to another version to retry",
                                          op.from, op.reason, op.target)});
    } else if (FindCondition(c.status, kCondUpgradeFailed) != nullptr) {
      s.conditions.push_back({kCondUpgradeFailed, ConditionStatus::kFalse, "Upgraded",
                              "every member runs " + op.target});
    }
    return s;
  }
  if (!AllHealthy(c)) {
    return Wait(op, fmt::format("{}: waiting for every member to be healthy", verb));
  }
  std::stable_partition(todo.begin(), todo.end(), [&](size_t i) {
    const StoreMember* sm = FindStoreMember(c.obs, c.status.members[i]);
    return sm == nullptr || sm->id != c.obs.leader_id;
  });
  const size_t next = todo.front();
  const std::string& name = c.status.members[next].name;
  const StoreMember* sm = FindStoreMember(c.obs, c.status.members[next]);
  if (sm != nullptr && sm->id == c.obs.leader_id && c.status.members.size() > 1) {
    const StoreMember* to = PickLeader(c, sm->id, op.target);
    if (to == nullptr) return Wait(op, fmt::format("{}: no healthy member to lead", verb));
    const std::string from = name;
    return MoveLeaderTo(*to, op, from);
  }
  op.member = name;
  op.member_started = FormatTimestamp(c.now);
  return Act(StepKind::kStopMember, name, op,
             fmt::format("{}: stop {} to run {}", verb, name, op.target));
}

// Start every planned member ("new"), then wait for all to be healthy, at most the provision
// timeout. A member running another version than the spec's (a retry after the version was
// fixed) is stopped first.
Step Provision(const Ctx& c, Operation op) {
  std::vector<std::string> names;
  std::vector<size_t> unhealthy;
  bool all_up = true;
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    names.push_back(c.status.members[i].name);
    all_up = all_up && IsUp(Obs(c, i).instance);
    if (!Healthy(c, i)) unhealthy.push_back(i);
  }
  if (!unhealthy.empty() && PastProvisionTimeout(c, op)) {
    return FailProvision(c, unhealthy, kReasonProvisionTimeout, "provision");
  }
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    const MemberObservation& o = Obs(c, i);
    if (IsUp(o.instance) && !o.instance_version.empty() && o.instance_version != c.spec.version) {
      return Act(StepKind::kStopMember, names[i], op,
                 fmt::format("provision: stop {} to run {}", names[i], c.spec.version));
    }
  }
  if (!all_up) {
    Step s = Act(StepKind::kProvisionMembers, "", op,
                 fmt::format("provision: start {} members", names.size()));
    s.members = std::move(names);
    s.version = c.spec.version;
    s.cluster_state = "new";
    return s;
  }
  if (!AllHealthy(c)) return Wait(op, "provision: waiting for every member to answer");
  return Done(fmt::format("provision: {} members healthy", names.size()));
}

// Rule 1b: phase Failed while the generation is the one that failed; after a spec change the
// failed operation starts again (ProvisionFailed becomes False): a provision from its
// start, a scale-out from clearing the member that did not join (or scaled in when the
// spec no longer wants it).
Step RetryFailedProvision(const Ctx& c, const Condition& failed) {
  if (c.obs.generation <= c.status.observed_generation) {
    Step s = Wait(std::nullopt, "failed (" + failed.reason + "); waiting for a spec change",
                  kSteadyRequeue);
    s.phase = Phase::kFailed;
    return s;
  }
  Step s;
  if (failed.reason == kReasonProvisionTimeout) {
    s = Provision(c, NewOp(c, kOpProvision, ""));
  } else if (!c.obs.member_list_ok) {
    Step wait = Wait(std::nullopt, "retry: member list unavailable", kWaitRequeue);
    wait.phase = Phase::kFailed;
    wait.defer_generation = true;
    return wait;
  } else {
    // The member that did not join: planned but not a voter.
    int unjoined = -1;
    for (size_t i = 0; i < c.status.members.size() && unjoined < 0; ++i) {
      const StoreMember* sm = FindStoreMember(c.obs, c.status.members[i]);
      if (sm == nullptr || sm->learner) unjoined = static_cast<int>(i);
    }
    if (unjoined < 0) {
      s = Done("retry: every planned member is a voter");
    } else {
      const size_t i = static_cast<size_t>(unjoined);
      const std::string& name = c.status.members[i].name;
      const int64_t desired = c.spec.members.value_or(kDefaultMembers);
      if (static_cast<int64_t>(c.status.members.size()) > desired) {
        s = ScaleIn(c, NewOp(c, kOpScaleIn, name));
      } else {
        Operation op = NewOp(c, kOpScaleOut, name);
        if (const StoreMember* sm = FindStoreMember(c.obs, c.status.members[i])) {
          op.old_id = MemberIdHex(sm->id);
        }
        s = ScaleOut(c, op);
      }
    }
  }
  s.conditions.push_back({kCondProvisionFailed, ConditionStatus::kFalse, "Retrying",
                          fmt::format("generation {} changed the spec; retrying",
                                      c.obs.generation)});
  return s;
}

Step DecideInner(const Ctx& c) {
  auto parsed = OperationFromJson(c.status.operation);
  std::optional<Operation> op = parsed.ok() ? *parsed : std::nullopt;
  const int64_t desired = c.spec.members.value_or(kDefaultMembers);

  // 1. Nothing planned: plan the initial members.
  if (c.status.members.empty()) {
    Step s = Act(StepKind::kPlanMembers, "", NewOp(c, kOpProvision, ""),
                 fmt::format("provision: plan {} members", desired));
    for (int64_t k = 0; k < desired; ++k) s.members.push_back(MemberName(c.obs.cluster, k));
    s.zones = InitialZones(c.spec, s.members.size());
    return s;
  }
  // 1b. A failed provision or scale-out: Failed until the spec changes, then retried.
  if (const Condition* f = FindCondition(c.status, kCondProvisionFailed);
      f != nullptr && f->status == ConditionStatus::kTrue) {
    return RetryFailedProvision(c, *f);
  }
  // 2. Provisioning.
  if (op && op->name == kOpProvision) return Provision(c, *op);

  const bool in_flight = op && (op->name == kOpRollingUpgrade || op->name == kOpRollback);
  // 3. A voter stopped with its data (e.g. the control plane stopped mid-step): start it.
  if (c.obs.member_list_ok) {
    for (size_t i = 0; i < c.status.members.size(); ++i) {
      const MemberStatus& m = c.status.members[i];
      const MemberObservation& o = Obs(c, i);
      if (in_flight && op->member == m.name) continue;
      const StoreMember* sm = FindStoreMember(c.obs, m);
      if (sm == nullptr || IsUp(o.instance) || o.instance == InstanceState::kFailed ||
          o.data_empty) {
        continue;
      }
      Step s = Act(StepKind::kStartMember, m.name, op, "restart stopped member " + m.name);
      s.version = VersionOf(c, i).empty() ? c.spec.version : VersionOf(c, i);
      s.cluster_state = "existing";
      return s;
    }
  }
  // 4. Quorum.
  const Quorum q = CountQuorum(c);
  if (!q.ok()) {
    const TimePoint since = c.obs.quorum_lost_since.value_or(c.now);
    if (c.now - since >= c.opt.member_grace) {
      Step s = Wait(op, "quorum lost", kSteadyRequeue);
      s.phase = Phase::kFailed;
      s.conditions.push_back({kCondQuorumLost, ConditionStatus::kTrue, "QuorumLost",
                              QuorumLostMessage(c.obs.cluster, q.reachable, q.voters)});
      return s;
    }
    return Wait(op, fmt::format("{}/{} voters reachable; waiting up to the grace period",
                                q.reachable, q.voters));
  }
  // 5. The running operation.
  if (op) {
    if (op->name == kOpScaleOut) return ScaleOut(c, *op);
    if (op->name == kOpScaleIn) return ScaleIn(c, *op);
    if (op->name == kOpReplaceMember) return Replace(c, *op);
    if (in_flight) return UpgradeStep(c, *op);
  }
  // 6. A voter down past the grace period, or whose data is gone: replace it.
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    const MemberStatus& m = c.status.members[i];
    const MemberObservation& o = Obs(c, i);
    const StoreMember* sm = FindStoreMember(c.obs, m);
    if (sm == nullptr || sm->learner) continue;
    const bool lost = o.data_empty;
    const bool down = o.down_since && c.now - *o.down_since >= c.opt.member_grace;
    if (!lost && !down) continue;
    // Removing it must leave a quorum of the smaller membership.
    const size_t reachable_after = q.reachable - (o.reachable ? 1 : 0);
    if (q.voters < 2 || reachable_after * 2 <= q.voters - 1) continue;
    Operation rep = NewOp(c, kOpReplaceMember, m.name);
    rep.old_id = MemberIdHex(sm->id);
    Step s = Replace(c, rep);
    s.why = fmt::format("{} {}; {}", m.name,
                        lost ? "lost its data" : "has been down past the grace period", s.why);
    return s;
  }
  // 7. Version.
  const std::string failed = FailedUpgradeVersion(c.status);
  bool outdated = false;
  for (size_t i = 0; i < c.status.members.size(); ++i) {
    outdated = outdated || VersionOf(c, i) != c.spec.version;
  }
  if (outdated && c.spec.version != failed) {
    std::string from;
    for (size_t i = 0; i < c.status.members.size() && from.empty(); ++i) {
      if (VersionOf(c, i) != c.spec.version) from = VersionOf(c, i);
    }
    Operation up = NewOp(c, kOpRollingUpgrade, c.spec.version);
    up.from = from;
    if (!AllHealthy(c)) return Wait(std::nullopt, "upgrade: waiting for every member to be healthy");
    return UpgradeStep(c, up);
  }
  // 8. Size.
  const int64_t planned = static_cast<int64_t>(c.status.members.size());
  if (planned != desired) {
    if (!AllHealthy(c)) return Wait(std::nullopt, "scale: waiting for every member to be healthy");
    if (planned < desired) return ScaleOut(c, NewOp(c, kOpScaleOut, NextMemberName(c)));
    return ScaleIn(c, NewOp(c, kOpScaleIn, MemberToRemove(c.spec, c.status.members)));
  }
  // 8b. A member in a zone the spec does not list: make before break (a new member in a
  // listed zone, then rule 8 scales the misplaced one in), except at the member limit.
  if (!FirstMisplaced(c.spec, c.status.members).empty()) {
    if (!AllHealthy(c)) return Wait(std::nullopt, "move: waiting for every member to be healthy");
    // The member rule 8 will scale in: the highest misplaced ordinal.
    const std::string misplaced = MemberToRemove(c.spec, c.status.members);
    const MemberStatus& m = c.status.members[static_cast<size_t>(IndexOf(c, misplaced))];
    const std::string why = fmt::format("move {} out of zone \"{}\"", m.name, m.zone);
    Operation op = planned < kMaxMembers ? NewOp(c, kOpScaleOut, NextMemberName(c))
                                         : NewOp(c, kOpScaleIn, misplaced);
    op.reason = why;
    Step s = op.name == kOpScaleOut ? ScaleOut(c, op) : ScaleIn(c, op);
    s.why = why + "; " + s.why;
    return s;
  }
  // 9. Steady.
  Duration after = kSteadyRequeue;
  for (const MemberObservation& o : c.obs.members) {
    if (o.down_since) after = kWaitRequeue;
  }
  Step s = Wait(std::nullopt, "steady", after);
  if (!outdated && !failed.empty()) {
    s.conditions.push_back({kCondUpgradeFailed, ConditionStatus::kFalse, "Upgraded",
                            "every member runs " + c.spec.version});
  }
  return s;
}

bool HasCondition(const Step& s, const char* type) {
  return std::any_of(s.conditions.begin(), s.conditions.end(),
                     [&](const ConditionUpdate& u) { return u.type == type; });
}

void AddBaseConditions(const Ctx& c, Step* s) {
  const Quorum q = CountQuorum(c);
  if (!HasCondition(*s, kCondAvailable)) {
    s->conditions.push_back({kCondAvailable, q.ok() ? ConditionStatus::kTrue : ConditionStatus::kFalse,
                             q.ok() ? "Quorum" : "NoQuorum",
                             fmt::format("{}/{} voters reachable", q.reachable, q.voters)});
  }
  if (!HasCondition(*s, kCondProgressing)) {
    if (s->operation) {
      s->conditions.push_back({kCondProgressing, ConditionStatus::kTrue, s->operation->name, s->why});
    } else {
      s->conditions.push_back({kCondProgressing, ConditionStatus::kFalse, "Stable", ""});
    }
  }
  if (!HasCondition(*s, kCondDegraded)) {
    std::string bad;
    for (size_t i = 0; i < c.status.members.size(); ++i) {
      if (Healthy(c, i)) continue;
      if (!bad.empty()) bad += ", ";
      bad += fmt::format("{} ({})", c.status.members[i].name, InstanceStateName(Obs(c, i).instance));
    }
    s->conditions.push_back({kCondDegraded, bad.empty() ? ConditionStatus::kFalse : ConditionStatus::kTrue,
                             bad.empty() ? "AllHealthy" : "MembersUnhealthy",
                             bad.empty() ? "" : "unhealthy: " + bad});
  }
  if (q.ok() && !HasCondition(*s, kCondQuorumLost) && FindCondition(c.status, kCondQuorumLost)) {
    s->conditions.push_back({kCondQuorumLost, ConditionStatus::kFalse, "Quorum", ""});
  }
}

}  // namespace

QuorumCount CountQuorum(const ResourceStatus& status, const Observed& obs) {
  QuorumCount q;
  if (!obs.member_list_ok) {
    q.voters = status.members.size();
    return q;
  }
  for (const StoreMember& sm : obs.store_members) {
    if (sm.learner) continue;
    ++q.voters;
    for (size_t i = 0; i < status.members.size() && i < obs.members.size(); ++i) {
      const auto& urls = sm.peer_urls;
      if (std::find(urls.begin(), urls.end(), status.members[i].peer_url) != urls.end() &&
          obs.members[i].reachable) {
        ++q.reachable;
      }
    }
  }
  return q;
}

const char* InstanceStateName(InstanceState state) {
  switch (state) {
    case InstanceState::kMissing: return "Missing";
    case InstanceState::kRunning: return "Running";
    case InstanceState::kBackoff: return "Backoff";
    case InstanceState::kStopped: return "Stopped";
    case InstanceState::kFailed: return "Failed";
  }
  return "?";
}

const char* StepKindName(StepKind kind) {
  switch (kind) {
    case StepKind::kNothing: return "Nothing";
    case StepKind::kPlanMembers: return "PlanMembers";
    case StepKind::kProvisionMembers: return "ProvisionMembers";
    case StepKind::kAddLearner: return "AddLearner";
    case StepKind::kStartMember: return "StartMember";
    case StepKind::kWaitCatchUp: return "WaitCatchUp";
    case StepKind::kPromoteLearner: return "PromoteLearner";
    case StepKind::kMoveLeader: return "MoveLeader";
    case StepKind::kRemoveMember: return "RemoveMember";
    case StepKind::kStopMember: return "StopMember";
    case StepKind::kDeleteInstance: return "DeleteInstance";
    case StepKind::kRestore: return "Restore";
  }
  return "?";
}

std::string Step::Describe() const {
  std::string out = StepKindName(kind);
  if (!stage.empty()) out += " " + stage;
  if (!member.empty()) {
    out += " " + member;
  } else {
    for (const std::string& m : members) out += " " + m;
  }
  if (!version.empty()) out += " version=" + version;
  if (std::any_of(zones.begin(), zones.end(), [](const std::string& z) { return !z.empty(); })) {
    out += zones.size() == 1 ? " zone=" : " zones=";
    for (size_t i = 0; i < zones.size(); ++i) out += (i == 0 ? "" : ",") + zones[i];
  }
  if (kind == StepKind::kDeleteInstance && wipe) out += " wipe";
  return out;
}

bool MemberHealthy(const MemberStatus& member, const MemberObservation& o, const Observed& all,
                   uint64_t lag_entries) {
  if (o.instance != InstanceState::kRunning || !o.reachable) return false;
  const StoreMember* sm = FindStoreMember(all, member);
  if (sm == nullptr || sm->learner || all.leader_id == 0) return false;
  return o.applied_index + lag_entries >= all.leader_applied_index;
}

const StoreMember* FindStoreMember(const Observed& observed, const MemberStatus& member) {
  for (const StoreMember& sm : observed.store_members) {
    if (std::find(sm.peer_urls.begin(), sm.peer_urls.end(), member.peer_url) != sm.peer_urls.end()) {
      return &sm;
    }
  }
  return nullptr;
}

std::string FailedUpgradeVersion(const ResourceStatus& status) {
  const Condition* c = FindCondition(status, kCondUpgradeFailed);
  if (c == nullptr || c->status != ConditionStatus::kTrue) return "";
  // The message starts with `version "<v>":`.
  const std::string prefix = "version \"";
  if (c->message.rfind(prefix, 0) != 0) return "";
  const size_t end = c->message.find('"', prefix.size());
  if (end == std::string::npos) return "";
  return c->message.substr(prefix.size(), end - prefix.size());
}

std::string QuorumLostMessage(const std::string& cluster, size_t reachable, size_t voters) {
  return fmt::format(
      "{}/{} voters reachable past the grace period; the cluster cannot change its membership. "
      "Recover by restoring from a backup (spec.backup.bucket): `gridctl restore kvcluster {} "
      "[--backup latest|<backup name>]` (the members' data dirs are moved aside and kept)",
      reachable, voters, cluster);
}

Step Decide(const KVClusterSpec& spec, const ResourceStatus& status, const Observed& observed,
            TimePoint now, const PlanOptions& options) {
  const Ctx c{spec, status, observed, now, options};
  Step s = DecideInner(c);
  if (s.phase == Phase::kNone) {
    s.phase = s.kind == StepKind::kPlanMembers && !s.operation ? Phase::kProvision
                                                                 : PhaseOf(s.operation);
  }
  AddBaseConditions(c, &s);
  return s;
}

}  // namespace grid::mas::kvcluster
