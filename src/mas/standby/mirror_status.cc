#include "mas/standby/mirror_status.h"

#include <fmt/format.h>

namespace grid::mas::standby {
namespace {

std::string Cut(std::string text) {
  if (text.size() > kMaxStatusTextBytes) text.resize(kMaxStatusTextBytes);
  return text;
}

nlohmann::json Field(const nlohmann::json& j, const char* name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(name);
  return it == j.end() ? nlohmann::json() : *it;
}

}  // namespace

std::string MirrorState(const MirrorView& view) {
  if (view.promoted) return kStatePromoted;
  if (!view.stats) return kStateWaiting;
  if (view.stats->watching) return kStateWatching;
  if (view.stats->sessions_failed > 0) return kStateReconnecting;
  return kStateCopying;
}

nlohmann::json MirrorStatusJson(const MirrorView& view) {
  nlohmann::json j = {{"standby", view.standby},
                      {"prefixes", view.prefixes},
                      {"state", MirrorState(view)},
                      {"writeFenced", view.write_fenced}};
  if (!view.promoted_to.empty()) j["promotedTo"] = view.promoted_to;
  if (view.stats) {
    const mirror::MirrorStats& s = *view.stats;
    j["appliedRevision"] = s.lag.applied_revision;
    j["primaryRevision"] = s.lag.primary_revision;
    j["lagRevisions"] = s.lag.revisions;
    j["lagSeconds"] = s.lag.seconds;
    j["fullCopies"] = s.full_copies;
    j["lastFullCopyReason"] = s.last_full_copy_reason;
    j["foreignWrites"] = s.foreign_writes;
    j["lastForeignKey"] = Cut(s.last_foreign_key);
    j["lastForeignRevision"] = s.last_foreign_revision;
    j["sessionsFailed"] = s.sessions_failed;
    j["lastError"] = Cut(s.last_error);
  } else {
    j["primaryRevision"] = view.last_primary_revision;
    if (!view.waiting_reason.empty()) j["lastError"] = Cut(view.waiting_reason);
  }
  if (!view.operation.is_null()) j["operation"] = view.operation;
  if (!view.promotion.is_null()) j["promotion"] = view.promotion;
  return j;
}

bool UrgentChange(const nlohmann::json& prev, const nlohmann::json& next) {
  for (const char* f : {"standby", "prefixes", "state", "writeFenced", "promotedTo", "promotion",
                        "fullCopies", "foreignWrites"}) {
    if (Field(prev, f) != Field(next, f)) return true;
  }
  return Field(Field(prev, "operation"), "step") != Field(Field(next, "operation"), "step") ||
         Field(prev, "operation").is_null() != Field(next, "operation").is_null();
}

bool AnyChange(const nlohmann::json& prev, const nlohmann::json& next) {
  nlohmann::json a = prev.is_object() ? prev : nlohmann::json::object();
  nlohmann::json b = next.is_object() ? next : nlohmann::json::object();
  a.erase("updated");
  b.erase("updated");
  return a != b;
}

Condition InSyncCondition(const MirrorView& view, bool foreign_write_recent) {
  Condition c;
  c.type = kCondMirrorInSync;
  c.status = ConditionStatus::kFalse;
  const std::string state = MirrorState(view);
  if (state == kStatePromoted) {
    c.reason = "Promoted";
    c.message = "KVCluster \"" + view.promoted_to + "\" was promoted; no mirror runs";
  } else if (state == kStateWaiting) {
    c.reason = "WaitingForClusters";
    c.message = Cut(view.waiting_reason);
  } else if (state == kStateReconnecting) {
    c.reason = "Disconnected";
    c.message = Cut(view.stats->last_error);
  } else if (state == kStateCopying) {
    c.reason = "Copying";
    c.message = "full copy to KVCluster \"" + view.standby + "\" under way";
  } else if (foreign_write_recent) {
    c.reason = "ForeignWrites";
    c.message = Cut(fmt::format("{} key change(s) on KVCluster \"{}\" not made by the mirror, "
                                "the last {} at standby revision {}",
                                view.stats->foreign_writes, view.standby,
                                view.stats->last_foreign_key, view.stats->last_foreign_revision));
  } else if (view.stats->lag.seconds > kInSyncMaxLagSeconds) {
    c.reason = "Lagging";
    c.message = fmt::format("{} revision(s), {:.1f} s behind", view.stats->lag.revisions,
                            view.stats->lag.seconds);
  } else {
    c.status = ConditionStatus::kTrue;
    c.reason = "InSync";
    c.message = "KVCluster \"" + view.standby + "\" follows the watch";
  }
  return c;
}

std::vector<std::string> MirrorPrefixes(const std::vector<std::string>& spec_prefixes) {
  if (spec_prefixes.empty()) return {""};
  return spec_prefixes;
}

std::string OwnPrefix(const std::string& cluster) { return "/grid-mirror/" + cluster; }

}  // namespace grid::mas::standby
