#include "mas/resource/resource.h"

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <string>

#include <yaml-cpp/yaml.h>

#include "mas/resource/fields.h"

namespace grid::mas {
namespace {

constexpr const char* kKindNames[] = {"KVCluster", "RouterFleet"};
constexpr const char* kPhaseNames[] = {"",      "Provision", "Ready",   "Run",   "Update",
                                       "Rollback", "Scale",  "Destroy", "Failed"};
constexpr const char* kOperationResultNames[] = {"Succeeded", "RolledBack", "Failed",
                                                 "Superseded"};

std::string Quote(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

// A plain YAML scalar's JSON value: null, bool, integer, float or string. Quoted and block
// scalars (tag "!") and explicit strings (!!str) stay strings.
nlohmann::json ScalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return s;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  errno = 0;
  char* end = nullptr;
  const long long i = std::strtoll(s.c_str(), &end, 10);
  if (errno == 0 && end == s.c_str() + s.size() && s.find_first_of(" \t") == std::string::npos) {
    return static_cast<int64_t>(i);
  }
  errno = 0;
  const double d = std::strtod(s.c_str(), &end);
  if (errno == 0 && end == s.c_str() + s.size() &&
      s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_of(" \txXpP") == std::string::npos) {
    return d;
  }
  return s;
}

Result<nlohmann::json> YamlToJson(const YAML::Node& node, const std::string& path, int depth) {
  constexpr int kMaxDepth = 64;
  if (depth > kMaxDepth) return InvalidArgument(path + ": nested too deeply");
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nlohmann::json(nullptr);
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      size_t i = 0;
      for (const auto& item : node) {
        GRID_ASSIGN_OR_RETURN(auto v, YamlToJson(item, IndexPath(path, i++), depth + 1));
        out.push_back(std::move(v));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return InvalidArgument(path + ": keys must be strings");
        const std::string key = kv.first.Scalar();
        if (out.contains(key)) return InvalidArgument(JoinPath(path, key) + ": duplicate key");
        GRID_ASSIGN_OR_RETURN(auto v, YamlToJson(kv.second, JoinPath(path, key), depth + 1));
        out[key] = std::move(v);
      }
      return out;
    }
  }
  return InvalidArgument(path + ": unsupported YAML node");
}

ObjectMeta DecodeMeta(const nlohmann::json& j, FieldErrors* errors) {
  ObjectMeta meta;
  ObjectReader r(j, "metadata", errors);
  meta.name = r.String("name", /*required=*/true).value_or("");
  if (const nlohmann::json* labels = r.Object("labels")) {
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (!it->is_string()) {
        errors->Add(JoinPath("metadata.labels", it.key()),
                    std::string("must be a string, got ") + it->type_name());
        continue;
      }
      meta.labels[it.key()] = it->get<std::string>();
    }
  }
  meta.generation = r.Int("generation").value_or(0);
  meta.resource_version = r.String("resourceVersion").value_or("");
  meta.creation_timestamp = r.String("creationTimestamp").value_or("");
  meta.uid = r.String("uid").value_or("");
  r.Finish();
  return meta;
}

Condition DecodeCondition(const nlohmann::json& j, const std::string& path, FieldErrors* errors) {
  Condition c;
  ObjectReader r(j, path, errors);
  c.type = r.String("type", /*required=*/true).value_or("");
  if (auto s = r.String("status", /*required=*/true)) {
    if (*s == "True") {
      c.status = ConditionStatus::kTrue;
    } else if (*s == "False") {
      c.status = ConditionStatus::kFalse;
    } else if (*s == "Unknown") {
      c.status = ConditionStatus::kUnknown;
    } else {
      errors->Add(r.PathOf("status"), "must be one of True, False, Unknown, got " + Quote(*s));
    }
  }
  c.reason = r.String("reason").value_or("");
  c.message = r.String("message").value_or("");
  c.last_transition_time = r.String("lastTransitionTime").value_or("");
  r.Finish();
  return c;
}

MemberStatus DecodeMember(const nlohmann::json& j, const std::string& path, FieldErrors* errors) {
  MemberStatus m;
  ObjectReader r(j, path, errors);
  m.name = r.String("name", /*required=*/true).value_or("");
  m.id = r.String("id").value_or("");
  m.client_url = r.String("clientURL").value_or("");
  m.peer_url = r.String("peerURL").value_or("");
  m.version = r.String("version").value_or("");
  m.healthy = r.Bool("healthy").value_or(false);
  m.zone = r.String("zone").value_or("");
  m.down_since = r.String("downSince").value_or("");
  r.Finish();
  return m;
}

