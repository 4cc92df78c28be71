// The KVCluster decision: a pure function from (spec, status, observation, time) to the one
// next step. No I/O; the reconciler observes, calls Decide, executes the step and records it.
//
// Members are named "<cluster>-<ordinal>" (ordinals from 0, never reused while planned) and
// planned in status.members before anything runs (ports allocated once). A store member is
// matched to its planned member by peer URL (an added learner has no name until it starts).
//
// Rules, in order (see README.md for the phases):
//   1. nothing planned                    → PlanMembers (the initial N, zones round robin),
//                                           phase Provision
//   1b. condition ProvisionFailed True    → phase Failed until the spec changes (generation
//                                           above status.observedGeneration), then retry
//   2. Provision running                  → ProvisionMembers until all run, then wait for all
//                                           to answer, then phase Run; past
//                                           spec.provisionTimeoutSeconds phase Failed
//   3. a voter's instance stopped/missing with its data → StartMember (restore after a crash
//      of the control plane mid-step)
//   4. reachable voters < majority        → wait; past `grace` phase Failed, QuorumLost
//   5. the running operation continues (ScaleOut, ScaleIn, ReplaceMember, RollingUpgrade,
//      Rollback)
//   6. a voter down past `grace`, or listed by the store with an empty data dir
//                                         → ReplaceMember (same name, same ports, new id)
//   7. spec.version differs from the members' → RollingUpgrade (unless that version failed
//      and was rolled back: condition UpgradeFailed names it)
//   8. fewer planned members than spec.members → ScaleOut one (zone: placement.h); more →
//      ScaleIn one (placement.h: misplaced first, else the fullest zone's highest ordinal)
//   8b. a member in a zone the spec does not list → ScaleOut into a listed zone, then rule 8
//      scales the misplaced member in (at kMaxMembers: ScaleIn first)
//   9. otherwise phase Run, Nothing(kSteadyRequeue)
// A ScaleOut whose member is not a voter within spec.provisionTimeoutSeconds of the
// operation's start fails as a provision does (reason MemberStartTimeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mas/kvcluster/operation.h"
#include "mas/resource/resource.h"
#include "mas/resource/spec.h"

namespace grid::mas::kvcluster {

using Duration = std::chrono::milliseconds;

// Defaults of the decision's bounds.
inline constexpr Duration kDefaultMemberGrace{60000};        // down this long → replace
inline constexpr uint64_t kDefaultCatchUpLagEntries = 100;    // applied-index lag to promote
inline constexpr Duration kDefaultUpgradeStepTimeout{120000}; // one member's upgrade gate
// Requeue delays.
inline constexpr Duration kSteadyRequeue{10000};  // all well: look again
inline constexpr Duration kWaitRequeue{1000};     // waiting for a process or catch-up

struct PlanOptions {
  Duration member_grace = kDefaultMemberGrace;
  uint64_t catch_up_lag_entries = kDefaultCatchUpLagEntries;
  Duration upgrade_step_timeout = kDefaultUpgradeStepTimeout;
};

enum class InstanceState { kMissing, kRunning, kBackoff, kStopped, kFailed };
const char* InstanceStateName(InstanceState state);

// What the reconciler saw of one planned member (status.members, same order).
struct MemberObservation {
  std::string name;
  InstanceState instance = InstanceState::kMissing;
  std::string instance_version;  // the version the runtime runs it with ("" when missing)
  int64_t restarts = 0;
  bool data_empty = true;        // the data dir is missing or empty
  // Since when the member has been seen not running or not answering (the reconciler keeps
  // it in status.members[].downSince, so it survives a restart).
  std::optional<TimePoint> down_since;
  std::string log_path;          // where the runtime writes the instance's output
  bool reachable = false;        // its client URL answered Status
  uint64_t applied_index = 0;    // raftAppliedIndex from Status
  bool operator==(const MemberObservation&) const = default;
};

struct StoreMember {
  uint64_t id = 0;
  std::string name;  // "" until the member has started
  bool learner = false;
  std::vector<std::string> peer_urls;
  bool operator==(const StoreMember&) const = default;
};

struct Observed {
  std::string cluster;                     // metadata.name
  int64_t generation = 0;                  // metadata.generation
  std::vector<MemberObservation> members;  // parallel to status.members
  bool member_list_ok = false;             // MemberList answered
  std::vector<StoreMember> store_members;
  uint64_t leader_id = 0;                  // 0 = unknown / none
  uint64_t leader_applied_index = 0;
  // Since when fewer than a majority of voters have been reachable (the reconciler reads it
  // from the lastTransitionTime of a False Available condition).
  std::optional<TimePoint> quorum_lost_since;
};

enum class StepKind {
  kNothing,           // only phase/conditions; requeue after `requeue_after`
  kPlanMembers,       // allocate ports for `members` and append them to status.members
  kProvisionMembers,  // start every planned member, --initial-cluster-state new
  kAddLearner,        // MemberAdd(peer URL of `member`, learner)
  kStartMember,       // start `member` with `version`, --initial-cluster-state `state`
  kWaitCatchUp,       // wait (requeue) until `member` is within the lag bound
  kPromoteLearner,    // MemberPromote(member_id)
  kMoveLeader,        // MoveLeader(member_id) through the current leader
  kRemoveMember,      // MemberRemove(member_id)
  kStopMember,        // Runtime::Stop(member)
  kDeleteInstance,    // Runtime::Remove(member, wipe); drops it from status.members when
                      // `forget` (scale in)
  kRestore,           // run restore stage `stage` (restore_step.h) of the Restore operation
};
const char* StepKindName(StepKind kind);

// A condition without its transition time (the reconciler stamps it).
struct ConditionUpdate {
  std::string type;
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;
  std::string message;
  bool operator==(const ConditionUpdate&) const = default;
};

struct Step {
  StepKind kind = StepKind::kNothing;
  std::string member;                // the member acted on
  std::vector<std::string> members;  // kPlanMembers / kProvisionMembers
  std::vector<std::string> zones;    // kPlanMembers: the zone of each of `members`
  uint64_t member_id = 0;            // store id for Promote/MoveLeader/Remove
  std::string version;               // kStartMember / kProvisionMembers
  std::string cluster_state;         // kStartMember: "new" | "existing"
  bool wipe = false;                 // kDeleteInstance
  bool forget = false;               // kDeleteInstance: drop from status.members
  std::string stage;                 // kRestore: the stage to run
  Phase phase = Phase::kNone;        // the phase to set
  std::vector<ConditionUpdate> conditions;  // to set (others kept)
  // The operation after this step (nullopt = none runs). The reconciler records the step
  // in it before writing status.
  std::optional<Operation> operation;
  Duration requeue_after{0};         // > 0: look again after this delay
  // The spec change was not acted on yet (a retry that must look again): status
  // .observedGeneration keeps its value.
  bool defer_generation = false;
  std::string why;                   // a sentence for logs and messages

