// The Restore operation's decision: pure, like Decide (plan.h), and asked before it. A restore
// is requested by spec.restoreFrom and runs once per distinct request (RestoreRequestKey): its
// outcome is kept in the Restored condition, whose message ends with the request key.
//
// Stages, in order, one per reconcile pass, persisted in status.operation.stage so that a
// restarted control plane resumes at the stage that did not finish (every stage is idempotent):
//   StopMembers     stop every member instance
//   MoveAside       move each member's data dir to "<data dir>.before-restore-<started>"
//                   (kept, never deleted; skipped when the data dir is gone)
//   FetchBackup     the backup ("latest" or named) from spec.backup.bucket into a scratch file;
//                   the resolved name goes to operation.from, its record to operation.record
//   RestoreData     each planned member's data dir from the snapshot (a data dir that exists
//                   was made by this stage before a restart and is kept)
//   StartMembers    every member with --initial-cluster-state new and a new
//                   --initial-cluster-token (RestoreToken): the restored cluster has a new id
//   (wait)          every member healthy, within spec.provisionTimeoutSeconds of the start
//   VerifyRestored  HashKV at the backup's revision on every member equals the record's
//                   → phase Run, Restored=True "backup <name> at revision <R> ..."
// A failed stage (or the wait past its timeout) ends the operation: phase Failed,
// Restored=False naming the stage and the error; nothing else runs until a new request
// (another spec.restoreFrom) or a spec change that makes a new request.
// A cluster with nothing planned first plans its members (Decide's PlanMembers) under the
// Restore operation. Phase during a restore: Provision.
//
// Automatic restore (spec.backup.autoRestoreAfterSeconds): when no restore runs or is pending
// (spec.restoreFrom absent or done), the cluster has members, and its quorum has been lost
// (Observed::quorum_lost_since, from the Available=False transition) for at least that long,
// the Restore operation of the latest backup starts by itself with the request key
// "latest requested auto <RFC 3339 now>". The condition AutoRestore (True, reason AutoRestore)
// says why: "request \"<key>\": quorum lost since <T>: <N>s >= autoRestoreAfterSeconds <M>";
// the step's why (logged with the phase change) says the same. At most once per quorum loss:
// not again while the AutoRestore condition names a request made after the quorum was lost
// (a failed automatic restore stays Failed until the quorum is back and lost again, or a
// restore is requested). spec.restoreFrom is not written (the controller writes status only).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "mas/kvcluster/plan.h"

namespace grid::mas::kvcluster {

inline constexpr char kCondRestored[] = "Restored";
inline constexpr char kReasonRestored[] = "Restored";
inline constexpr char kReasonRestoreFailed[] = "RestoreFailed";
inline constexpr char kCondAutoRestore[] = "AutoRestore";
inline constexpr char kReasonAutoRestore[] = "AutoRestore";
// The request text of an automatic restore, before its RFC 3339 time.
inline constexpr char kAutoRestoreRequestedPrefix[] = "auto ";

inline constexpr char kStageStopMembers[] = "StopMembers";
inline constexpr char kStageMoveAside[] = "MoveAside";
inline constexpr char kStageFetchBackup[] = "FetchBackup";
inline constexpr char kStageRestoreData[] = "RestoreData";
inline constexpr char kStageStartMembers[] = "StartMembers";
inline constexpr char kStageWaitHealthy[] = "WaitHealthy";
inline constexpr char kStageVerifyRestored[] = "VerifyRestored";
// Suffix of a member's data dir moved aside by a restore (followed by the compact start time).
inline constexpr char kBeforeRestoreSuffix[] = ".before-restore-";

// "latest" or "<backup>", then " requested <requested>" when set.
std::string RestoreRequestKey(const RestoreFrom& restore_from);
// True when the Restored condition holds the outcome (True or False) of request `key`.
bool RestoreRequestDone(const ResourceStatus& status, const std::string& key);

// The Restore step to run now, or nullopt (no restore running or pending: ask Decide).
std::optional<Step> DecideRestore(const KVClusterSpec& spec, const ResourceStatus& status,
                                  const Observed& observed, TimePoint now,
                                  const PlanOptions& options = {});

// The time of the automatic restore request the AutoRestore condition names, if any.
std::optional<TimePoint> LastAutoRestoreRequest(const ResourceStatus& status);

// `step` (a kRestore step) failed with `error`: the operation ends, phase Failed, Restored
// False naming the stage and the error.
void FailRestore(Step* step, const Operation& op, const Status& error);

// "20260102T030405Z" from the operation's RFC 3339 start (what names the moved-aside dirs).
std::string CompactTime(std::string_view rfc3339);
// The restored cluster's --initial-cluster-token: "<cluster>-restore-<compact start>".
std::string RestoreToken(const std::string& cluster, const Operation& op);

}  // namespace grid::mas::kvcluster
