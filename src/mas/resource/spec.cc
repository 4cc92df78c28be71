#include "mas/resource/spec.h"

#include <charconv>
#include <string>

namespace grid::mas {
namespace {

std::string Quote(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

bool IsVersionChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '.' || c == '-' || c == '+' || c == '_';
}

void CheckVersion(const std::string& version, const std::string& path, FieldErrors* errors) {
  if (version.empty()) {
    errors->Add(path, "required");
    return;
  }
  if (version.size() > kMaxVersionBytes) {
    errors->Add(path, "must be at most " + std::to_string(kMaxVersionBytes) + " bytes, got " +
                          std::to_string(version.size()));
    return;
  }
  for (char c : version) {
    if (!IsVersionChar(c)) {
      errors->Add(path, "must contain only [0-9A-Za-z.+_-], got " + Quote(version));
      return;
    }
  }
}

std::string ListenError(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return "must be host:port";
  const std::string_view port(listen.data() + colon + 1, listen.size() - colon - 1);
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return "port must be 1..65535";
  }
  for (char c : listen) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return "must not contain spaces or control characters";
  }
  return "";
}

}  // namespace

std::string DnsLabelError(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 63) {
    return "must be at most 63 characters, got " + std::to_string(name.size());
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : name) {
    if (!alnum(c) && c != '-') {
      return "must consist of lower case alphanumeric characters or '-', got " + Quote(name);
    }
  }
  if (!alnum(name.front()) || !alnum(name.back())) {
    return "must start and end with an alphanumeric character, got " + Quote(name);
  }
  return "";
}

KVClusterSpec DecodeKVClusterSpec(const nlohmann::json& j, const std::string& path,
                                  FieldErrors* errors) {
  KVClusterSpec spec;
  ObjectReader r(j, path, errors);
  spec.engine = r.String("engine").value_or("");
  spec.version = r.String("version").value_or("");
  spec.members = r.Int("members");
  if (const nlohmann::json* p = r.Object("placement")) {
    Placement placement;
    ObjectReader pr(*p, r.PathOf("placement"), errors);
    if (const nlohmann::json* zones = pr.Array("zones")) {
      const std::string zones_path = pr.PathOf("zones");
      for (size_t i = 0; i < zones->size(); ++i) {
        const auto& z = (*zones)[i];
        if (!z.is_string()) {
          errors->Add(IndexPath(zones_path, i), std::string("must be a string, got ") +
                                                    z.type_name());
          continue;
        }
        placement.zones.push_back(z.get<std::string>());
      }
    }
    pr.Finish();
    spec.placement = std::move(placement);
  }
  spec.quota_backend_bytes = r.Int("quotaBackendBytes");
  if (const nlohmann::json* in = r.Object("inspection")) {
    Inspection inspection;
    ObjectReader ir(*in, r.PathOf("inspection"), errors);
    inspection.interval_seconds = ir.Int("intervalSeconds");
    ir.Finish();
    spec.inspection = inspection;
  }
  spec.provision_timeout_seconds = r.Int("provisionTimeoutSeconds");
  r.Finish();
  return spec;
}

