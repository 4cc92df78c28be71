// Promotion: the switch-over and fail-over of a KVCluster to its standby, as a persisted
// operation (status.mirror.operation) advanced one step at a time by the standby controller.
//
//   Switchover: Fence -> CatchUp -> Promote -> Repoint -> Done
//   Failover:              Promote -> Repoint -> Done
//
// Every step is idempotent: a new gridmas leader reads the operation from the status and
// runs its step again (raising an alarm that is raised, stopping a stopped mirror, pointing a
// fleet that already points at the standby are no-ops). RunPromotionStep takes one step (or
// waits) and says what to persist; the controller writes the operation (or, at the end, the
// promotion record) before the next step.
//
// Thread-safety: plain functions; the interfaces are called on the caller's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "mas/resource/resource.h"
#include "mas/resource/store.h"  // IsConflict / ConflictError of FleetStore::UpdateFleet

namespace grid::mas::standby {

using TimePoint = std::chrono::system_clock::time_point;

inline constexpr char kOpSwitchover[] = "Switchover";
inline constexpr char kOpFailover[] = "Failover";
inline constexpr char kStepFence[] = "Fence";
inline constexpr char kStepCatchUp[] = "CatchUp";
inline constexpr char kStepPromote[] = "Promote";
inline constexpr char kStepRepoint[] = "Repoint";
inline constexpr char kStepDone[] = "Done";

// Entries kept in operation.log (older ones dropped); results cut to kMaxLogResultBytes.
inline constexpr size_t kMaxOperationLog = 32;
inline constexpr size_t kMaxLogResultBytes = 256;
// Fleets named in operation.repointedFleets / promotion.repointedFleets (beyond: counted only).
inline constexpr size_t kMaxRepointedFleetNames = 32;
// How long the fence may keep failing (the primary not answering) before the switch-over fails.
inline constexpr std::chrono::seconds kFenceTimeout{30};
// How long the standby may take to apply the fence revision before the switch-over fails
// (the primary's alarm is then disarmed: it keeps serving).
inline constexpr std::chrono::seconds kCatchUpTimeout{60};

struct LogEntry {
  std::string time;    // RFC 3339
  std::string step;
  std::string result;  // "ok", "waiting: ...", or the error
  bool operator==(const LogEntry&) const = default;
};

// status.mirror.operation.
struct PromotionOp {
  std::string name;  // kOpSwitchover | kOpFailover
  std::string mode;  // spec.standby.promote.mode
  std::string requested;
  std::string step;
  std::string started;       // RFC 3339
  std::string step_started;  // RFC 3339
  int64_t fence_revision = 0;        // switch-over: the primary's revision once fenced
  int64_t applied_revision = 0;      // the last primary revision on the standby
  int64_t primary_revision = 0;      // fail-over: the primary's last known revision
  bool primary_reachable = false;    // fail-over: the primary answered at Promote
  std::vector<std::string> repointed_fleets;  // at most kMaxRepointedFleetNames
  int64_t repointed_count = 0;
  std::vector<LogEntry> log;  // oldest first, at most kMaxOperationLog
  bool operator==(const PromotionOp&) const = default;
};

nlohmann::json ToJson(const PromotionOp& op);
// InvalidArgument naming the field when the object is not an operation this code wrote.
Result<PromotionOp> PromotionOpFromJson(const nlohmann::json& j);

// A new operation for `request` at its first step.
PromotionOp NewPromotion(const PromoteRequest& request, const std::string& now);

// Appends to the log, keeping kMaxOperationLog entries; a result equal to the last entry's
// (same step) only refreshes its time, so a waiting step does not flood the log.
void AppendLog(PromotionOp* op, const std::string& now, const std::string& step,
               std::string result);

// The store-cluster calls a promotion makes, by client endpoints (host:port or URLs).
class ClusterOps {
 public:
  virtual ~ClusterOps() = default;
  // The cluster's current revision (a read's header).
  virtual Result<int64_t> Revision(const std::vector<std::string>& endpoints) = 0;
  // Raises NOSPACE for every member: the cluster refuses puts and lease grants.
  [[nodiscard]] virtual Status RaiseNoSpace(const std::vector<std::string>& endpoints) = 0;
  // Disarms every NOSPACE alarm.
  [[nodiscard]] virtual Status DisarmNoSpace(const std::vector<std::string>& endpoints) = 0;
  // The primary revision the mirror's progress record `key` on the standby names.
  virtual Result<int64_t> ProgressRevision(const std::vector<std::string>& endpoints,
                                           const std::string& key) = 0;
};

// The RouterFleets a promotion points at the standby.
class FleetStore {
 public:
  virtual ~FleetStore() = default;
  virtual Result<std::vector<Resource>> ListFleets() = 0;
  // A compare-and-swap on metadata.resource_version (IsConflict on a stale version).
  virtual Result<Resource> UpdateFleet(const Resource& fleet) = 0;
  virtual Result<Resource> GetFleet(const std::string& name) = 0;
};

// Conflicts retried per fleet by RepointFleets.
inline constexpr int kMaxRepointConflicts = 5;
// Sets spec.storeCluster = `to` on every fleet whose spec.storeCluster is `from` (CAS, a
// conflict re-reads). Appends the names changed to *changed. The first error stops it (the
// fleets done so far stay done; a repeat finds them pointing at `to` and skips them).
Status RepointFleets(FleetStore* fleets, const std::string& from, const std::string& to,
                     std::vector<std::string>* changed);

struct PromotionContext {
  std::string primary;  // KVCluster names
  std::string standby;
  std::vector<std::string> primary_endpoints;
  std::vector<std::string> standby_endpoints;
  std::string progress_key;           // the mirror's record on the standby
  int64_t last_primary_revision = 0;  // status.mirror.primaryRevision as last published
  // The running mirror's applied revision; nullopt when no mirror runs.
  std::optional<int64_t> mirror_applied;
  TimePoint now;
};

struct PromotionEffects {
  ClusterOps* ops = nullptr;
  FleetStore* fleets = nullptr;
  std::function<void()> stop_mirror;  // idempotent
};

struct StepResult {
  enum class Outcome { kWaiting, kAdvanced, kFinished };
  Outcome outcome = Outcome::kWaiting;
  // kFinished: status.mirror.promotion (result "Succeeded" or "Failed").
  nlohmann::json promotion;
  // Set when status.mirror.writeFenced changes.
  std::optional<bool> write_fenced;
};

// Takes the operation's step (or waits, or fails it). REQUIRES: op->step is a known step.
StepResult RunPromotionStep(const PromotionContext& ctx, const PromotionEffects& fx,
                            PromotionOp* op);

// The status.history record of a finished promotion.
OperationRecord PromotionHistory(const PromotionOp& op, bool succeeded,
                                 const std::string& finished);

}  // namespace grid::mas::standby
