// Operation: the long-running operation of one KVCluster, persisted in status.operation so
// that a restarted control plane resumes it from the status alone:
//
//   {"name": "RollingUpgrade", "step": 4, "target": "3.5.0", "from": "3.4.23",
//    "member": "orders-1", "memberStarted": "2026-...Z", "oldId": "8e9e05c52164694d",
//    "reason": "", "started": "2026-...Z",
//    "steps": [{"step": "StopMember orders-1", "time": "2026-...Z", "result": "ok"}, ...]}
//
// `steps` keeps the last kMaxOperationSteps records; `step` counts every executed step.
// Times are wall-clock RFC 3339 (second precision): they must mean the same after a restart.
// Plain values; no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "mas/resource/resource.h"

namespace grid::mas::kvcluster {

// Wall-clock time: persisted deadlines must survive a restart of the control plane.
using TimePoint = std::chrono::system_clock::time_point;

// The step records kept in status.operation.steps (older ones are dropped).
inline constexpr size_t kMaxOperationSteps = 16;
inline constexpr size_t kMaxStepResultBytes = 256;

inline constexpr char kOpProvision[] = "Provision";
inline constexpr char kOpScaleOut[] = "ScaleOut";
inline constexpr char kOpScaleIn[] = "ScaleIn";
inline constexpr char kOpRollingUpgrade[] = "RollingUpgrade";
inline constexpr char kOpRollback[] = "Rollback";
inline constexpr char kOpReplaceMember[] = "ReplaceMember";
// Restore (restore_step.h): `target` the requested backup ("latest" or a name), `from` the
// backup it resolved to, `stage` the next stage, `record` the backup's record (JSON),
// `reason` the request key (spec.restoreFrom), `memberStarted` when the members started.
inline constexpr char kOpRestore[] = "Restore";

struct StepRecord {
  std::string step;    // "AddLearner orders-3"
  std::string time;    // RFC 3339
  std::string result;  // "ok" or the error message (at most kMaxStepResultBytes)
  bool operator==(const StepRecord&) const = default;
};

struct Operation {
  std::string name;            // kOp*
  int64_t step = 0;            // executed steps so far
  std::string target;          // the member (ScaleOut/ScaleIn/ReplaceMember) or version
  std::string from;            // RollingUpgrade/Rollback: the version being left
  std::string member;          // RollingUpgrade/Rollback: the member in flight ("" = none)
  std::string member_started;  // RFC 3339: when `member` was stopped (its gate's start)
  std::string old_id;          // ReplaceMember: the store id (hex) of the lost incarnation
  std::string reason;          // Rollback: why the upgrade failed
  std::string started;         // RFC 3339
  std::string stage;           // Restore: the next stage (restore_step.h)
  nlohmann::json record;       // Restore: the fetched backup's record (null before)
  std::vector<StepRecord> steps;
  bool operator==(const Operation&) const = default;
};

nlohmann::json OperationToJson(const Operation& op);
// Null → nullopt. A malformed object is Corruption naming the field.
Result<std::optional<Operation>> OperationFromJson(const nlohmann::json& j);

// Appends a record, keeping the last kMaxOperationSteps, and counts the step.
void RecordStep(Operation* op, std::string step, std::string time, std::string result);

// How `prev` (the operation in the status before a pass) ended, given `next` (the one the
// pass writes) and the phase it writes; nullopt while `prev` goes on (same name, start and
// target) or when none ran. RollingUpgrade followed by Rollback: kRolledBack. Another operation in
// its place: kSuperseded. None after it: kFailed in phase Failed, else kSucceeded.
std::optional<OperationResult> EndedAs(const std::optional<Operation>& prev,
                                       const std::optional<Operation>& next, Phase next_phase);

// The status.history record of `op`, finished at `finished` (RFC 3339).
OperationRecord ToHistory(const Operation& op, OperationResult result, std::string finished);

// Parses FormatTimestamp's form ("2026-01-02T03:04:05Z"); nullopt otherwise.
std::optional<TimePoint> ParseTimestamp(std::string_view text);

// Store member ids as in etcdctl: lower-case hex without leading zeros.
std::string MemberIdHex(uint64_t id);
std::optional<uint64_t> ParseMemberIdHex(std::string_view text);

}  // namespace grid::mas::kvcluster
