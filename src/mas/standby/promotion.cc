#include "mas/standby/promotion.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/check.h"
#include "mas/kvcluster/operation.h"

namespace grid::mas::standby {
namespace {

std::string Cut(std::string text) {
  if (text.size() > kMaxLogResultBytes) text.resize(kMaxLogResultBytes);
  return text;
}

bool Known(const std::string& step) {
  for (const char* s : {kStepFence, kStepCatchUp, kStepPromote, kStepRepoint, kStepDone}) {
    if (step == s) return true;
  }
  return false;
}

// Seconds since `since` (RFC 3339); 0 when it does not parse (a fresh start of the clock).
std::chrono::seconds Elapsed(const std::string& since, TimePoint now) {
  auto t = kvcluster::ParseTimestamp(since);
  if (!t) return std::chrono::seconds(0);
  return std::chrono::duration_cast<std::chrono::seconds>(now - *t);
}

void Advance(PromotionOp* op, const char* next, const std::string& now) {
  op->step = next;
  op->step_started = now;
}

nlohmann::json BasePromotion(const PromotionOp& op, const std::string& finished) {
  return {{"mode", op.mode},
          {"requested", op.requested},
          {"name", op.name},
          {"started", op.started},
          {"finished", finished}};
}

}  // namespace

nlohmann::json ToJson(const PromotionOp& op) {
  nlohmann::json log = nlohmann::json::array();
  for (const LogEntry& e : op.log) {
    log.push_back({{"time", e.time}, {"step", e.step}, {"result", e.result}});
  }
  return {{"name", op.name},
          {"mode", op.mode},
          {"requested", op.requested},
          {"step", op.step},
          {"started", op.started},
          {"stepStarted", op.step_started},
          {"fenceRevision", op.fence_revision},
          {"appliedRevision", op.applied_revision},
          {"primaryRevision", op.primary_revision},
          {"primaryReachable", op.primary_reachable},
          {"repointedFleets", op.repointed_fleets},
          {"repointedCount", op.repointed_count},
          {"log", std::move(log)}};
}

Result<PromotionOp> PromotionOpFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("status.mirror.operation: not an object");
  PromotionOp op;
  try {
    op.name = j.value("name", "");
    op.mode = j.value("mode", "");
    op.requested = j.value("requested", "");
    op.step = j.value("step", "");
    op.started = j.value("started", "");
    op.step_started = j.value("stepStarted", "");
    op.fence_revision = j.value("fenceRevision", int64_t{0});
    op.applied_revision = j.value("appliedRevision", int64_t{0});
    op.primary_revision = j.value("primaryRevision", int64_t{0});
    op.primary_reachable = j.value("primaryReachable", false);
    op.repointed_fleets = j.value("repointedFleets", std::vector<std::string>{});
    op.repointed_count = j.value("repointedCount", int64_t{0});
    if (auto it = j.find("log"); it != j.end() && it->is_array()) {
      for (const auto& e : *it) {
        op.log.push_back({e.value("time", ""), e.value("step", ""), e.value("result", "")});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("status.mirror.operation: ") + e.what());
  }
  if (op.name != kOpSwitchover && op.name != kOpFailover) {
    return InvalidArgument("status.mirror.operation.name: unknown operation \"" + op.name + "\"");
  }
  if (!Known(op.step)) {
    return InvalidArgument("status.mirror.operation.step: unknown step \"" + op.step + "\"");
  }
  if (op.log.size() > kMaxOperationLog) {
    op.log.erase(op.log.begin(), op.log.end() - static_cast<std::ptrdiff_t>(kMaxOperationLog));
  }
  if (op.repointed_fleets.size() > kMaxRepointedFleetNames) {
    op.repointed_fleets.resize(kMaxRepointedFleetNames);
  }
  return op;
}

PromotionOp NewPromotion(const PromoteRequest& request, const std::string& now) {
  PromotionOp op;
  const bool switchover = request.mode == kPromoteSwitchover;
  op.name = switchover ? kOpSwitchover : kOpFailover;
  op.mode = request.mode;
  op.requested = request.requested;
  op.step = switchover ? kStepFence : kStepPromote;
  op.started = now;
  op.step_started = now;
  return op;
}

void AppendLog(PromotionOp* op, const std::string& now, const std::string& step,
               std::string result) {
  result = Cut(std::move(result));
  if (!op->log.empty() && op->log.back().step == step && op->log.back().result == result) {
    op->log.back().time = now;
    return;
  }
  op->log.push_back({now, step, std::move(result)});
  if (op->log.size() > kMaxOperationLog) op->log.erase(op->log.begin());
}

Status RepointFleets(FleetStore* fleets, const std::string& from, const std::string& to,
                     std::vector<std::string>* changed) {
  GRID_ASSIGN_OR_RETURN(std::vector<Resource> list, fleets->ListFleets());
  for (Resource fleet : list) {
    const std::string name = fleet.metadata.name;
    for (int attempt = 0;; ++attempt) {
      auto& spec = std::get<RouterFleetSpec>(fleet.spec);
      if (spec.store_cluster != from) break;
      spec.store_cluster = to;
      auto updated = fleets->UpdateFleet(fleet);
      if (updated.ok()) {
        changed->push_back(name);
        break;
      }
      if (!IsConflict(updated.status()) || attempt + 1 >= kMaxRepointConflicts) {
        return Status(updated.status().code(),
                      fmt::format("point RouterFleet \"{}\" at KVCluster \"{}\": {}", name, to,
                                  updated.status().message()));
      }
      auto again = fleets->GetFleet(name);
      if (!again.ok()) {
        if (again.status().code() == Code::kNotFound) break;  // deleted meanwhile
        return again.status();
      }
      fleet = std::move(*again);
    }
  }
  return Status::Ok();
}

StepResult RunPromotionStep(const PromotionContext& ctx, const PromotionEffects& fx,
                            PromotionOp* op) {
  GRID_CHECK(Known(op->step)) << "unknown promotion step " << op->step;
  const std::string now = FormatTimestamp(ctx.now);
  const bool switchover = op->name == kOpSwitchover;
  StepResult r;
  // Ends a switch-over that has not promoted yet: the primary serves again.
  auto fail = [&](const std::string& message) {
    std::string text = message;
    if (switchover) {
      Status s = fx.ops->DisarmNoSpace(ctx.primary_endpoints);
      text += s.ok() ? fmt::format("; the NOSPACE alarm of KVCluster \"{}\" is disarmed",
                                   ctx.primary)
                     : fmt::format("; disarming the NOSPACE alarm of KVCluster \"{}\" failed: {}",
                                   ctx.primary, s.message());
      r.write_fenced = !s.ok();
    }
    AppendLog(op, now, op->step, "failed: " + text);
    r.outcome = StepResult::Outcome::kFinished;
    r.promotion = BasePromotion(*op, now);
    r.promotion["result"] = "Failed";
    r.promotion["step"] = op->step;
    r.promotion["message"] = Cut(text);
    return r;
  };

  if (op->step == kStepFence) {
    Status s = fx.ops->RaiseNoSpace(ctx.primary_endpoints);
    if (!s.ok()) {
      if (Elapsed(op->step_started, ctx.now) >= kFenceTimeout) {
        return fail(fmt::format("fencing KVCluster \"{}\" (NOSPACE alarm) failed for {} s: {}",
                                ctx.primary, kFenceTimeout.count(), s.message()));
      }
      AppendLog(op, now, kStepFence, "retrying: " + s.message());
      return r;
    }
    AppendLog(op, now, kStepFence, "ok: NOSPACE raised on KVCluster \"" + ctx.primary + "\"");
    Advance(op, kStepCatchUp, now);
    r.write_fenced = true;
    r.outcome = StepResult::Outcome::kAdvanced;
    return r;
  }

  if (op->step == kStepCatchUp) {
    const bool timed_out = Elapsed(op->step_started, ctx.now) >= kCatchUpTimeout;
    if (op->fence_revision == 0) {
      auto rev = fx.ops->Revision(ctx.primary_endpoints);
      if (!rev.ok()) {
        if (timed_out) {
          return fail(fmt::format("the revision of KVCluster \"{}\" could not be read for {} s: {}",
                                  ctx.primary, kCatchUpTimeout.count(), rev.status().message()));
        }
        AppendLog(op, now, kStepCatchUp, "retrying: " + rev.status().message());
        return r;
      }
      op->fence_revision = *rev;
      AppendLog(op, now, kStepCatchUp, fmt::format("fence revision {}", *rev));
      r.outcome = StepResult::Outcome::kAdvanced;
      return r;
    }
    if (ctx.mirror_applied && *ctx.mirror_applied >= op->fence_revision) {
      op->applied_revision = *ctx.mirror_applied;
      AppendLog(op, now, kStepCatchUp,
                fmt::format("ok: standby applied revision {}", op->applied_revision));
      Advance(op, kStepPromote, now);
      r.outcome = StepResult::Outcome::kAdvanced;
      return r;
    }
    if (timed_out) {
      return fail(fmt::format(
          "the standby KVCluster \"{}\" did not apply revision {} of KVCluster \"{}\" within {} s "
          "(applied {})",
          ctx.standby, op->fence_revision, ctx.primary, kCatchUpTimeout.count(),
          ctx.mirror_applied ? std::to_string(*ctx.mirror_applied) : "unknown: no mirror runs"));
    }
    AppendLog(op, now, kStepCatchUp,
              fmt::format("waiting for the standby to apply revision {}", op->fence_revision));
    return r;
  }

  if (op->step == kStepPromote) {
    fx.stop_mirror();
    int64_t applied = std::max(op->applied_revision, ctx.mirror_applied.value_or(0));
    auto recorded = fx.ops->ProgressRevision(ctx.standby_endpoints, ctx.progress_key);
    if (recorded.ok()) {
      applied = std::max(applied, *recorded);
    } else {
      AppendLog(op, now, kStepPromote,
                "the standby's progress record could not be read: " + recorded.status().message());
    }
    op->applied_revision = applied;
    if (!switchover) {
      auto rev = fx.ops->Revision(ctx.primary_endpoints);
      op->primary_reachable = rev.ok();
      op->primary_revision = std::max(ctx.last_primary_revision, rev.ok() ? *rev : 0);
      op->primary_revision = std::max(op->primary_revision, op->applied_revision);
      if (rev.ok()) {
        Status s = fx.ops->RaiseNoSpace(ctx.primary_endpoints);
        AppendLog(op, now, kStepPromote,
                  s.ok() ? "NOSPACE raised on the answering primary"
                         : "raising NOSPACE on the answering primary failed: " + s.message());
        if (s.ok()) r.write_fenced = true;
      }
    }
    AppendLog(op, now, kStepPromote,
              fmt::format("ok: mirror stopped; KVCluster \"{}\" promoted at revision {}",
                          ctx.standby, applied));
    Advance(op, kStepRepoint, now);
    r.outcome = StepResult::Outcome::kAdvanced;
    return r;
  }

  if (op->step == kStepRepoint) {
    std::vector<std::string> changed;
    Status s = RepointFleets(fx.fleets, ctx.primary, ctx.standby, &changed);
    for (std::string& name : changed) {
      ++op->repointed_count;
      if (op->repointed_fleets.size() < kMaxRepointedFleetNames) {
        op->repointed_fleets.push_back(std::move(name));
      }
    }
    if (!s.ok()) {
      AppendLog(op, now, kStepRepoint, "retrying: " + s.message());
      if (!changed.empty()) r.outcome = StepResult::Outcome::kAdvanced;  // persist progress
      return r;
    }
    AppendLog(op, now, kStepRepoint, fmt::format("ok: {} fleet(s) point at KVCluster \"{}\"",
                                                 op->repointed_count, ctx.standby));
    Advance(op, kStepDone, now);
    r.outcome = StepResult::Outcome::kAdvanced;
    return r;
  }

  // Done.
  r.outcome = StepResult::Outcome::kFinished;
  r.promotion = BasePromotion(*op, now);
  r.promotion["result"] = "Succeeded";
  r.promotion["promoted"] = ctx.standby;
  r.promotion["appliedRevision"] = op->applied_revision;
  r.promotion["repointedFleets"] = op->repointed_fleets;
  r.promotion["repointedCount"] = op->repointed_count;
  if (switchover) {
    r.promotion["fenceRevision"] = op->fence_revision;
    auto after = fx.ops->Revision(ctx.primary_endpoints);
    if (after.ok()) {
      r.promotion["primaryRevisionAfter"] = *after;
      // Revisions after the standby's last one: deletes that passed the fence after the
      // mirror stopped (puts are refused under NOSPACE).
      r.promotion["uncopiedRevisions"] = std::max<int64_t>(0, *after - op->applied_revision);
    } else {
      r.promotion["uncopiedRevisions"] = nullptr;
      r.promotion["message"] = Cut("the primary's revision after the promotion is unknown: " +
                                   after.status().message());
    }
  } else {
    r.promotion["primaryRevision"] = op->primary_revision;
    r.promotion["primaryReachable"] = op->primary_reachable;
    r.promotion["missingRevisions"] =
        std::max<int64_t>(0, op->primary_revision - op->applied_revision);
  }
  AppendLog(op, now, kStepDone, "ok");
  return r;
}

OperationRecord PromotionHistory(const PromotionOp& op, bool succeeded,
                                 const std::string& finished) {
  OperationRecord rec;
  rec.name = op.name;
  rec.result = succeeded ? OperationResult::kSucceeded : OperationResult::kFailed;
  rec.started = op.started;
  rec.finished = finished;
  for (const LogEntry& e : op.log) rec.steps.push_back({e.step, e.time, e.result});
  return rec;
}

}  // namespace grid::mas::standby
