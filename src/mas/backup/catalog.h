// The backups of clusters in a bucket: upload (snapshot, read back, then the record), list,
// verify, delete. Layout and names: record.h.
//
// A backup counts only once <cluster>/<name>/backup.json exists, parses, belongs to that
// cluster and name, and says verified: the record is written last and deleted first, so an
// interrupted upload or delete never leaves a backup that counts without its snapshot.
//
// Thread-safety: free functions over a thread-safe Bucket.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "mas/backup/record.h"
#include "mas/bucket/bucket.h"

namespace grid::mas::backup {

// A snapshot.db without backup.json (an upload interrupted before its record, or a delete
// interrupted after it) is an orphan once it has not been modified for this long: younger ones
// may be uploads in progress.
inline constexpr int64_t kOrphanGraceSeconds = 3600;

// ListBackups reads at most this many records of one cluster; more is ResourceExhausted.
inline constexpr size_t kMaxBackupsPerCluster = 10000;

// Uploads `snapshot_path` as <cluster>/<name>/snapshot.db, reads it back and checks its size
// and sha256 against `record` (from the listing's etag when the backend reports the sha256 as
// the etag, else by downloading it into `scratch_dir`), then writes backup.json with
// verified = true and reads that back too. Returns the record as stored. AlreadyExists when
// the name already has a record. On a failed check nothing that counts is left and the
// uploaded snapshot is deleted (best effort); the error is Corruption naming the object.
// REQUIRES: record.size_bytes and record.sha256 describe `snapshot_path`.
Result<BackupRecord> UploadBackup(bucket::Bucket* bucket, BackupRecord record,
                                  const std::string& snapshot_path,
                                  const std::string& scratch_dir);

// The complete, verified backups of `cluster`, newest first (by created, then name).
// Records that do not parse, or whose snapshot object is missing, are skipped (reported in
// `skipped` when non-null, one line each). More than `max_records` backup.json objects
// (counted before any is read) is ResourceExhausted.
Result<std::vector<BackupRecord>> ListBackups(bucket::Bucket* bucket, const std::string& cluster,
                                              std::vector<std::string>* skipped = nullptr,
                                              size_t max_records = kMaxBackupsPerCluster);

// Downloads the snapshot of `record` into `scratch_dir` (removed afterwards) and checks it:
// VerifySnapshotFile (Corruption with the object, file offset and what failed), then size and
// sha256 against the record.
[[nodiscard]] Status VerifyStoredBackup(bucket::Bucket* bucket, const BackupRecord& record,
                                        const std::string& scratch_dir);

// Deletes backup.json first (the backup stops counting), then snapshot.db. Missing objects
// are not errors (a delete interrupted before is finished).
[[nodiscard]] Status DeleteBackup(bucket::Bucket* bucket, const std::string& cluster,
                                  const std::string& name);

struct OrphanSweep {
  std::vector<std::string> deleted;  // keys of the orphaned snapshots deleted, in key order
  std::vector<std::string> errors;   // one line per orphan whose delete failed
  int young = 0;                     // orphans kept: modified less than the grace ago
};

// Deletes the orphaned snapshots of `cluster`: <cluster>/<name>/snapshot.db objects with no
// <cluster>/<name>/backup.json, last modified at least `grace_seconds` before `now`. A name with
// a backup.json (whatever it holds) is never touched. Only the listing is an error.
Result<OrphanSweep> DeleteOrphanSnapshots(bucket::Bucket* bucket, const std::string& cluster,
                                          std::chrono::system_clock::time_point now,
                                          int64_t grace_seconds = kOrphanGraceSeconds);

}  // namespace grid::mas::backup