  // "AddLearner orders-3", as recorded in status.operation.steps.
  std::string Describe() const;
};

Step Decide(const KVClusterSpec& spec, const ResourceStatus& status, const Observed& observed,
            TimePoint now, const PlanOptions& options = {});

// A member is healthy when its instance runs, it answers Status, the store lists it as a voter
// and its applied index is within `lag_entries` of the leader's.
bool MemberHealthy(const MemberStatus& member, const MemberObservation& observed,
                   const Observed& all, uint64_t lag_entries);
// The store member whose peer URLs contain `member.peer_url`, or nullptr.
const StoreMember* FindStoreMember(const Observed& observed, const MemberStatus& member);

// Voters in the store's membership and how many of them answer Status. Without a member list
// every planned member counts as a voter and none as reachable.
struct QuorumCount {
  size_t voters = 0;
  size_t reachable = 0;
  bool ok() const { return reachable * 2 > voters; }
};
QuorumCount CountQuorum(const ResourceStatus& status, const Observed& observed);

// The version named by a True UpgradeFailed condition ("" when none): an upgrade to it failed
// and was rolled back, so it is not retried while spec.version equals it.
std::string FailedUpgradeVersion(const ResourceStatus& status);

// The quorum-lost recovery command named in the QuorumLost condition.
std::string QuorumLostMessage(const std::string& cluster, size_t reachable, size_t voters);

// Condition types and reasons.
inline constexpr char kCondAvailable[] = "Available";
inline constexpr char kCondProgressing[] = "Progressing";
inline constexpr char kCondDegraded[] = "Degraded";
inline constexpr char kCondQuorumLost[] = "QuorumLost";
inline constexpr char kCondUpgradeFailed[] = "UpgradeFailed";
// True (reason kReasonProvisionTimeout or kReasonMemberStartTimeout) when members did not
// become healthy within spec.provisionTimeoutSeconds; the message names them and their logs.
inline constexpr char kCondProvisionFailed[] = "ProvisionFailed";
inline constexpr char kReasonProvisionTimeout[] = "ProvisionTimeout";
inline constexpr char kReasonMemberStartTimeout[] = "MemberStartTimeout";

}  // namespace grid::mas::kvcluster
