#include "format.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace grid::gridctl {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// True when a document holds something besides blanks and comments.
bool HasContent(std::string_view doc) {
  std::istringstream in{std::string(doc)};
  for (std::string line; std::getline(in, line);) {
    std::string_view t = Trim(line);
    if (!t.empty() && t.front() != '#') return true;
  }
  return false;
}

std::string Str(const nlohmann::json& j, std::string_view key, std::string fallback = "") {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

const nlohmann::json& Field(const nlohmann::json& j, std::string_view key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Scalar(const nlohmann::json& j) {
  return j.is_string() ? j.get<std::string>() : j.dump();
}

// Whether a plain YAML scalar would read back as something other than this string.
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  static const char* const kWords[] = {"true", "false", "yes", "no", "on", "off", "null", "~",
                                       "y", "n"};
  std::string lower = Lower(s);
  for (const char* w : kWords) {
    if (lower == w) return true;
  }
  bool numeric = true;
  for (char c : s) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ||
          c == 'e' || c == 'E' || c == '_' || c == ':' || c == 'x' || c == 'o')) {
      numeric = false;
    }
  }
  // Timestamps ("2026-01-02T03:04:05Z") are kept as strings too.
  return numeric || (std::isdigit(static_cast<unsigned char>(s[0])) && s.find('T') != s.npos &&
                     s.back() == 'Z');
}

void Emit(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    if (j.empty()) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      return;
    }
    out << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      Emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    if (j.empty()) {
      out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
      return;
    }
    out << YAML::BeginSeq;
    for (const auto& v : j) Emit(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (NeedsQuotes(s)) {
      out << YAML::DoubleQuoted << s;
    } else {
      out << s;
    }
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();  // numbers and booleans, spelled as in JSON
  }
}

std::string MembersColumn(mas::Kind kind, const nlohmann::json& object) {
  const nlohmann::json& spec = Field(object, "spec");
  if (kind == mas::Kind::kRouterFleet) return Str(spec, "replicas", "-");
  const nlohmann::json& members = Field(Field(object, "status"), "members");
  std::string desired = Str(spec, "members", "-");
  if (!members.is_array()) return "-/" + desired;
  int healthy = 0;
  for (const auto& m : members) healthy += m.value("healthy", false) ? 1 : 0;
  return fmt::format("{}/{}", healthy, desired);
}

}  // namespace

Result<mas::Kind> ParseKindAlias(std::string_view text) {
  std::string k = Lower(text);
  if (k == "kvcluster" || k == "kvclusters" || k == "kv") return mas::Kind::kKVCluster;
  if (k == "routerfleet" || k == "routerfleets" || k == "rf") return mas::Kind::kRouterFleet;
  return InvalidArgument(fmt::format(
      "unknown kind \"{}\" (use kvcluster|kvclusters|kv or routerfleet|routerfleets|rf)", text));
}

std::string KindSingular(mas::Kind kind) { return Lower(mas::KindName(kind)); }

std::vector<std::string> SplitDocuments(std::string_view text) {
  std::vector<std::string> docs;
  std::string_view trimmed = Trim(text);
  if (!trimmed.empty() && trimmed.front() == '{') return {std::string(text)};
  std::string current;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::string_view t = line;
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) {
      t.remove_suffix(1);
    }
    if (t == "---") {
      if (HasContent(current)) docs.push_back(current);
      current.clear();
      continue;
    }
    current += line;
    current += '\n';
  }
  if (HasContent(current)) docs.push_back(current);
  return docs;
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  std::string_view t = Trim(text);
  int64_t n = -1;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  std::string_view unit(ptr, static_cast<size_t>(t.data() + t.size() - ptr));
  if (ec != std::errc() || n < 0) {
    return InvalidArgument(fmt::format("duration \"{}\": want e.g. 120s, 2m, 500ms", text));
  }
  if (unit.empty() || unit == "s") return std::chrono::milliseconds(n * 1000);
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit == "m") return std::chrono::milliseconds(n * 60 * 1000);
  if (unit == "h") return std::chrono::milliseconds(n * 3600 * 1000);
  return InvalidArgument(fmt::format("duration \"{}\": unknown unit \"{}\"", text, unit));
}

std::string FormatAge(std::string_view rfc3339, std::chrono::system_clock::time_point now) {
  std::tm tm{};
  std::string s(rfc3339);
  if (s.size() < 20 || strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return "<unknown>";
  }
  auto created = std::chrono::system_clock::from_time_t(timegm(&tm));
  int64_t secs = std::chrono::duration_cast<std::chrono::seconds>(now - created).count();
  if (secs < 0) secs = 0;
  if (secs < 120) return fmt::format("{}s", secs);
  if (secs < 2 * 3600) return fmt::format("{}m", secs / 60);
  if (secs < 2 * 86400) return fmt::format("{}h", secs / 3600);
  return fmt::format("{}d", secs / 86400);
}