namespace {

Rollout DecodeRollout(const nlohmann::json& j, const std::string& path, FieldErrors* errors) {
  Rollout rollout;
  ObjectReader r(j, path, errors);
  if (const nlohmann::json* steps = r.Array("steps")) {
    const std::string steps_path = r.PathOf("steps");
    rollout.steps.emplace();
    for (size_t i = 0; i < steps->size(); ++i) {
      const auto& e = (*steps)[i];
      if (e.is_number_unsigned() && e.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        errors->Add(IndexPath(steps_path, i), "integer out of range");
      } else if (!e.is_number_integer()) {
        errors->Add(IndexPath(steps_path, i), std::string("must be an integer, got ") +
                                                  e.type_name());
      } else {
        rollout.steps->push_back(e.get<int64_t>());
      }
    }
  }
  rollout.hold_seconds = r.Int("holdSeconds");
  rollout.ready_timeout_seconds = r.Int("readyTimeoutSeconds");
  r.Finish();
  return rollout;
}

nlohmann::json RolloutToJson(const Rollout& rollout) {
  nlohmann::json j = nlohmann::json::object();
  if (rollout.steps) j["steps"] = *rollout.steps;
  if (rollout.hold_seconds) j["holdSeconds"] = *rollout.hold_seconds;
  if (rollout.ready_timeout_seconds) j["readyTimeoutSeconds"] = *rollout.ready_timeout_seconds;
  return j;
}

void Defaults(Rollout* rollout) {
  if (!rollout->steps) {
    rollout->steps.emplace(std::begin(kDefaultRolloutSteps), std::end(kDefaultRolloutSteps));
  }
  if (!rollout->hold_seconds) rollout->hold_seconds = kDefaultRolloutHoldSeconds;
  if (!rollout->ready_timeout_seconds) {
    rollout->ready_timeout_seconds = kDefaultRolloutReadyTimeoutSeconds;
  }
}

void CheckRange(std::optional<int64_t> value, int64_t min, int64_t max, const std::string& path,
                FieldErrors* errors) {
  if (value && (*value < min || *value > max)) {
    errors->Add(path, "must be " + std::to_string(min) + ".." + std::to_string(max) + ", got " +
                          std::to_string(*value));
  }
}

void Validate(const Rollout& rollout, const std::string& path, FieldErrors* errors) {
  if (rollout.steps) {
    const std::vector<int64_t>& steps = *rollout.steps;
    const std::string steps_path = JoinPath(path, "steps");
    if (steps.empty() || steps.size() > kMaxRolloutSteps) {
      errors->Add(steps_path, "must have 1.." + std::to_string(kMaxRolloutSteps) +
                                  " entries, got " + std::to_string(steps.size()));
    } else {
      for (size_t i = 0; i < steps.size(); ++i) {
        const std::string at = IndexPath(steps_path, i);
        if (steps[i] < kMinRolloutStepPercent || steps[i] > kMaxRolloutStepPercent) {
          CheckRange(steps[i], kMinRolloutStepPercent, kMaxRolloutStepPercent, at, errors);
        } else if (i > 0 && steps[i] <= steps[i - 1]) {
          errors->Add(at, "must be greater than " + std::to_string(steps[i - 1]) + ", got " +
                              std::to_string(steps[i]));
        } else if (i + 1 == steps.size() && steps[i] != kMaxRolloutStepPercent) {
          errors->Add(at, "the last step must be " + std::to_string(kMaxRolloutStepPercent) +
                              ", got " + std::to_string(steps[i]));
        }
      }
    }
  }
  CheckRange(rollout.hold_seconds, kMinRolloutHoldSeconds, kMaxRolloutHoldSeconds,
             JoinPath(path, "holdSeconds"), errors);
  CheckRange(rollout.ready_timeout_seconds, kMinRolloutReadyTimeoutSeconds,
             kMaxRolloutReadyTimeoutSeconds, JoinPath(path, "readyTimeoutSeconds"), errors);
}

}  // namespace

Rollout EffectiveRollout(const std::optional<Rollout>& rollout) {
  Rollout effective = rollout.value_or(Rollout{});
  Defaults(&effective);
  return effective;
}

RouterFleetSpec DecodeRouterFleetSpec(const nlohmann::json& j, const std::string& path,
                                      FieldErrors* errors) {
  RouterFleetSpec spec;
  ObjectReader r(j, path, errors);
  spec.replicas = r.Int("replicas");
  spec.version = r.String("version").value_or("");
  spec.routes_prefix = r.String("routesPrefix").value_or("");
  if (const nlohmann::json* l4 = r.Object("l4Front")) {
    L4Front front;
    ObjectReader lr(*l4, r.PathOf("l4Front"), errors);
    front.name = lr.String("name", /*required=*/true).value_or("");
    front.listen = lr.String("listen", /*required=*/true).value_or("");
    lr.Finish();
    spec.l4_front = std::move(front);
  }
  if (const nlohmann::json* store = r.Array("store")) {
    const std::string store_path = r.PathOf("store");
    for (size_t i = 0; i < store->size(); ++i) {
      const auto& e = (*store)[i];
      if (!e.is_string()) {
        errors->Add(IndexPath(store_path, i), std::string("must be a string, got ") +
                                                  e.type_name());
        continue;
      }
      spec.store.push_back(e.get<std::string>());
    }
  }
  if (const nlohmann::json* rollout = r.Object("rollout")) {
    spec.rollout = DecodeRollout(*rollout, r.PathOf("rollout"), errors);
  }
  r.Finish();
  return spec;
}