HistoryStep DecodeHistoryStep(const nlohmann::json& j, const std::string& path,
                              FieldErrors* errors) {
  HistoryStep h;
  ObjectReader r(j, path, errors);
  h.step = r.String("step", /*required=*/true).value_or("");
  h.time = r.String("time").value_or("");
  h.result = r.String("result").value_or("");
  r.Finish();
  return h;
}

OperationRecord DecodeOperationRecord(const nlohmann::json& j, const std::string& path,
                                      FieldErrors* errors) {
  OperationRecord rec;
  ObjectReader r(j, path, errors);
  rec.name = r.String("name", /*required=*/true).value_or("");
  if (auto result = r.String("result", /*required=*/true)) {
    auto parsed = ParseOperationResult(*result);
    if (parsed.ok()) {
      rec.result = *parsed;
    } else {
      errors->Add(r.PathOf("result"), parsed.status().message());
    }
  }
  rec.started = r.String("started").value_or("");
  rec.finished = r.String("finished").value_or("");
  if (const nlohmann::json* steps = r.Array("steps")) {
    for (size_t i = 0; i < steps->size(); ++i) {
      rec.steps.push_back(
          DecodeHistoryStep((*steps)[i], IndexPath(r.PathOf("steps"), i), errors));
    }
  }
  r.Finish();
  return rec;
}

ResourceStatus DecodeStatus(const nlohmann::json& j, FieldErrors* errors) {
  ResourceStatus st;
  ObjectReader r(j, "status", errors);
  if (auto phase = r.String("phase")) {
    auto p = ParsePhase(*phase);
    if (p.ok()) {
      st.phase = *p;
    } else {
      errors->Add("status.phase", p.status().message());
    }
  }
  if (const nlohmann::json* conditions = r.Array("conditions")) {
    for (size_t i = 0; i < conditions->size(); ++i) {
      st.conditions.push_back(
          DecodeCondition((*conditions)[i], IndexPath("status.conditions", i), errors));
    }
  }
  st.observed_generation = r.Int("observedGeneration").value_or(0);
  if (const nlohmann::json* members = r.Array("members")) {
    for (size_t i = 0; i < members->size(); ++i) {
      st.members.push_back(DecodeMember((*members)[i], IndexPath("status.members", i), errors));
    }
  }
  if (const nlohmann::json* op = r.Object("operation")) st.operation = *op;
  if (const nlohmann::json* mirror = r.Object("mirror")) st.mirror = *mirror;
  if (const nlohmann::json* history = r.Array("history")) {
    for (size_t i = 0; i < history->size(); ++i) {
      st.history.push_back(
          DecodeOperationRecord((*history)[i], IndexPath("status.history", i), errors));
    }
  }
  r.Finish();
  return st;
}

void CheckBytes(const std::string& value, size_t limit, const std::string& path,
                FieldErrors* errors) {
  if (value.size() > limit) {
    errors->Add(path, "must be at most " + std::to_string(limit) + " bytes, got " +
                          std::to_string(value.size()));
  }
}

bool IsLabelKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.' || c == '/';
}

bool IsLabelValueChar(char c) { return IsLabelKeyChar(c) && c != '/'; }

void ValidateMeta(const ObjectMeta& meta, FieldErrors* errors) {
  if (meta.name.empty()) {
    errors->Add("metadata.name", "required");
  } else {
    const std::string e = DnsLabelError(meta.name);
    if (!e.empty()) errors->Add("metadata.name", e);
  }
  if (meta.labels.size() > kMaxLabels) {
    errors->Add("metadata.labels", "must have at most " + std::to_string(kMaxLabels) +
                                       " entries, got " + std::to_string(meta.labels.size()));
    return;
  }
  for (const auto& [key, value] : meta.labels) {
    const std::string path = JoinPath("metadata.labels", key);
    if (key.empty() || key.size() > kMaxLabelKeyBytes) {
      errors->Add(path, "key must be 1.." + std::to_string(kMaxLabelKeyBytes) + " bytes");
    } else {
      for (char c : key) {
        if (!IsLabelKeyChar(c)) {
          errors->Add(path, "key must contain only [A-Za-z0-9._/-]");
          break;
        }
      }
    }
    if (value.size() > kMaxLabelValueBytes) {
      errors->Add(path, "value must be at most " + std::to_string(kMaxLabelValueBytes) +
                            " bytes, got " + std::to_string(value.size()));
    } else {
      for (char c : value) {
        if (!IsLabelValueChar(c)) {
          errors->Add(path, "value must contain only [A-Za-z0-9._-]");
          break;
        }
      }
    }
  }
  if (meta.generation < 0) errors->Add("metadata.generation", "must not be negative");
}

