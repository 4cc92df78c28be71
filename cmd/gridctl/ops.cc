#include "ops.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "format.h"

namespace grid::gridctl {
namespace {

const nlohmann::json& Field(const nlohmann::json& j, std::string_view key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Str(const nlohmann::json& j, std::string_view key, std::string fallback = "") {
  const nlohmann::json& v = Field(j, key);
  if (v.is_null()) return fallback;
  return v.is_string() ? v.get<std::string>() : v.dump();
}

int64_t Int(const nlohmann::json& j, std::string_view key) {
  const nlohmann::json& v = Field(j, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

std::string Shown(const nlohmann::json& v) {
  if (v.is_null()) return "<unset>";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Columns padded to the widest cell, three blanks apart; the last column unpadded.
std::string Table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string Bytes(const nlohmann::json& v) {
  if (!v.is_number()) return "-";
  const double bytes = v.get<double>();
  if (bytes < 1024) return fmt::format("{:.0f} B", bytes);
  if (bytes < 1024.0 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024);
  if (bytes < 1024.0 * 1024 * 1024) return fmt::format("{:.1f} MiB", bytes / 1024 / 1024);
  return fmt::format("{:.1f} GiB", bytes / 1024 / 1024 / 1024);
}

std::string ConditionText(const nlohmann::json& c) {
  std::string out = Str(c, "type") + "=" + Str(c, "status");
  if (std::string reason = Str(c, "reason"); !reason.empty()) out += " " + reason;
  if (std::string message = Str(c, "message"); !message.empty()) out += ": " + message;
  return out;
}

const nlohmann::json* FindCondition(const nlohmann::json& object, std::string_view type) {
  const nlohmann::json& conditions = Field(Field(object, "status"), "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const auto& c : conditions) {
    if (Str(c, "type") == type) return &c;
  }
  return nullptr;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Whether the change of the rollout is carried out in `status`; *text says what is seen.
bool CarriedOut(const Rollout& r, const nlohmann::json& status, std::string* text) {
  const std::string& field = r.edit.field;
  if (r.kind == mas::Kind::kKVCluster) {
    const nlohmann::json& members = Field(status, "members");
    if (!members.is_array()) return true;
    size_t healthy = 0, on_version = 0;
    for (const auto& m : members) {
      if (!Field(m, "healthy").is_boolean() || !m["healthy"].get<bool>()) continue;
      ++healthy;
      if (Field(m, "version") == r.edit.value) ++on_version;
    }
    if (field == "members") {
      *text = fmt::format("{}/{} members healthy", healthy, Shown(r.edit.value));
      return members.size() == healthy && r.edit.value.is_number_integer() &&
             static_cast<int64_t>(healthy) == r.edit.value.get<int64_t>();
    }
    if (field == "version") {
      *text = fmt::format("{}/{} members healthy on {}", on_version, members.size(),
                          Shown(r.edit.value));
      return on_version == members.size();
    }
    return true;
  }
  // RouterFleet: the fleet state in status.operation (mas/fleet README).
  const nlohmann::json& fleet = Field(Field(status, "operation"), "fleet");
  if (!fleet.is_object()) return true;
  if (field == "replicas") {
    int64_t active = 0;
    const nlohmann::json& replicas = Field(fleet, "replicas");
    if (replicas.is_array()) {
      for (const auto& rep : replicas) {
        active += Field(rep, "color") == Field(fleet, "activeColor") ? 1 : 0;
      }
    }
    *text = fmt::format("{}/{} replicas", active, Shown(r.edit.value));
    return r.edit.value.is_number_integer() && active == r.edit.value.get<int64_t>();
  }
  if (field == "version") {
    *text = "active version " + Str(fleet, "activeVersion", "-");
    return Field(fleet, "activeVersion") == r.edit.value;
  }
  return true;
}

}  // namespace

Result<EditedObject> EditSpecField(const nlohmann::json& object, const SpecEdit& edit) {
  if (!Field(object, "spec").is_object()) return InvalidArgument("the object has no spec");
  EditedObject out;
  out.body = object;
  out.body.erase("status");
  out.previous = Field(object["spec"], edit.field);
  out.unchanged = out.previous == edit.value;
  out.body["spec"][edit.field] = edit.value;
  return out;
}

Result<EditedObject> EditLabel(const nlohmann::json& object, const std::string& key,
                               const std::string& value) {
  if (!Field(object, "metadata").is_object()) {
    return InvalidArgument("the object has no metadata");
  }
  EditedObject out;
  out.body = object;
  out.body.erase("status");
  out.previous = Field(Field(object["metadata"], "labels"), key);
  out.unchanged = out.previous == value;
  out.body["metadata"]["labels"][key] = value;
  return out;
}

std::string ChangeLine(mas::Kind kind, const std::string& name, std::string_view verb,
                       const std::string& field, const nlohmann::json& previous,
                       const nlohmann::json& value, bool unchanged, int64_t generation) {
  const std::string object = KindSingular(kind) + "/" + name;
  if (unchanged) {
    return fmt::format("{} unchanged: {} already {} (generation {})", object, field,
                       Shown(value), generation);
  }
  return fmt::format("{} {}: {} {} -> {} (generation {})", object, verb, field,
                     Shown(previous), Shown(value), generation);
}

RolloutState CheckRollout(const Rollout& rollout, const nlohmann::json& object) {
  using R = RolloutState::Result;
  const nlohmann::json& status = Field(object, "status");
  const std::string phase = Str(status, "phase", "-");
  if (Int(status, "observedGeneration") < rollout.generation) {
    return {R::kWaiting, phase + " (spec not yet observed)"};
  }
  if (phase == "Failed") return {R::kFailed, "phase Failed: " + FailingCondition(object)};
  if (rollout.edit.field == "version") {
    const std::string version = Shown(rollout.edit.value);
    if (rollout.kind == mas::Kind::kKVCluster) {
      const nlohmann::json* c = FindCondition(object, "UpgradeFailed");
      if (c != nullptr && Str(*c, "status") == "True" &&
          Str(*c, "message").rfind("version \"" + version + "\"", 0) == 0) {
        return {R::kFailed, "the upgrade to " + version + " was rolled back: " +
                                ConditionText(*c)};
      }
    } else {
      const nlohmann::json& fleet = Field(Field(status, "operation"), "fleet");
      if (Str(fleet, "failedVersion") == version &&
          Int(fleet, "failedGeneration") >= rollout.generation && phase == "Run") {
        const nlohmann::json* c = FindCondition(object, "Upgrade");
        return {R::kFailed, "the upgrade to " + version + " was rolled back: " +
                                (c != nullptr ? ConditionText(*c) : "no condition says why")};
      }
    }
  }
  if (phase != "Run") return {R::kWaiting, phase};
  std::string seen;
  if (!CarriedOut(rollout, status, &seen)) return {R::kWaiting, "Run (" + seen + ")"};
  return {R::kDone, "Run"};
}

std::string FailingCondition(const nlohmann::json& object) {
  const nlohmann::json& conditions = Field(Field(object, "status"), "conditions");
  if (conditions.is_array()) {
    for (const auto& c : conditions) {
      const std::string type = Str(c, "type");
      if (Str(c, "status") == "True" && (EndsWith(type, "Failed") || EndsWith(type, "Lost"))) {
        return ConditionText(c);
      }
    }
    for (const char* type : {"Available", "Ready", "Progressing", "Upgrade"}) {
      const nlohmann::json* c = FindCondition(object, type);
      if (c != nullptr && Str(*c, "status") == "False") return ConditionText(*c);
    }
  }
  return "no condition says why";
}

std::string RenderInspection(const nlohmann::json& report) {
  std::string out = fmt::format("Inspection of kvcluster/{} at {}", Str(report, "cluster", "-"),
                                Str(report, "time", "-"));
  if (int64_t rev = Int(report, "hashRevision"); rev > 0) {
    out += fmt::format(" (hashes at revision {})", rev);
  }
  out += "\n\nMembers:\n";
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "ENDPOINT", "REACHABLE", "LEADER", "APPLIED", "DB-SIZE", "REVISION", "HASH"}};
  std::vector<std::string> errors;
  const nlohmann::json& members = Field(report, "members");
  if (members.is_array()) {
    for (const auto& m : members) {
      const bool reachable = Field(m, "reachable").is_boolean() && m["reachable"].get<bool>();
      if (!reachable) {
        rows.push_back({Str(m, "name", "-"), Str(m, "endpoint", "-"), "no", "-", "-", "-", "-",
                        "-"});
        errors.push_back(Str(m, "name", "-") + ": " + Str(m, "error", "unreachable"));
        continue;
      }
      const std::string id = Str(m, "memberId");
      const std::string leader = Str(m, "leaderId");
      std::string hash = Str(m, "hash", "-");
      if (Field(m, "hash").is_null() && !Str(m, "hashError").empty()) {
        errors.push_back(Str(m, "name", "-") + ": hash: " + Str(m, "hashError"));
      }
      rows.push_back({Str(m, "name", "-"), Str(m, "endpoint", "-"), "yes",
                      leader.empty() || leader == "0" ? "none" : (leader == id ? "*" : "-"),
                      Str(m, "appliedIndex", "-"),
                      Bytes(Field(m, "dbSizeBytes")), Str(m, "revision", "-"), hash});
    }
  }
  out += Table(rows, "  ");
  for (const std::string& e : errors) out += "  " + e + "\n";

  const nlohmann::json& alarms = Field(report, "alarms");
  if (!alarms.is_array() || alarms.empty()) {
    out += "\nAlarms: none\n";
  } else {
    out += "\nAlarms:\n";
    for (const auto& a : alarms) {
      out += fmt::format("  {} on member {}\n", Str(a, "alarm", "-"), Str(a, "memberId", "-"));
    }
  }

  out += "\nConditions:\n";
  rows = {{"TYPE", "STATUS", "REASON", "MESSAGE"}};
  const nlohmann::json& conditions = Field(report, "conditions");
  if (conditions.is_array()) {
    for (const auto& c : conditions) {
      rows.push_back({Str(c, "type", "-"), Str(c, "status", "-"), Str(c, "reason", "-"),
                      Str(c, "message")});
    }
  }
  out += Table(rows, "  ");

  const nlohmann::json& events = Field(report, "events");
  if (events.is_array() && !events.empty()) {
    out += "\nEvents:\n";
    rows = {{"TIME", "TYPE", "REASON", "MESSAGE"}};
    for (const auto& e : events) {
      rows.push_back({Str(e, "time", "-"), Str(e, "type", "-"), Str(e, "reason", "-"),
                      Str(e, "message")});
    }
    out += Table(rows, "  ");
  }
  return out;
}

}  // namespace grid::gridctl
