#include "mas/inspect/evaluate.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace grid::mas::inspect {
namespace {

std::string Join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string HexId(uint64_t id) { return fmt::format("{:x}", id); }

// The member name of store member `id` (by the probes' answers, then status.members), or
// its hex id.
std::string MemberName(uint64_t id, const ResourceStatus& status, const Probes& probes) {
  for (const MemberProbe& p : probes.members) {
    if (p.reachable && p.status.member_id == id && !p.name.empty()) return p.name;
  }
  for (const MemberStatus& m : status.members) {
    if (!m.id.empty() && m.id == HexId(id)) return m.name;
  }
  return HexId(id);
}

class Builder {
 public:
  explicit Builder(const Probes& probes) : time_(probes.time) {}

  void Set(const char* type, ConditionStatus status, std::string reason, std::string message) {
    if (status != ConditionStatus::kTrue) {
      AppendEvent(&report.events, {time_, "Warning", reason, type + std::string(": ") + message});
    }
    report.conditions.push_back(
        {type, status, std::move(reason), message.substr(0, kMaxConditionMessageBytes), ""});
  }

  InspectionReport report;

 private:
  const std::string time_;
};

void CheckHealthy(const Probes& probes, Builder* b) {
  std::vector<std::string> down;
  for (const MemberProbe& p : probes.members) {
    if (!p.reachable) down.push_back(p.name + " (" + p.error + ")");
  }
  if (probes.members.empty()) {
    b->Set(kCondHealthy, ConditionStatus::kUnknown, "NoMembers", "status lists no members");
  } else if (down.empty()) {
    b->Set(kCondHealthy, ConditionStatus::kTrue, "AllEndpointsAnswer",
           fmt::format("{} of {} members answer", probes.members.size(), probes.members.size()));
  } else {
    b->Set(kCondHealthy, ConditionStatus::kFalse, "EndpointsUnreachable",
           fmt::format("{} of {} members do not answer: {}", down.size(), probes.members.size(),
                       Join(down, "; ")));
  }
}

void CheckLeader(const ResourceStatus& status, const Probes& probes, Builder* b) {
  std::map<uint64_t, std::vector<std::string>> seen;  // leader id -> members reporting it
  std::set<uint64_t> member_ids;
  for (const MemberProbe& p : probes.members) {
    if (!p.reachable) continue;
    seen[p.status.leader_id].push_back(p.name);
    member_ids.insert(p.status.member_id);
  }
  if (seen.empty()) {
    b->Set(kCondLeaderPresent, ConditionStatus::kUnknown, "NoAnswer", "no member answers");
    return;
  }
  if (seen.size() > 1) {
    std::vector<std::string> views;
    for (const auto& [id, names] : seen) {
      views.push_back(Join(names) + " see " + (id == 0 ? "no leader" : HexId(id)));
    }
    b->Set(kCondLeaderPresent, ConditionStatus::kFalse, "LeaderDisagreement",
           "members disagree on the leader: " + Join(views, "; "));
    return;
  }
  uint64_t leader = seen.begin()->first;
  if (leader == 0) {
    b->Set(kCondLeaderPresent, ConditionStatus::kFalse, "NoLeader", "no member knows a leader");
    return;
  }
  std::string name = MemberName(leader, status, probes);
  b->Set(kCondLeaderPresent, ConditionStatus::kTrue, "LeaderElected",
         fmt::format("leader {} ({})", name, HexId(leader)));
}

void CheckLag(const Probes& probes, Builder* b) {
  uint64_t max_index = 0;
  const MemberProbe* slowest = nullptr;
  for (const MemberProbe& p : probes.members) {
    if (!p.reachable) continue;
    max_index = std::max(max_index, p.status.raft_index);
    if (slowest == nullptr || p.status.applied_index < slowest->status.applied_index) slowest = &p;
  }
  if (slowest == nullptr) {
    b->Set(kCondAppliedIndexLag, ConditionStatus::kUnknown, "NoAnswer", "no member answers");
    return;
  }
  uint64_t applied = slowest->status.applied_index;
  uint64_t lag = max_index > applied ? max_index - applied : 0;
  std::string message = fmt::format("max lag {} entries (member {} applied {}, raft index {}); bound {}",
                                    lag, slowest->name, applied, max_index, kMaxAppliedIndexLag);
  if (lag <= kMaxAppliedIndexLag) {
    b->Set(kCondAppliedIndexLag, ConditionStatus::kTrue, "WithinBound", message);
  } else {
    b->Set(kCondAppliedIndexLag, ConditionStatus::kFalse, "OverBound", message);
  }
}

void CheckHashes(const Probes& probes, Builder* b) {
  std::map<uint32_t, std::vector<std::string>> by_hash;
  std::vector<std::string> missing;
  for (const MemberProbe& p : probes.members) {
    if (!p.reachable) continue;
    if (p.hash.has_value()) {
      by_hash[*p.hash].push_back(p.name);
    } else {
      missing.push_back(p.name + " (" + p.hash_error + ")");
    }
  }
  if (by_hash.size() > 1) {
    // The majority hash is the reference; the others disagree.
    auto majority = std::max_element(by_hash.begin(), by_hash.end(), [](const auto& a, const auto& c) {
      return a.second.size() < c.second.size();
    });
    std::vector<std::string> views;
    std::vector<std::string> disagreeing;
    for (const auto& [hash, names] : by_hash) {
      views.push_back(fmt::format("{}={:08x}", Join(names, "+"), hash));
      if (hash != majority->first) disagreeing.insert(disagreeing.end(), names.begin(), names.end());
    }
    b->Set(kCondHashAgreement, ConditionStatus::kFalse, "HashMismatch",
           fmt::format("members {} disagree at revision {}: {}", Join(disagreeing),
                       probes.hash_revision, Join(views, ", ")));
    return;
  }
  if (!missing.empty() || by_hash.empty()) {
    b->Set(kCondHashAgreement, ConditionStatus::kUnknown, "HashUnavailable",
           by_hash.empty() && missing.empty()
               ? std::string("no member answers")
               : fmt::format("no hash at revision {} from {}", probes.hash_revision,
                             Join(missing, "; ")));
    return;
  }
  b->Set(kCondHashAgreement, ConditionStatus::kTrue, "HashesEqual",
         fmt::format("{} members agree at revision {} (hash {:08x})",
                     by_hash.begin()->second.size(), probes.hash_revision, by_hash.begin()->first));
}

void CheckAlarms(const ResourceStatus& status, const Probes& probes, Builder* b) {
  if (!probes.alarms_known) {
    b->Set(kCondAlarms, ConditionStatus::kUnknown, "AlarmListFailed",
           "alarm list: " + probes.alarms_error);
    return;
  }
  if (probes.alarms.empty()) {
    b->Set(kCondAlarms, ConditionStatus::kTrue, "NoAlarms", "no alarm raised");
    return;
  }
  std::vector<std::string> named;
  bool nospace = false;
  bool corrupt = false;
  for (const kvcluster::AlarmInfo& a : probes.alarms) {
    nospace |= a.type == kvcluster::AlarmType::kNoSpace;
    corrupt |= a.type == kvcluster::AlarmType::kCorrupt;
    named.push_back(std::string(AlarmName(a.type)) + " on " + MemberName(a.member_id, status, probes));
  }
  std::string reason = corrupt && nospace ? "CorruptAndNoSpace"
                       : corrupt          ? "Corrupt"
                       : nospace          ? "NoSpace"
                                          : "AlarmsRaised";
  b->Set(kCondAlarms, ConditionStatus::kFalse, reason, "alarms: " + Join(named, "; "));
}

void CheckDbSize(const KVClusterSpec& spec, const Probes& probes, Builder* b) {
  const MemberProbe* largest = nullptr;
  for (const MemberProbe& p : probes.members) {
    if (!p.reachable) continue;
    if (largest == nullptr || p.status.db_size_bytes > largest->status.db_size_bytes) largest = &p;
  }
  if (largest == nullptr) {
    b->Set(kCondDbSize, ConditionStatus::kUnknown, "NoAnswer", "no member answers");
    return;
  }
  int64_t quota = spec.quota_backend_bytes.value_or(kDefaultQuotaBackendBytes);
  int64_t size = largest->status.db_size_bytes;
  int64_t percent = quota > 0 ? size * 100 / quota : 100;
  std::string message =
      fmt::format("largest db {} bytes on {} is {} % of the quota {} bytes (warn at {} %)", size,
                  largest->name, percent, quota, kDbSizeWarnPercent);
  // size / quota >= warn / 100, in integers (quota <= 8 GiB: no overflow).
  if (size * 100 >= quota * kDbSizeWarnPercent) {
    b->Set(kCondDbSize, ConditionStatus::kFalse, "NearQuota", message);
  } else {
    b->Set(kCondDbSize, ConditionStatus::kTrue, "BelowWarning", message);
  }
}

nlohmann::json EventToJson(const InspectionEvent& e) {
  return {{"time", e.time}, {"type", e.type}, {"reason", e.reason}, {"message", e.message}};
}

}  // namespace