void ValidateStatusInto(const ResourceStatus& st, FieldErrors* errors) {
  if (st.conditions.size() > kMaxConditions) {
    errors->Add("status.conditions", "must have at most " + std::to_string(kMaxConditions) +
                                         " entries, got " + std::to_string(st.conditions.size()));
  } else {
    for (size_t i = 0; i < st.conditions.size(); ++i) {
      const Condition& c = st.conditions[i];
      const std::string path = IndexPath("status.conditions", i);
      if (c.type.empty()) errors->Add(JoinPath(path, "type"), "required");
      CheckBytes(c.type, kMaxConditionTypeBytes, JoinPath(path, "type"), errors);
      CheckBytes(c.reason, kMaxConditionReasonBytes, JoinPath(path, "reason"), errors);
      CheckBytes(c.message, kMaxConditionMessageBytes, JoinPath(path, "message"), errors);
      for (size_t k = 0; k < i; ++k) {
        if (st.conditions[k].type == c.type) {
          errors->Add(JoinPath(path, "type"), "duplicate condition type " + Quote(c.type));
          break;
        }
      }
    }
  }
  if (st.observed_generation < 0) {
    errors->Add("status.observedGeneration", "must not be negative");
  }
  if (st.members.size() > kMaxStatusMembers) {
    errors->Add("status.members", "must have at most " + std::to_string(kMaxStatusMembers) +
                                      " entries, got " + std::to_string(st.members.size()));
  }
  for (size_t i = 0; i < st.members.size(); ++i) {
    if (st.members[i].zone.empty()) continue;
    const std::string e = DnsLabelError(st.members[i].zone);
    if (!e.empty()) errors->Add(JoinPath(IndexPath("status.members", i), "zone"), e);
  }
  if (!st.operation.is_null() && !st.operation.is_object()) {
    errors->Add("status.operation", std::string("must be an object, got ") +
                                        st.operation.type_name());
  }
  if (!st.mirror.is_null() && !st.mirror.is_object()) {
    errors->Add("status.mirror", std::string("must be an object, got ") +
                                     st.mirror.type_name());
  }
  if (st.history.size() > kMaxOperationHistory) {
    errors->Add("status.history", "must have at most " + std::to_string(kMaxOperationHistory) +
                                      " entries, got " + std::to_string(st.history.size()));
  }
  for (size_t i = 0; i < st.history.size(); ++i) {
    const OperationRecord& rec = st.history[i];
    const std::string path = IndexPath("status.history", i);
    if (rec.name.empty()) errors->Add(JoinPath(path, "name"), "required");
    if (rec.steps.size() > kMaxHistorySteps) {
      errors->Add(JoinPath(path, "steps"), "must have at most " + std::to_string(kMaxHistorySteps) +
                                               " entries, got " + std::to_string(rec.steps.size()));
    }
  }
}

nlohmann::json MetaToJson(const ObjectMeta& meta, bool with_resource_version) {
  nlohmann::json j = nlohmann::json::object();
  j["name"] = meta.name;
  if (!meta.labels.empty()) j["labels"] = meta.labels;
  if (meta.generation != 0) j["generation"] = meta.generation;
  if (with_resource_version && !meta.resource_version.empty()) {
    j["resourceVersion"] = meta.resource_version;
  }
  if (!meta.creation_timestamp.empty()) j["creationTimestamp"] = meta.creation_timestamp;
  if (!meta.uid.empty()) j["uid"] = meta.uid;
  return j;
}

nlohmann::json SpecToJson(const Spec& spec) {
  return std::visit([](const auto& s) { return ToJson(s); }, spec);
}

nlohmann::json ResourceJson(const Resource& r, bool with_resource_version) {
  nlohmann::json j = nlohmann::json::object();
  j["apiVersion"] = kApiVersion;
  j["kind"] = KindName(r.kind());
  j["metadata"] = MetaToJson(r.metadata, with_resource_version);
  j["spec"] = SpecToJson(r.spec);
  j["status"] = ToJson(r.status);
  return j;
}

}  // namespace

