#include "mas/resource/spec.h"

#include <charconv>
#include <cstdint>
#include <string>

#include "mas/backup/retention.h"
#include "mas/backup/schedule.h"

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
  if (const nlohmann::json* b = r.Object("backup")) {
    BackupSpec backup;
    ObjectReader br(*b, r.PathOf("backup"), errors);
    backup.schedule = br.String("schedule").value_or("");
    backup.bucket = br.String("bucket", /*required=*/true).value_or("");
    if (const nlohmann::json* ret = br.Object("retention")) {
      BackupRetention retention;
      ObjectReader rr(*ret, br.PathOf("retention"), errors);
      retention.keep_last = rr.Int("keepLast");
      retention.hourly = rr.Int("hourly");
      retention.daily = rr.Int("daily");
      retention.weekly = rr.Int("weekly");
      rr.Finish();
      backup.retention = retention;
    }
    backup.auto_restore_after_seconds = br.Int("autoRestoreAfterSeconds");
    br.Finish();
    spec.backup = std::move(backup);
  }
  if (const nlohmann::json* rf = r.Object("restoreFrom")) {
    RestoreFrom restore;
    ObjectReader rr(*rf, r.PathOf("restoreFrom"), errors);
    restore.backup = rr.String("backup", /*required=*/true).value_or("");
    restore.requested = rr.String("requested").value_or("");
    rr.Finish();
    spec.restore_from = std::move(restore);
  }
  if (const nlohmann::json* sb = r.Object("standby")) {
    spec.standby = DecodeStandby(*sb, r.PathOf("standby"), errors);
  }
  r.Finish();
  return spec;
}

namespace {

nlohmann::json BackupToJson(const BackupSpec& backup) {
  nlohmann::json j = nlohmann::json::object();
  if (!backup.schedule.empty()) j["schedule"] = backup.schedule;
  j["bucket"] = backup.bucket;
  if (backup.retention) {
    nlohmann::json r = nlohmann::json::object();
    if (backup.retention->keep_last) r["keepLast"] = *backup.retention->keep_last;
    if (backup.retention->hourly) r["hourly"] = *backup.retention->hourly;
    if (backup.retention->daily) r["daily"] = *backup.retention->daily;
    if (backup.retention->weekly) r["weekly"] = *backup.retention->weekly;
    j["retention"] = std::move(r);
  }
  if (backup.auto_restore_after_seconds) {
    j["autoRestoreAfterSeconds"] = *backup.auto_restore_after_seconds;
  }
  return j;
}

// "/abs", "dir:///abs" or "s3://bucket[/prefix]"; "" when it has that shape.
std::string BucketUrlError(const std::string& url) {
  if (url.empty()) return "required";
  if (url.size() > kMaxBackupBucketBytes) {
    return "must be at most " + std::to_string(kMaxBackupBucketBytes) + " bytes, got " +
           std::to_string(url.size());
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) return "must not contain control characters";
  }
  const std::string dir_scheme = "dir://";
  const std::string s3_scheme = "s3://";
  if (url.front() == '/') return "";
  if (url.rfind(dir_scheme, 0) == 0) {
    if (url.size() > dir_scheme.size() && url[dir_scheme.size()] == '/') return "";
    return "dir:// needs an absolute path (dir:///path), got " + Quote(url);
  }
  if (url.rfind(s3_scheme, 0) == 0) {
    if (url.size() > s3_scheme.size() && url[s3_scheme.size()] != '/') return "";
    return "s3:// needs a bucket name (s3://bucket[/prefix]), got " + Quote(url);
  }
  return "must be an absolute directory path, dir:///path or s3://bucket[/prefix], got " +
         Quote(url);
}