InspectionReport Evaluate(const KVClusterSpec& spec, const ResourceStatus& status,
                          const Probes& probes) {
  Builder b(probes);
  CheckHealthy(probes, &b);
  CheckLeader(status, probes, &b);
  CheckLag(probes, &b);
  CheckHashes(probes, &b);
  CheckAlarms(status, probes, &b);
  CheckDbSize(spec, probes, &b);
  if (b.report.events.empty()) {
    AppendEvent(&b.report.events, {probes.time, "Normal", "Inspected",
                                   fmt::format("{} members pass every check", probes.members.size())});
  }
  b.report.probes = probes;
  return std::move(b.report);
}

const Condition* FindReportCondition(const InspectionReport& report, std::string_view type) {
  for (const Condition& c : report.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

void AppendEvent(std::vector<InspectionEvent>* events, InspectionEvent event) {
  if (event.message.size() > kMaxEventMessageBytes) event.message.resize(kMaxEventMessageBytes);
  events->push_back(std::move(event));
  if (events->size() > kMaxInspectionEvents) {
    events->erase(events->begin(), events->begin() + (events->size() - kMaxInspectionEvents));
  }
}

const char* AlarmName(kvcluster::AlarmType type) {
  switch (type) {
    case kvcluster::AlarmType::kNoSpace: return "NOSPACE";
    case kvcluster::AlarmType::kCorrupt: return "CORRUPT";
    case kvcluster::AlarmType::kNone: break;
  }
  return "NONE";
}

nlohmann::json ReportToJson(const std::string& cluster, const InspectionReport& report) {
  nlohmann::json members = nlohmann::json::array();
  for (const MemberProbe& p : report.probes.members) {
    nlohmann::json m = {{"name", p.name}, {"endpoint", p.endpoint}, {"reachable", p.reachable}};
    if (!p.reachable) {
      m["error"] = p.error;
    } else {
      m["memberId"] = HexId(p.status.member_id);
      m["leaderId"] = HexId(p.status.leader_id);
      m["raftIndex"] = p.status.raft_index;
      m["appliedIndex"] = p.status.applied_index;
      m["dbSizeBytes"] = p.status.db_size_bytes;
      m["dbSizeInUseBytes"] = p.status.db_size_in_use_bytes;
      m["revision"] = p.current_revision;
      if (p.hash.has_value()) {
        m["hash"] = *p.hash;
      } else {
        m["hashError"] = p.hash_error;
      }
    }
    members.push_back(std::move(m));
  }
  nlohmann::json alarms = nlohmann::json::array();
  for (const kvcluster::AlarmInfo& a : report.probes.alarms) {
    alarms.push_back({{"memberId", HexId(a.member_id)}, {"alarm", AlarmName(a.type)}});
  }
  nlohmann::json conditions = nlohmann::json::array();
  for (const Condition& c : report.conditions) {
    conditions.push_back({{"type", c.type},
                          {"status", ConditionStatusName(c.status)},
                          {"reason", c.reason},
                          {"message", c.message}});
  }
  nlohmann::json events = nlohmann::json::array();
  for (const InspectionEvent& e : report.events) events.push_back(EventToJson(e));
  return {{"cluster", cluster},         {"time", report.probes.time},
          {"hashRevision", report.probes.hash_revision},
          {"members", std::move(members)}, {"alarms", std::move(alarms)},
          {"conditions", std::move(conditions)}, {"events", std::move(events)}};
}

std::vector<InspectionEvent> EventsFromJson(const nlohmann::json& report) {
  std::vector<InspectionEvent> out;
  if (!report.is_object() || !report.contains("events") || !report["events"].is_array()) return out;
  for (const auto& e : report["events"]) {
    if (!e.is_object()) continue;
    InspectionEvent ev;
    ev.time = e.value("time", "");
    ev.type = e.value("type", "");
    ev.reason = e.value("reason", "");
    ev.message = e.value("message", "");
    AppendEvent(&out, std::move(ev));
  }
  return out;
}

}  // namespace grid::mas::inspect
