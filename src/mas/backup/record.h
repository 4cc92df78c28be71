// BackupRecord: the metadata of one backup, kept as JSON next to its snapshot in the bucket:
//   <cluster>/<name>/snapshot.db   the etcd v3 snapshot file (bbolt database + its SHA-256)
//   <cluster>/<name>/backup.json   this record, written last: a backup without it never counts
// Names are "<cluster>-<UTC yyyymmddThhmmssZ>", e.g. "main-20260102T030405Z".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace grid::mas::backup {

inline constexpr char kSnapshotObject[] = "snapshot.db";
inline constexpr char kRecordObject[] = "backup.json";
// backup.json larger than this is not a record (it is not read).
inline constexpr size_t kMaxRecordBytes = 64 * 1024;
// Cluster names follow the resource names (DNS labels): at most this long.
inline constexpr size_t kMaxClusterNameBytes = 63;

struct BackupRecord {
  std::string name;
  std::string cluster;
  std::string engine;   // "etcd" or "gridkv" (the cluster's spec)
  std::string version;  // the cluster's spec version
  // The snapshotted member's revision from a Status call made just before the snapshot
  // stream started: every revision up to it is in the snapshot (writes that land while the
  // stream starts may also be in it).
  int64_t revision = 0;
  int64_t size_bytes = 0;  // of snapshot.db
  std::string sha256;      // lowercase hex of the whole snapshot.db
  std::string created;     // RFC 3339 UTC, second precision
  std::string member;      // the snapshotted member's id, 16 lowercase hex digits
  std::string endpoint;    // the client URL it was reached at
  // HashKV of the member at `revision` (what a restored cluster must report at the same
  // revision); absent when the member could not hash it (e.g. already compacted past it).
  std::optional<uint32_t> hash_kv;
  bool verified = false;   // the stored snapshot was read back and matched size and sha256

  bool operator==(const BackupRecord&) const = default;
};

nlohmann::json ToJson(const BackupRecord& record);
// Strict: every field present with its type (hashKv may be null), no unknown field, sha256
// 64 hex digits, created parses, name "<cluster>-<timestamp>". InvalidArgument naming the field.
Result<BackupRecord> RecordFromJson(const nlohmann::json& j);
Result<BackupRecord> ParseRecord(std::string_view text);

// "2026-01-02T03:04:05Z" (sub-second parts are dropped).
std::string FormatRfc3339(std::chrono::system_clock::time_point t);
// Exactly the form FormatRfc3339 writes; InvalidArgument otherwise.
Result<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);
// "<cluster>-20260102T030405Z".
std::string BackupName(std::string_view cluster, std::chrono::system_clock::time_point created);

// InvalidArgument unless `cluster` is a DNS label (lowercase letters, digits, '-', not at the
// ends) of at most kMaxClusterNameBytes.
[[nodiscard]] Status ValidateClusterName(std::string_view cluster);

std::string SnapshotKey(std::string_view cluster, std::string_view name);
std::string RecordKey(std::string_view cluster, std::string_view name);

}  // namespace grid::mas::backup