void ValidateBackup(const BackupSpec& spec, const std::string& path, FieldErrors* errors) {
  if (!spec.schedule.empty()) {
    auto parsed = backup::CronSchedule::Parse(spec.schedule);
    if (!parsed.ok()) errors->Add(JoinPath(path, "schedule"), parsed.status().message());
  }
  if (std::string e = BucketUrlError(spec.bucket); !e.empty()) {
    errors->Add(JoinPath(path, "bucket"), e);
  }
  if (spec.auto_restore_after_seconds) {
    const int64_t s = *spec.auto_restore_after_seconds;
    if (s < kMinAutoRestoreAfterSeconds || s > kMaxAutoRestoreAfterSeconds) {
      errors->Add(JoinPath(path, "autoRestoreAfterSeconds"),
                  "must be " + std::to_string(kMinAutoRestoreAfterSeconds) + ".." +
                      std::to_string(kMaxAutoRestoreAfterSeconds) + ", got " +
                      std::to_string(s));
    }
  }
  if (!spec.retention) return;
  const std::string retention_path = JoinPath(path, "retention");
  const BackupRetention& r = *spec.retention;
  backup::RetentionPolicy policy;
  bool in_int = true;
  auto take = [&](std::optional<int64_t> value, const char* field, int min, int* out) {
    if (!value) return;
    if (*value < INT32_MIN || *value > INT32_MAX) {
      errors->Add(JoinPath(retention_path, field),
                  "must be " + std::to_string(min) + ".." +
                      std::to_string(backup::kMaxRetentionCount) + ", got " +
                      std::to_string(*value));
      in_int = false;
      return;
    }
    *out = static_cast<int>(*value);
  };
  take(r.keep_last, "keepLast", backup::kMinKeepLast, &policy.keep_last);
  take(r.hourly, "hourly", 0, &policy.hourly);
  take(r.daily, "daily", 0, &policy.daily);
  take(r.weekly, "weekly", 0, &policy.weekly);
  if (!in_int) return;
  Status s = backup::ValidateRetention(policy, retention_path);
  if (s.ok()) return;
  // "<field>: <message>; ..." -> one error per field.
  const std::string& text = s.message();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("; ", start);
    if (end == std::string::npos) end = text.size();
    const std::string one = text.substr(start, end - start);
    const size_t colon = one.find(": ");
    if (colon == std::string::npos) {
      errors->Add(retention_path, one);
    } else {
      errors->Add(one.substr(0, colon), one.substr(colon + 2));
    }
    start = end + 2;
  }
}

}  // namespace

namespace {

void ValidateRestoreFrom(const KVClusterSpec& spec, const std::string& path,
                         FieldErrors* errors) {
  const RestoreFrom& rf = *spec.restore_from;
  if (!spec.backup) {
    errors->Add(path, "requires spec.backup.bucket (the bucket backups are restored from)");
  }
  const std::string backup_path = JoinPath(path, "backup");
  if (rf.backup.empty()) {
    errors->Add(backup_path, "required: \"latest\" or a backup name");
  } else if (rf.backup.size() > kMaxRestoreBackupBytes) {
    errors->Add(backup_path, "must be at most " + std::to_string(kMaxRestoreBackupBytes) +
                                 " bytes, got " + std::to_string(rf.backup.size()));
  } else {
    for (char c : rf.backup) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-';
      if (!ok) {
        errors->Add(backup_path, "must be \"latest\" or a backup name of [A-Za-z0-9-], got " +
                                     Quote(rf.backup));
        break;
      }
    }
  }
  const std::string requested_path = JoinPath(path, "requested");
  if (rf.requested.size() > kMaxRestoreRequestedBytes) {
    errors->Add(requested_path, "must be at most " + std::to_string(kMaxRestoreRequestedBytes) +
                                    " bytes, got " + std::to_string(rf.requested.size()));
  }
  for (char c : rf.requested) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      errors->Add(requested_path, "must not contain control characters");
      break;
    }
  }
}

}  // namespace

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
  spec.store_cluster = r.String("storeCluster").value_or("");
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
  if (spec.backup) j["backup"] = BackupToJson(*spec.backup);
  if (spec.restore_from) {
    nlohmann::json rf = {{"backup", spec.restore_from->backup}};
    if (!spec.restore_from->requested.empty()) rf["requested"] = spec.restore_from->requested;
    j["restoreFrom"] = std::move(rf);
  }
  if (spec.standby) j["standby"] = ToJson(*spec.standby);
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
  if (!spec.store_cluster.empty()) j["storeCluster"] = spec.store_cluster;
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
  if (spec->backup) {
    // No retention section: RetentionPolicy's defaults. A section says what it keeps: its
    // unset tiers keep nothing (unset keepLast: the default).
    const backup::RetentionPolicy defaults;
    const bool given = spec->backup->retention.has_value();
    BackupRetention& r = given ? *spec->backup->retention : spec->backup->retention.emplace();
    if (!r.keep_last) r.keep_last = defaults.keep_last;
    if (!r.hourly) r.hourly = given ? 0 : defaults.hourly;
    if (!r.daily) r.daily = given ? 0 : defaults.daily;
    if (!r.weekly) r.weekly = given ? 0 : defaults.weekly;
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
  if (spec.backup) ValidateBackup(*spec.backup, JoinPath(path, "backup"), errors);
  if (spec.restore_from) ValidateRestoreFrom(spec, JoinPath(path, "restoreFrom"), errors);
  if (spec.standby) Validate(*spec.standby, "", JoinPath(path, "standby"), errors);
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
  if (!spec.store_cluster.empty()) {
    const std::string cluster_path = JoinPath(path, "storeCluster");
    if (std::string e = DnsLabelError(spec.store_cluster); !e.empty()) {
      errors->Add(cluster_path, e);
    } else if (!spec.store.empty()) {
      errors->Add(cluster_path, "must not be set together with spec.store (one table source)");
    }
  }
  if (spec.rollout) Validate(*spec.rollout, JoinPath(path, "rollout"), errors);
}

}  // namespace grid::mas
