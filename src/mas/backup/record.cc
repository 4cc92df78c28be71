#include "mas/backup/record.h"

#include <cstdio>
#include <set>

namespace grid::mas::backup {
namespace {

using std::chrono::system_clock;

constexpr const char* kFields[] = {"name",   "cluster",    "engine",   "version", "revision",
                                   "sizeBytes", "sha256",  "created",  "member",  "endpoint",
                                   "hashKv", "verified"};

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Format(system_clock::time_point t, const char* fmt) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(secs - day);
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace

std::string FormatRfc3339(system_clock::time_point t) {
  return Format(t, "%04d-%02u-%02uT%02d:%02d:%02dZ");
}

std::string BackupName(std::string_view cluster, system_clock::time_point created) {
  return std::string(cluster) + "-" + Format(created, "%04d%02u%02uT%02d%02d%02dZ");
}

Result<system_clock::time_point> ParseRfc3339(std::string_view text) {
  int y, mo, d, h, mi, s;
  char z = 0;
  int consumed = 0;
  const std::string str(text);
  if (text.size() != 20 ||
      std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &y, &mo, &d, &h, &mi, &s, &z,
                  &consumed) != 7 ||
      consumed != 20 || z != 'Z' || h > 23 || mi > 59 || s > 59 || h < 0 || mi < 0 || s < 0) {
    return InvalidArgument("\"" + str + "\" is not an RFC 3339 UTC time like 2026-01-02T03:04:05Z");
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                        std::chrono::day(d)};
  if (!ymd.ok()) return InvalidArgument("\"" + str + "\" is not a valid date");
  return system_clock::time_point(std::chrono::sys_days(ymd) + std::chrono::hours(h) +
                                  std::chrono::minutes(mi) + std::chrono::seconds(s));
}

Status ValidateClusterName(std::string_view cluster) {
  if (cluster.empty() || cluster.size() > kMaxClusterNameBytes) {
    return InvalidArgument("cluster name must be 1.." + std::to_string(kMaxClusterNameBytes) +
                           " bytes, got " + std::to_string(cluster.size()));
  }
  for (char c : cluster) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return InvalidArgument("cluster name \"" + std::string(cluster) +
                             "\" may hold only lowercase letters, digits and '-'");
    }
  }
  if (cluster.front() == '-' || cluster.back() == '-') {
    return InvalidArgument("cluster name \"" + std::string(cluster) +
                           "\" must not start or end with '-'");
  }
  return Status::Ok();
}

std::string SnapshotKey(std::string_view cluster, std::string_view name) {
  return std::string(cluster) + "/" + std::string(name) + "/" + kSnapshotObject;
}

std::string RecordKey(std::string_view cluster, std::string_view name) {
  return std::string(cluster) + "/" + std::string(name) + "/" + kRecordObject;
}

nlohmann::json ToJson(const BackupRecord& r) {
  return nlohmann::json{{"name", r.name},
                        {"cluster", r.cluster},
                        {"engine", r.engine},
                        {"version", r.version},
                        {"revision", r.revision},
                        {"sizeBytes", r.size_bytes},
                        {"sha256", r.sha256},
                        {"created", r.created},
                        {"member", r.member},
                        {"endpoint", r.endpoint},
                        {"hashKv", r.hash_kv ? nlohmann::json(*r.hash_kv) : nlohmann::json()},
                        {"verified", r.verified}};
}

Result<BackupRecord> RecordFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("backup record: must be a JSON object");
  const std::set<std::string> known(std::begin(kFields), std::end(kFields));
  for (const auto& [key, value] : j.items()) {
    if (!known.count(key)) return InvalidArgument("backup record: unknown field \"" + key + "\"");
  }
  for (const char* f : kFields) {
    if (!j.contains(f)) return InvalidArgument(std::string("backup record: ") + f + ": missing");
  }
  auto bad = [](const char* field, const char* what) {
    return InvalidArgument(std::string("backup record: ") + field + ": must be " + what);
  };
  BackupRecord r;
  for (auto [field, out] : {std::pair{"name", &r.name}, {"cluster", &r.cluster},
                            {"engine", &r.engine}, {"version", &r.version},
                            {"sha256", &r.sha256}, {"created", &r.created},
                            {"member", &r.member}, {"endpoint", &r.endpoint}}) {
    if (!j[field].is_string()) return bad(field, "a string");
    *out = j[field].get<std::string>();
  }
  for (auto [field, out] : {std::pair{"revision", &r.revision}, {"sizeBytes", &r.size_bytes}}) {
    if (!j[field].is_number_integer() || j[field].get<int64_t>() < 0) {
      return bad(field, "a non-negative integer");
    }
    *out = j[field].get<int64_t>();
  }
  if (!j["verified"].is_boolean()) return bad("verified", "a boolean");
  r.verified = j["verified"].get<bool>();
  const auto& hash = j["hashKv"];
  if (!hash.is_null()) {
    if (!hash.is_number_unsigned() || hash.get<uint64_t>() > UINT32_MAX) {
      return bad("hashKv", "null or an unsigned 32-bit integer");
    }
    r.hash_kv = hash.get<uint32_t>();
  }
  if (r.sha256.size() != 64 || !IsHex(r.sha256)) return bad("sha256", "64 lowercase hex digits");
  GRID_RETURN_IF_ERROR(ValidateClusterName(r.cluster).WithContext("backup record: cluster"));
  auto created = ParseRfc3339(r.created);
  if (!created.ok()) return created.status().WithContext("backup record: created");
  if (r.name != BackupName(r.cluster, *created)) {
    return InvalidArgument("backup record: name: must be \"" + BackupName(r.cluster, *created) +
                           "\" (cluster and created), got \"" + r.name + "\"");
  }
  return r;
}

Result<BackupRecord> ParseRecord(std::string_view text) {
  if (text.size() > kMaxRecordBytes) {
    return InvalidArgument("backup record: at most " + std::to_string(kMaxRecordBytes) +
                           " bytes, got " + std::to_string(text.size()));
  }
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("backup record: not valid JSON");
  return RecordFromJson(j);
}

}  // namespace grid::mas::backup