nlohmann::json ToJson(const KVClusterSpec& spec) {
  nlohmann::json j = nlohmann::json::object();
  if (!spec.engine.empty()) j["engine"] = spec.engine;
  if (!spec.version.empty()) j["version"] = spec.version;
  if (spec.members) j["members"] = *spec.members;
  if (spec.placement) j["placement"] = {{"zones", spec.placement->zones}};
  if (spec.quota_backend_bytes) j["quotaBackendBytes"] = *spec.quota_backend_bytes;
  if (spec.inspection) {
    nlohmann::json in = nlohmann::json::object();
    if (spec.inspection->interval_seconds) {
      in["intervalSeconds"] = *spec.inspection->interval_seconds;
    }
    j["inspection"] = std::move(in);
  }
  if (spec.provision_timeout_seconds) {
    j["provisionTimeoutSeconds"] = *spec.provision_timeout_seconds;
  }
  return j;
}

nlohmann::json ToJson(const RouterFleetSpec& spec) {
  nlohmann::json j = nlohmann::json::object();
  if (spec.replicas) j["replicas"] = *spec.replicas;
  if (!spec.version.empty()) j["version"] = spec.version;
  if (!spec.routes_prefix.empty()) j["routesPrefix"] = spec.routes_prefix;
  if (spec.l4_front) {
    j["l4Front"] = {{"name", spec.l4_front->name}, {"listen", spec.l4_front->listen}};
  }
  if (!spec.store.empty()) j["store"] = spec.store;
  if (spec.rollout) j["rollout"] = RolloutToJson(*spec.rollout);
  return j;
}

void Defaults(KVClusterSpec* spec) {
  if (spec->engine.empty()) spec->engine = kEngineGridkv;
  if (!spec->members) spec->members = kDefaultMembers;
  if (!spec->quota_backend_bytes) spec->quota_backend_bytes = kDefaultQuotaBackendBytes;
  if (spec->inspection && !spec->inspection->interval_seconds) {
    spec->inspection->interval_seconds = kDefaultInspectionIntervalSeconds;
  }
  if (!spec->provision_timeout_seconds) {
    spec->provision_timeout_seconds = kDefaultProvisionTimeoutSeconds;
  }
}

void Defaults(RouterFleetSpec* spec) {
  if (!spec->replicas) spec->replicas = kDefaultRouterReplicas;
  if (spec->rollout) Defaults(&*spec->rollout);
}

void Validate(const KVClusterSpec& spec, const std::string& path, FieldErrors* errors) {
  if (!spec.engine.empty() && spec.engine != kEngineGridkv && spec.engine != kEngineEtcd) {
    errors->Add(JoinPath(path, "engine"), "must be one of gridkv, etcd, got " + Quote(spec.engine));
  }
  CheckVersion(spec.version, JoinPath(path, "version"), errors);
  if (spec.members && (*spec.members < 1 || *spec.members > kMaxMembers)) {
    errors->Add(JoinPath(path, "members"), "must be 1.." + std::to_string(kMaxMembers) +
                                               " (odd recommended), got " +
                                               std::to_string(*spec.members));
  }
  if (spec.placement) {
    const std::string zones_path = JoinPath(JoinPath(path, "placement"), "zones");
    if (spec.placement->zones.empty() || spec.placement->zones.size() > kMaxZones) {
      errors->Add(zones_path, "must have 1.." + std::to_string(kMaxZones) + " entries, got " +
                                  std::to_string(spec.placement->zones.size()));
    } else {
      for (size_t i = 0; i < spec.placement->zones.size(); ++i) {
        const std::string e = DnsLabelError(spec.placement->zones[i]);
        if (!e.empty()) errors->Add(IndexPath(zones_path, i), e);
        for (size_t k = 0; k < i; ++k) {
          if (spec.placement->zones[k] == spec.placement->zones[i]) {
            errors->Add(IndexPath(zones_path, i),
                        "duplicate zone " + Quote(spec.placement->zones[i]));
            break;
          }
        }
      }
    }
  }
  if (spec.quota_backend_bytes && (*spec.quota_backend_bytes < kMinQuotaBackendBytes ||
                                   *spec.quota_backend_bytes > kMaxQuotaBackendBytes)) {
    errors->Add(JoinPath(path, "quotaBackendBytes"),
                "must be " + std::to_string(kMinQuotaBackendBytes) + ".." +
                    std::to_string(kMaxQuotaBackendBytes) + ", got " +
                    std::to_string(*spec.quota_backend_bytes));
  }
  if (spec.inspection && spec.inspection->interval_seconds) {
    const int64_t s = *spec.inspection->interval_seconds;
    if (s < kMinInspectionIntervalSeconds || s > kMaxInspectionIntervalSeconds) {
      errors->Add(JoinPath(JoinPath(path, "inspection"), "intervalSeconds"),
                  "must be " + std::to_string(kMinInspectionIntervalSeconds) + ".." +
                      std::to_string(kMaxInspectionIntervalSeconds) + ", got " +
                      std::to_string(s));
    }
  }
  if (spec.provision_timeout_seconds) {
    const int64_t s = *spec.provision_timeout_seconds;
    if (s < kMinProvisionTimeoutSeconds || s > kMaxProvisionTimeoutSeconds) {
      errors->Add(JoinPath(path, "provisionTimeoutSeconds"),
                  "must be " + std::to_string(kMinProvisionTimeoutSeconds) + ".." +
                      std::to_string(kMaxProvisionTimeoutSeconds) + ", got " +
                      std::to_string(s));
    }
  }
}