const char* KindName(Kind kind) { return kKindNames[static_cast<int>(kind)]; }

Result<Kind> ParseKind(std::string_view name) {
  for (Kind k : kAllKinds) {
    if (name == KindName(k)) return k;
  }
  return InvalidArgument("unknown kind " + Quote(name) + " (known: KVCluster, RouterFleet)");
}

const char* PhaseName(Phase phase) { return kPhaseNames[static_cast<int>(phase)]; }

Result<Phase> ParsePhase(std::string_view name) {
  for (int i = 1; i < static_cast<int>(std::size(kPhaseNames)); ++i) {
    if (name == kPhaseNames[i]) return static_cast<Phase>(i);
  }
  return InvalidArgument("unknown phase " + Quote(name) +
                         " (known: Provision, Ready, Run, Update, Rollback, Scale, Destroy, "
                         "Failed)");
}

const char* OperationResultName(OperationResult result) {
  return kOperationResultNames[static_cast<int>(result)];
}

Result<OperationResult> ParseOperationResult(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kOperationResultNames)); ++i) {
    if (name == kOperationResultNames[i]) return static_cast<OperationResult>(i);
  }
  return InvalidArgument("unknown result " + Quote(name) +
                         " (known: Succeeded, RolledBack, Failed, Superseded)");
}

const char* ConditionStatusName(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      break;
  }
  return "Unknown";
}

std::string Resource::Describe() const {
  return std::string(KindName(kind())) + " " + Quote(metadata.name);
}

Result<Resource> ResourceFromJson(const nlohmann::json& j) {
  FieldErrors errors;
  ObjectReader r(j, "", &errors);
  if (!j.is_object()) return errors.ToStatus();
  const auto api_version = r.String("apiVersion", /*required=*/true);
  if (api_version && *api_version != kApiVersion) {
    errors.Add("apiVersion", std::string("must be ") + kApiVersion + ", got " + Quote(*api_version));
  }
  const auto kind_name = r.String("kind", /*required=*/true);
  std::optional<Kind> kind;
  if (kind_name) {
    auto k = ParseKind(*kind_name);
    if (k.ok()) {
      kind = *k;
    } else {
      errors.Add("kind", k.status().message());
    }
  }
  Resource resource;
  if (const nlohmann::json* meta = r.Object("metadata", /*required=*/true)) {
    resource.metadata = DecodeMeta(*meta, &errors);
  }
  const nlohmann::json* spec = r.Object("spec", /*required=*/true);
  if (spec != nullptr && kind) {
    switch (*kind) {
      case Kind::kKVCluster:
        resource.spec = DecodeKVClusterSpec(*spec, "spec", &errors);
        break;
      case Kind::kRouterFleet:
        resource.spec = DecodeRouterFleetSpec(*spec, "spec", &errors);
        break;
    }
  }
  if (const nlohmann::json* status = r.Object("status")) {
    resource.status = DecodeStatus(*status, &errors);
  }
  r.Finish();
  GRID_RETURN_IF_ERROR(errors.ToStatus());
  return resource;
}

Result<Resource> ParseResource(std::string_view text) {
  if (text.size() > kMaxResourceBytes) {
    return ResourceExhausted("resource is " + std::to_string(text.size()) +
                             " bytes, limit " + std::to_string(kMaxResourceBytes));
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      return InvalidArgument(std::string("invalid JSON: ") + e.what());
    }
    return ResourceFromJson(j);
  }
  YAML::Node node;
  try {
    node = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("invalid YAML: " + e.msg + " at line " + std::to_string(e.mark.line + 1) +
                           ", column " + std::to_string(e.mark.column + 1));
  }
  GRID_ASSIGN_OR_RETURN(auto j, YamlToJson(node, "", 0));
  return ResourceFromJson(j);
}