std::string RenderTable(mas::Kind kind, const std::vector<nlohmann::json>& objects,
                        std::chrono::system_clock::time_point now) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "PHASE", kind == mas::Kind::kKVCluster ? "MEMBERS" : "REPLICAS",
                  "VERSION", "AGE"});
  for (const auto& o : objects) {
    const nlohmann::json& meta = Field(o, "metadata");
    rows.push_back({Str(meta, "name"), Str(Field(o, "status"), "phase", "-"),
                    MembersColumn(kind, o), Str(Field(o, "spec"), "version", "-"),
                    FormatAge(Str(meta, "creationTimestamp"), now)});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string RenderDescribe(const nlohmann::json& object) {
  const nlohmann::json& meta = Field(object, "metadata");
  const nlohmann::json& spec = Field(object, "spec");
  const nlohmann::json& status = Field(object, "status");
  std::string out;
  out += fmt::format("Name:         {}\n", Str(meta, "name"));
  out += fmt::format("Kind:         {}\n", Str(object, "kind"));
  const nlohmann::json& labels = Field(meta, "labels");
  if (labels.is_object() && !labels.empty()) {
    std::string l;
    for (auto it = labels.begin(); it != labels.end(); ++it) {
      l += (l.empty() ? "" : ",") + it.key() + "=" + Scalar(it.value());
    }
    out += fmt::format("Labels:       {}\n", l);
  }
  out += fmt::format("Created:      {}\n", Str(meta, "creationTimestamp", "-"));
  out += fmt::format("Generation:   {} (observed {})\n", Str(meta, "generation", "-"),
                     Str(status, "observedGeneration", "-"));
  out += fmt::format("Version:      {}\n", Str(meta, "resourceVersion", "-"));
  out += "Spec:\n";
  if (spec.is_object()) {
    for (auto it = spec.begin(); it != spec.end(); ++it) {
      out += fmt::format("  {}: {}\n", it.key(), Scalar(it.value()));
    }
  }
  out += fmt::format("Phase:        {}\n", Str(status, "phase", "-"));
  const nlohmann::json& conditions = Field(status, "conditions");
  out += "Conditions:\n";
  if (!conditions.is_array() || conditions.empty()) {
    out += "  <none>\n";
  } else {
    for (const auto& c : conditions) {
      out += fmt::format("  {}={}  reason={}  since={}\n    {}\n", Str(c, "type"),
                         Str(c, "status"), Str(c, "reason", "-"),
                         Str(c, "lastTransitionTime", "-"), Str(c, "message"));
    }
  }
  const nlohmann::json& members = Field(status, "members");
  if (members.is_array() && !members.empty()) {
    out += "Members:\n";
    for (const auto& m : members) {
      std::string line = fmt::format(
          "  {}  id={}  client={}  peer={}  version={}", Str(m, "name"), Str(m, "id", "-"),
          Str(m, "clientURL", "-"), Str(m, "peerURL", "-"), Str(m, "version", "-"));
      if (!Str(m, "zone").empty()) line += "  zone=" + Str(m, "zone");
      line += m.value("healthy", false) ? "  healthy" : "  unhealthy";
      if (!Str(m, "downSince").empty()) line += " since " + Str(m, "downSince");
      out += line + "\n";
    }
  }
  const nlohmann::json& op = Field(status, "operation");
  out += "Operation:\n";
  if (!op.is_object() || op.empty()) {
    out += "  <none>\n";
  } else {
    out += fmt::format("  {} (step {})\n", Str(op, "name", "-"), Str(op, "step", "-"));
    for (auto it = op.begin(); it != op.end(); ++it) {
      if (it.key() == "name" || it.key() == "step" || it.key() == "steps") continue;
      out += fmt::format("  {}: {}\n", it.key(), Scalar(it.value()));
    }
    const nlohmann::json& steps = Field(op, "steps");
    if (steps.is_array()) {
      out += "  Steps:\n";
      for (const auto& s : steps) {
        if (!s.is_object()) {
          out += fmt::format("    {}\n", Scalar(s));
          continue;
        }
        std::string line;
        for (auto it = s.begin(); it != s.end(); ++it) {
          line += (line.empty() ? "" : "  ") + it.key() + "=" + Scalar(it.value());
        }
        out += "    " + line + "\n";
      }
    }
  }
  // The standby mirror (status.mirror): scalars on one line each, then the running
  // promotion's step and the last promotion.
  const nlohmann::json& mirror = Field(status, "mirror");
  if (mirror.is_object() && !mirror.empty()) {
    out += "Mirror:\n";
    for (auto it = mirror.begin(); it != mirror.end(); ++it) {
      if (it.key() == "operation" || it.key() == "promotion") continue;
      out += fmt::format("  {}: {}\n", it.key(), Scalar(it.value()));
    }
    const nlohmann::json& mop = Field(mirror, "operation");
    if (mop.is_object()) {
      out += fmt::format("  operation: {} (step {}, since {})\n", Str(mop, "name", "-"),
                         Str(mop, "step", "-"), Str(mop, "stepStarted", "-"));
    }
    const nlohmann::json& promotion = Field(mirror, "promotion");
    if (promotion.is_object()) {
      std::string line;
      for (auto it = promotion.begin(); it != promotion.end(); ++it) {
        line += (line.empty() ? "" : "  ") + it.key() + "=" + Scalar(it.value());
      }
      out += "  promotion: " + line + "\n";
    }
  }
  // Finished operations, newest first, each with its steps (oldest first).
  const nlohmann::json& history = Field(status, "history");
  out += "History:\n";
  if (!history.is_array() || history.empty()) {
    out += "  <none>\n";
  } else {
    for (auto rec = history.rbegin(); rec != history.rend(); ++rec) {
      out += fmt::format("  {}  {}  {} -> {}\n", Str(*rec, "name", "-"), Str(*rec, "result", "-"),
                         Str(*rec, "started", "-"), Str(*rec, "finished", "-"));
      const nlohmann::json& steps = Field(*rec, "steps");
      if (!steps.is_array()) continue;
      for (const auto& s : steps) {
        out += fmt::format("    {}  {}  {}\n", Str(s, "time", "-"), Str(s, "step", "-"),
                           Str(s, "result", "-"));
      }
    }
  }
  return out;
}

std::string ToYaml(const nlohmann::json& value) {
  YAML::Emitter emitter;
  Emit(emitter, value);
  return std::string(emitter.c_str()) + "\n";
}

}  // namespace grid::gridctl
