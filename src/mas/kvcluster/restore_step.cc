#include "mas/kvcluster/restore_step.h"

#include <fmt/format.h>

namespace grid::mas::kvcluster {
namespace {

std::string RequestPrefix(const std::string& key) { return "request \"" + key + "\": "; }

const char* NextStage(const std::string& stage) {
  if (stage == kStageStopMembers) return kStageMoveAside;
  if (stage == kStageMoveAside) return kStageFetchBackup;
  if (stage == kStageFetchBackup) return kStageRestoreData;
  if (stage == kStageRestoreData) return kStageStartMembers;
  return kStageWaitHealthy;  // after StartMembers
}

ConditionUpdate Progressing(const Operation& op, const std::string& what) {
  return {kCondProgressing, ConditionStatus::kTrue, kOpRestore,
          fmt::format("restore of backup {}: {}", op.from.empty() ? op.target : op.from, what)};
}

Step RunStage(Operation op, const std::string& stage, TimePoint now) {
  Step s;
  s.kind = StepKind::kRestore;
  s.stage = stage;
  s.phase = Phase::kProvision;
  s.why = "restore: " + stage;
  s.conditions.push_back(Progressing(op, stage));
  op.stage = NextStage(stage);
  if (stage == kStageStartMembers) op.member_started = FormatTimestamp(now);
  s.operation = std::move(op);
  s.requeue_after = kWaitRequeue;
  return s;
}

int64_t ProvisionTimeoutSeconds(const KVClusterSpec& spec) {
  return spec.provision_timeout_seconds.value_or(kDefaultProvisionTimeoutSeconds);
}

Step WaitHealthy(const KVClusterSpec& spec, const ResourceStatus& status, const Observed& observed,
                 const Operation& op, TimePoint now, const PlanOptions& options) {
  std::vector<std::string> unhealthy;
  for (size_t i = 0; i < status.members.size() && i < observed.members.size(); ++i) {
    if (!MemberHealthy(status.members[i], observed.members[i], observed,
                       options.catch_up_lag_entries)) {
      unhealthy.push_back(status.members[i].name);
    }
  }
  if (unhealthy.empty()) {
    Step s;
    s.kind = StepKind::kRestore;
    s.stage = kStageVerifyRestored;
    s.phase = Phase::kRun;
    s.why = "restore: every member healthy, HashKV checked";
    int64_t revision = 0;
    if (op.record.is_object() && op.record.contains("revision") &&
        op.record["revision"].is_number_integer()) {
      revision = op.record["revision"].get<int64_t>();
    }
    s.conditions.push_back(
        {kCondRestored, ConditionStatus::kTrue, kReasonRestored,
         RequestPrefix(op.reason) +
             fmt::format("backup {} at revision {} restored into {} members (HashKV equal to the "
                         "backup's); the old data dirs are kept as <data dir>{}{}",
                         op.from, revision, status.members.size(), kBeforeRestoreSuffix,
                         CompactTime(op.started))});
    s.conditions.push_back({kCondProgressing, ConditionStatus::kFalse, kReasonRestored, ""});
    for (const char* type : {kCondProvisionFailed, kCondQuorumLost}) {
      if (FindCondition(status, type) != nullptr) {
        s.conditions.push_back({type, ConditionStatus::kFalse, kReasonRestored, ""});
      }
    }
    s.operation = std::nullopt;  // ends (Succeeded) when the verification passes
    s.requeue_after = kWaitRequeue;
    return s;
  }
  std::string names;
  for (const std::string& n : unhealthy) names += (names.empty() ? "" : ", ") + n;
  const auto started = ParseTimestamp(op.member_started);
  const auto timeout = std::chrono::seconds(ProvisionTimeoutSeconds(spec));
  if (started && now - *started > timeout) {
    Step s;
    s.kind = StepKind::kNothing;
    s.stage = kStageWaitHealthy;
    s.operation = op;
    FailRestore(&s, op, Status(Code::kDeadlineExceeded, fmt::format("{} did not become healthy within {}s", names,
                                                 ProvisionTimeoutSeconds(spec))));
    return s;
  }
  Step s;
  s.kind = StepKind::kNothing;
  s.phase = Phase::kProvision;
  s.operation = op;
  s.why = "restore: waiting for " + names;
  s.conditions.push_back(Progressing(op, "waiting for " + names + " to become healthy"));
  s.requeue_after = kWaitRequeue;
  return s;
}

// The first step of an automatic restore, when one is due now.
std::optional<Step> AutoRestore(const KVClusterSpec& spec, const ResourceStatus& status,
                                const Observed& observed, TimePoint now) {
  if (!spec.backup || !spec.backup->auto_restore_after_seconds) return std::nullopt;
  if (status.members.empty() || !observed.quorum_lost_since) return std::nullopt;
  const TimePoint since = *observed.quorum_lost_since;
  const int64_t after_seconds = *spec.backup->auto_restore_after_seconds;
  const int64_t lost_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
  if (lost_seconds < after_seconds) return std::nullopt;
  if (auto last = LastAutoRestoreRequest(status); last && *last >= since) return std::nullopt;
  const RestoreFrom request{kRestoreLatest, kAutoRestoreRequestedPrefix + FormatTimestamp(now)};
  Operation op;
  op.name = kOpRestore;
  op.target = request.backup;
  op.reason = RestoreRequestKey(request);
  op.started = FormatTimestamp(now);
  op.stage = kStageStopMembers;
  const std::string why = fmt::format(
      "quorum lost since {}: {}s >= spec.backup.autoRestoreAfterSeconds {}",
      FormatTimestamp(since), lost_seconds, after_seconds);
  Step s = RunStage(op, kStageStopMembers, now);
  s.why = "automatic restore of the latest backup: " + why;
  s.conditions.push_back(
      {kCondAutoRestore, ConditionStatus::kTrue, kReasonAutoRestore, RequestPrefix(op.reason) + why});
  return s;
}

}  // namespace

std::optional<TimePoint> LastAutoRestoreRequest(const ResourceStatus& status) {
  const Condition* c = FindCondition(status, kCondAutoRestore);
  if (c == nullptr) return std::nullopt;
  const std::string marker = std::string(" requested ") + kAutoRestoreRequestedPrefix;
  const size_t at = c->message.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const size_t start = at + marker.size();
  const size_t end = c->message.find('"', start);
  if (end == std::string::npos) return std::nullopt;
  return ParseTimestamp(c->message.substr(start, end - start));
}

std::string RestoreRequestKey(const RestoreFrom& restore_from) {
  if (restore_from.requested.empty()) return restore_from.backup;
  return restore_from.backup + " requested " + restore_from.requested;
}

bool RestoreRequestDone(const ResourceStatus& status, const std::string& key) {
  const Condition* c = FindCondition(status, kCondRestored);
  return c != nullptr && c->status != ConditionStatus::kUnknown &&
         c->message.rfind(RequestPrefix(key), 0) == 0;
}

std::string CompactTime(std::string_view rfc3339) {
  std::string out;
  for (char ch : rfc3339) {
    if (ch != '-' && ch != ':') out += ch;
  }
  return out;
}

std::string RestoreToken(const std::string& cluster, const Operation& op) {
  return cluster + "-restore-" + CompactTime(op.started);
}

void FailRestore(Step* step, const Operation& op, const Status& error) {
  const std::string& key = op.reason;
  step->phase = Phase::kFailed;
  step->why = fmt::format("restore: {} failed", step->stage);
  std::erase_if(step->conditions, [](const ConditionUpdate& c) {
    return c.type == kCondRestored || c.type == kCondProgressing;
  });
  step->conditions.push_back({kCondRestored, ConditionStatus::kFalse, kReasonRestoreFailed,
                              RequestPrefix(key) + fmt::format("{} failed: {}. Request the "
                                                               "restore again to retry",
                                                               step->stage, error.ToString())});
  step->conditions.push_back({kCondProgressing, ConditionStatus::kFalse, kReasonRestoreFailed, ""});
  step->operation = std::nullopt;
  step->requeue_after = kSteadyRequeue;
}

std::optional<Step> DecideRestore(const KVClusterSpec& spec, const ResourceStatus& status,
                                  const Observed& observed, TimePoint now,
                                  const PlanOptions& options) {
  auto parsed = OperationFromJson(status.operation);
  if (parsed.ok() && *parsed && (*parsed)->name == kOpRestore) {
    const Operation& op = **parsed;
    if (op.stage == kStageWaitHealthy) {
      return WaitHealthy(spec, status, observed, op, now, options);
    }
    return RunStage(op, op.stage.empty() ? kStageStopMembers : op.stage, now);
  }
  if (!spec.restore_from) return AutoRestore(spec, status, observed, now);
  const std::string key = RestoreRequestKey(*spec.restore_from);
  if (RestoreRequestDone(status, key)) {
    if (auto s = AutoRestore(spec, status, observed, now)) return s;
    const Condition* c = FindCondition(status, kCondRestored);
    if (c->status == ConditionStatus::kTrue) return std::nullopt;
    Step hold;
    hold.phase = Phase::kFailed;
    hold.why = "restore failed: " + c->message;
    hold.requeue_after = kSteadyRequeue;
    return hold;
  }
  Operation op;
  op.name = kOpRestore;
  op.target = spec.restore_from->backup;
  op.reason = key;
  op.started = FormatTimestamp(now);
  op.stage = kStageStopMembers;
  if (status.members.empty()) {
    Step s = Decide(spec, status, observed, now, options);
    if (s.kind == StepKind::kPlanMembers) {
      s.operation = std::move(op);
      s.phase = Phase::kProvision;
      s.why = "restore into a new cluster: plan its members";
      return s;
    }
    return s;
  }
  return RunStage(std::move(op), kStageStopMembers, now);
}

}  // namespace grid::mas::kvcluster
