// BackupJob: one backup of one store cluster, start to finish:
//   1. TakeSnapshot from the first answering member into the scratch directory;
//   2. UploadBackup: snapshot.db, read back and compare, then backup.json (verified);
//   3. ListBackups + ApplyRetention + DeleteBackup for each backup retention drops;
//   4. DeleteOrphanSnapshots: snapshots without a record older than orphan_grace_seconds.
// Returns the new record and what retention did. A failure in steps 1-2 is the job's error
// (nothing that counts is left in the bucket); a failed delete in steps 3-4 is reported in the
// result (the backup itself succeeded) and retried by the next run.
//
// Thread-safety: one Run at a time per cluster (the caller's schedule lock makes it so); the
// bucket is shared.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "mas/backup/catalog.h"
#include "mas/backup/record.h"
#include "mas/backup/retention.h"
#include "mas/backup/snapshot.h"
#include "mas/bucket/bucket.h"

namespace grid::mas::backup {

struct BackupTarget {
  std::string cluster;  // KVCluster name
  std::string engine;   // spec.engine
  std::string version;  // spec.version
  std::vector<std::string> endpoints;  // members' client URLs
};

struct BackupJobOptions {
  // Local directory for the snapshot while it is taken and uploaded (must exist).
  std::string scratch_dir;
  TakeSnapshotOptions snapshot;
  // The wall clock: names the backup and is `now` for retention.
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
  // Orphaned snapshots (catalog.h) this much older than `now` are deleted after retention.
  int64_t orphan_grace_seconds = kOrphanGraceSeconds;
};

struct BackupJobResult {
  BackupRecord record;
  std::vector<std::string> deleted;        // retention's deletions that succeeded, oldest first
  std::vector<std::string> delete_errors;  // one line per deletion that failed
  std::vector<std::string> orphans_deleted;  // keys of orphaned snapshots deleted
  std::vector<std::string> skipped;        // records ListBackups could not use
  std::string hash_kv_error;               // why record.hash_kv is absent
};

class BackupJob {
 public:
  // `bucket` must outlive the job.
  BackupJob(bucket::Bucket* bucket, BackupJobOptions options);

  // InvalidArgument for a bad cluster name, no endpoints or an invalid policy (named with
  // "retention"); AlreadyExists when a backup of the same second exists.
  Result<BackupJobResult> Run(const BackupTarget& target, const RetentionPolicy& policy);

 private:
  bucket::Bucket* const bucket_;
  const BackupJobOptions options_;
};

}  // namespace grid::mas::backup