nlohmann::json ToJson(const ResourceStatus& st) {
  nlohmann::json j = nlohmann::json::object();
  if (st.phase != Phase::kNone) j["phase"] = PhaseName(st.phase);
  if (!st.conditions.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const Condition& c : st.conditions) {
      nlohmann::json cj = {{"type", c.type}, {"status", ConditionStatusName(c.status)}};
      if (!c.reason.empty()) cj["reason"] = c.reason;
      if (!c.message.empty()) cj["message"] = c.message;
      if (!c.last_transition_time.empty()) cj["lastTransitionTime"] = c.last_transition_time;
      list.push_back(std::move(cj));
    }
    j["conditions"] = std::move(list);
  }
  if (st.observed_generation != 0) j["observedGeneration"] = st.observed_generation;
  if (!st.members.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const MemberStatus& m : st.members) {
      nlohmann::json mj = {{"name", m.name}, {"healthy", m.healthy}};
      if (!m.id.empty()) mj["id"] = m.id;
      if (!m.client_url.empty()) mj["clientURL"] = m.client_url;
      if (!m.peer_url.empty()) mj["peerURL"] = m.peer_url;
      if (!m.version.empty()) mj["version"] = m.version;
      if (!m.zone.empty()) mj["zone"] = m.zone;
      if (!m.down_since.empty()) mj["downSince"] = m.down_since;
      list.push_back(std::move(mj));
    }
    j["members"] = std::move(list);
  }
  if (st.operation.is_object()) j["operation"] = st.operation;
  if (st.mirror.is_object()) j["mirror"] = st.mirror;
  if (!st.history.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const OperationRecord& rec : st.history) {
      nlohmann::json rj = {{"name", rec.name}, {"result", OperationResultName(rec.result)}};
      if (!rec.started.empty()) rj["started"] = rec.started;
      if (!rec.finished.empty()) rj["finished"] = rec.finished;
      nlohmann::json steps = nlohmann::json::array();
      for (const HistoryStep& h : rec.steps) {
        nlohmann::json hj = {{"step", h.step}};
        if (!h.time.empty()) hj["time"] = h.time;
        if (!h.result.empty()) hj["result"] = h.result;
        steps.push_back(std::move(hj));
      }
      rj["steps"] = std::move(steps);
      list.push_back(std::move(rj));
    }
    j["history"] = std::move(list);
  }
  return j;
}

nlohmann::json ToJson(const Resource& resource) { return ResourceJson(resource, true); }

std::string StoredValue(const Resource& resource) { return ResourceJson(resource, false).dump(); }

Result<Resource> DecodeStored(std::string_view value, int64_t mod_revision) {
  nlohmann::json j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Corruption("stored resource is not valid JSON");
  auto r = ResourceFromJson(j);
  if (!r.ok()) return Corruption("stored resource does not decode: " + r.status().message());
  r->metadata.resource_version = std::to_string(mod_revision);
  return r;
}

void Defaults(Resource* resource) {
  std::visit([](auto& s) { Defaults(&s); }, resource->spec);
}

Status Validate(const Resource& resource) {
  FieldErrors errors;
  ValidateMeta(resource.metadata, &errors);
  std::visit([&](const auto& s) { Validate(s, "spec", &errors); }, resource.spec);
  if (const auto* kv = std::get_if<KVClusterSpec>(&resource.spec);
      kv != nullptr && kv->standby && kv->standby->cluster == resource.metadata.name &&
      !kv->standby->cluster.empty()) {
    errors.Add("spec.standby.cluster", "must name another KVCluster, not this one");
  }
  ValidateStatusInto(resource.status, &errors);
  return errors.ToStatus();
}

Status ValidateStatus(const ResourceStatus& status) {
  FieldErrors errors;
  ValidateStatusInto(status, &errors);
  return errors.ToStatus();
}

bool SpecChanged(const Spec& before, const Spec& after) {
  if (before.index() != after.index()) return true;
  return SpecToJson(before) != SpecToJson(after);
}

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void AppendHistory(ResourceStatus* status, OperationRecord record) {
  if (record.steps.size() > kMaxHistorySteps) {
    record.steps.erase(record.steps.begin(),
                       record.steps.end() - static_cast<ptrdiff_t>(kMaxHistorySteps));
  }
  status->history.push_back(std::move(record));
  if (status->history.size() > kMaxOperationHistory) {
    status->history.erase(status->history.begin(),
                          status->history.end() - static_cast<ptrdiff_t>(kMaxOperationHistory));
  }
}

void SetCondition(ResourceStatus* status, Condition condition, std::string_view now) {
  for (Condition& c : status->conditions) {
    if (c.type != condition.type) continue;
    condition.last_transition_time =
        c.status == condition.status ? c.last_transition_time : std::string(now);
    c = std::move(condition);
    return;
  }
  condition.last_transition_time = std::string(now);
  status->conditions.push_back(std::move(condition));
}

const Condition* FindCondition(const ResourceStatus& status, std::string_view type) {
  for (const Condition& c : status.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

}  // namespace grid::mas