void Validate(const RouterFleetSpec& spec, const std::string& path, FieldErrors* errors) {
  if (spec.replicas && (*spec.replicas < 1 || *spec.replicas > kMaxRouterReplicas)) {
    errors->Add(JoinPath(path, "replicas"), "must be 1.." + std::to_string(kMaxRouterReplicas) +
                                                ", got " + std::to_string(*spec.replicas));
  }
  CheckVersion(spec.version, JoinPath(path, "version"), errors);
  const std::string prefix_path = JoinPath(path, "routesPrefix");
  if (spec.routes_prefix.empty()) {
    errors->Add(prefix_path, "required");
  } else if (spec.routes_prefix.size() > kMaxKeyPrefixBytes) {
    errors->Add(prefix_path, "must be at most " + std::to_string(kMaxKeyPrefixBytes) +
                                 " bytes, got " + std::to_string(spec.routes_prefix.size()));
  } else {
    for (char c : spec.routes_prefix) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
        errors->Add(prefix_path, "must not contain spaces or control characters");
        break;
      }
    }
  }
  if (spec.l4_front) {
    const std::string l4_path = JoinPath(path, "l4Front");
    if (!spec.l4_front->name.empty()) {
      const std::string e = DnsLabelError(spec.l4_front->name);
      if (!e.empty()) errors->Add(JoinPath(l4_path, "name"), e);
    }
    if (!spec.l4_front->listen.empty()) {
      if (spec.l4_front->listen.size() > kMaxListenBytes) {
        errors->Add(JoinPath(l4_path, "listen"),
                    "must be at most " + std::to_string(kMaxListenBytes) + " bytes");
      } else {
        const std::string e = ListenError(spec.l4_front->listen);
        if (!e.empty()) errors->Add(JoinPath(l4_path, "listen"), e);
      }
    }
  }
  const std::string store_path = JoinPath(path, "store");
  if (spec.store.size() > kMaxStoreEndpoints) {
    errors->Add(store_path, "must have at most " + std::to_string(kMaxStoreEndpoints) +
                                " entries, got " + std::to_string(spec.store.size()));
  } else {
    for (size_t i = 0; i < spec.store.size(); ++i) {
      const std::string& endpoint = spec.store[i];
      std::string e = endpoint.size() > kMaxListenBytes
                          ? "must be at most " + std::to_string(kMaxListenBytes) + " bytes"
                          : ListenError(endpoint);
      if (e.empty() && endpoint.find(',') != std::string::npos) e = "must not contain ','";
      if (!e.empty()) errors->Add(IndexPath(store_path, i), e);
    }
  }
  if (spec.rollout) Validate(*spec.rollout, JoinPath(path, "rollout"), errors);
}

}  // namespace grid::mas
