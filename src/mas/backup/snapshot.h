// Taking and checking etcd v3 snapshot files.
//
// An etcd v3 snapshot (what Maintenance.Snapshot streams, from etcd 3.4 and gridkv alike) is
// the member's backend as a bbolt file followed by the 32-byte SHA-256 of the bytes before it.
// TakeSnapshot streams one member's snapshot into a file and checks it before the file
// appears; VerifySnapshotFile checks any such file.
//
// Thread-safety: free functions; concurrent calls must use different paths.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace grid::mas::backup {

inline constexpr size_t kSnapshotDigestBytes = 32;
// etcdctl's rule for a snapshot with its digest: size % kSnapshotAlignBytes == 32.
inline constexpr int64_t kSnapshotAlignBytes = 512;
// bbolt's magic (little-endian uint32 at kBoltMagicOffset of the first meta page).
inline constexpr uint32_t kBoltMagic = 0xED0CDAED;
inline constexpr int64_t kBoltMagicOffset = 16;
// A snapshot larger than this is refused (ResourceExhausted) while it streams: twice etcd's
// largest recommended backend quota (8 GiB).
inline constexpr int64_t kMaxSnapshotBytes = int64_t{16} << 30;

struct SnapshotFileInfo {
  int64_t size_bytes = 0;  // of the whole file, digest included
  std::string sha256;      // lowercase hex of the whole file
};

// Checks that `path` is a snapshot with its digest: size at least a bbolt page header plus the
// digest and a multiple of kSnapshotAlignBytes plus 32, the bbolt magic at offset 16, and the
// last 32 bytes equal to the SHA-256 of the bytes before them. Corruption naming the file and
// the offset of the failed check ("snapshot F: offset N: ..."); IOError when unreadable.
Result<SnapshotFileInfo> VerifySnapshotFile(const std::string& path);

struct TakeSnapshotOptions {
  std::chrono::milliseconds dial_timeout{5000};
  std::chrono::milliseconds call_timeout{5000};  // Status and HashKV
  // Deadline of the whole snapshot stream.
  std::chrono::milliseconds stream_timeout{std::chrono::minutes(30)};
  int64_t max_snapshot_bytes = kMaxSnapshotBytes;
  // Ask the member for HashKV at the recorded revision (one pass over its keyspace).
  bool hash_kv = true;
};

struct SnapshotInfo {
  SnapshotFileInfo file;
  std::string endpoint;    // the member the snapshot came from, as given
  uint64_t member_id = 0;
  std::string server_version;  // Status.version
  // The member's revision (Status response header) just before the stream started: every
  // revision up to it is in the snapshot.
  int64_t revision = 0;
  std::optional<uint32_t> hash_kv;  // HashKV(revision) of the member, when it could answer
  std::string hash_kv_error;        // why hash_kv is absent (empty when present or not asked)
};

// Streams Maintenance.Snapshot of one member into `local_path`, written whole or not at all
// (a temporary "<local_path>.part" is fsynced, verified with VerifySnapshotFile, renamed, the
// directory fsynced; on any error nothing is left at either path). The member is the first
// of `endpoints` ("host:port" or "http://host:port") that answers Status; Status, Snapshot and
// HashKV all go to it. Errors: Unavailable when no endpoint answers (naming each), the
// store's error, ResourceExhausted over max_snapshot_bytes, Corruption from the check.
Result<SnapshotInfo> TakeSnapshot(const std::vector<std::string>& endpoints,
                                  const std::string& local_path,
                                  const TakeSnapshotOptions& options = {});

// Hex of the SHA-256 of the file at `path` and its size (IOError when unreadable).
Result<SnapshotFileInfo> DigestFile(const std::string& path);

}  // namespace grid::mas::backup
