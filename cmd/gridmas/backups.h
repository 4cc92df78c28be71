// Backups of KVClusters with a spec.backup section, on every gridmas replica: a scheduler
// thread that runs each scheduled backup exactly once across replicas, backups taken now (the
// API's POST), and the listing of a cluster's backups (the API's GET).
//
// Schedule and tick: the cron schedule spec.backup.schedule (UTC). A pass (RunDue, every
// kBackupSchedulerPeriod) finds, per cluster, the latest fire time <= now that this replica
// has not handled yet; its tick is that fire time in minutes since the Unix epoch, so every
// replica computes the same tick. controller::JobLock ("backup-<cluster>", records under
// <prefix>/jobs/) runs each tick on one replica only; a later tick supersedes earlier ones
// that did not run (a replica that was down for several fire times takes one backup, not
// one per missed fire time). A replica first seeing a cluster (or a changed schedule) starts
// with the fire time of the current minute when it matches, else the next one.
// Clusters in phase Destroy or without members are skipped, their fire time unspent.
//
// A backup (scheduled or now) is mas/backup's BackupJob: snapshot of the first answering
// member into <root>/backups/<cluster>/, upload, verify, retention. The outcome is written
// where a user sees it:
//   status.conditions  type BackupSucceeded: True, reason BackupSucceeded, message
//                      "backup <name> at revision <r>"; or False, reason BackupFailed,
//                      message the error
//   <prefix>/backups/<cluster>/last   {"cluster","outcome":"succeeded"|"failed","name",
//                      "revision","sizeBytes","created","error","time","tick","replica"}
//
// Retention (after each backup) also deletes orphaned snapshots (snapshot.db without
// backup.json) older than orphan_grace_seconds (mas/backup/catalog.h), logged with their count.
//
// Verify: downloads one stored backup and checks it (mas/backup VerifyStoredBackup: the
// snapshot's own trailing SHA-256, bbolt magic and size rules, then the record's size and
// sha256); no lock (it only reads).
//
// Metrics (when options.metrics is set), per cluster, for every backup taken (scheduled or
// now; not for clusters that do not exist):
//   grid_mas_backups_total{cluster,result="succeeded"|"failed"}     counter
//   grid_mas_backup_duration_seconds{cluster}                         histogram (both results)
//   grid_mas_backup_last_success_timestamp_seconds{cluster}           gauge, Unix seconds
//   grid_mas_backup_last_size_bytes{cluster}                          gauge, the snapshot's size
// Series of a deleted cluster stay until the process restarts (bounded by the registry).
//
// The job locks are held under a controller::JobLockSession (TTL kJobSessionTtlSeconds), so
// the lock of a killed replica is released quickly. Backups taken now hold the same lock (never
// concurrent with a scheduled run of that cluster on any replica) and are not ticks.
// Backups are named by their second: one that finds a backup of the same second waits for
// the next second and tries once more. Scheduled backups run one at a time on the
// scheduler thread (a long one delays the others' fire times, which then run late, once).
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/session.h"
#include "common/status.h"
#include "mas/backup/job.h"
#include "mas/backup/record.h"
#include "mas/backup/schedule.h"
#include "mas/bucket/bucket.h"
#include "mas/controller/job_lock.h"
#include "mas/controller/job_lock_session.h"
#include "mas/metrics/registry.h"
#include "mas/resource/store.h"

namespace grid::mas {

inline constexpr std::chrono::milliseconds kBackupSchedulerPeriod{1000};
inline constexpr char kBackupJobPrefix[] = "backup-";
inline constexpr char kBackupSucceededCondition[] = "BackupSucceeded";
inline constexpr int kMaxBackupStatusTries = 5;
// A pass catches up at most this many missed fire times of one cluster (then it takes the
// latest it reached; the next pass continues).
inline constexpr int kMaxBackupCatchUpFires = 100000;
// grid_mas_backup_duration_seconds bucket upper bounds.
inline constexpr double kBackupDurationBucketsSeconds[] = {1, 5, 15, 60, 300, 900, 3600};
// The name a verification takes for the newest verified backup.
inline constexpr char kLatestBackup[] = "latest";

// Minutes since the Unix epoch of `fire` (a whole minute).
int64_t BackupTick(std::chrono::system_clock::time_point fire);
// "backup-<cluster>".
std::string BackupJobName(const std::string& cluster);
// The latest fire time of `schedule` in (after, now], stepping from `first` (a fire time
// <= now); at most kMaxBackupCatchUpFires steps.
std::chrono::system_clock::time_point LatestFire(const backup::CronSchedule& schedule,
                                                 std::chrono::system_clock::time_point first,
                                                 std::chrono::system_clock::time_point now);

struct BackupServiceOptions {
  std::string prefix = "/gridmas";  // <prefix>/jobs/ (JobLock), <prefix>/backups/
  std::string replica;
  std::string root;                 // scratch: <root>/backups/<cluster>/
  bucket::S3Options s3;             // for s3:// buckets
  std::chrono::milliseconds lock_timeout = controller::kDefaultJobLockTimeout;
  std::function<std::chrono::system_clock::time_point()> now;  // default: system clock
  // Orphaned snapshots older than this are deleted after each backup's retention.
  int64_t orphan_grace_seconds = backup::kOrphanGraceSeconds;
  metrics::Registry* metrics = nullptr;  // backup series; none when null
};

// The outcome of verifying one stored backup.
struct BackupVerification {
  backup::BackupRecord record;
  // OK, or Corruption naming the object, the file offset where the check failed and what.
  Status result;
};

class BackupService {
 public:
  // REQUIRES: `client` and `store` outlive the service.
  BackupService(client::Client* client, ResourceStore* store, BackupServiceOptions options);
  ~BackupService();  // Stop()

  // One backup of `cluster` now under its job lock. NotFound (no such KVCluster),
  // FailedPrecondition (no spec.backup, or no members yet), the job's errors.
  Result<backup::BackupRecord> TakeNow(const std::string& cluster);
  // The cluster's verified backups, newest first. NotFound, FailedPrecondition (no
  // spec.backup), bucket errors with the bucket named.
  Result<std::vector<backup::BackupRecord>> List(const std::string& cluster);
  // Downloads backup `name` (or kLatestBackup) of `cluster` into the scratch directory and
  // checks it. A failed check is the verification's result; the errors are those of List,
  // NotFound for a backup not listed (the records that do not count are named), and bucket
  // errors other than a corrupt object.
  Result<BackupVerification> Verify(const std::string& cluster, const std::string& name);

  // One scheduler pass; returns how many backups this replica ran.
  Result<int> RunDue();
  void Start();
  void Stop();

  std::string LastKey(const std::string& cluster) const;

 private:
  struct Due {
    std::string schedule;
    std::chrono::system_clock::time_point next_fire;
  };
  std::chrono::system_clock::time_point Now() const;
  Result<std::unique_ptr<bucket::Bucket>> OpenFor(const std::string& cluster,
                                                  const BackupSpec& spec);
  // Runs one backup and writes its outcome (condition and last key).
  Result<backup::BackupRecord> Run(const std::string& cluster, std::optional<int64_t> tick);
  void WriteOutcome(const std::string& cluster, const Result<backup::BackupRecord>& outcome,
                    std::optional<int64_t> tick);
  void RecordMetrics(const std::string& cluster, const Result<backup::BackupRecord>& outcome,
                     double duration_seconds);
  std::string ScratchDir(const std::string& cluster) const;
  void Loop();

  client::Client* const client_;
  ResourceStore* const store_;
  const BackupServiceOptions options_;

  controller::JobLockSession locks_;

  std::mutex due_mu_;
  std::map<std::string, Due> due_;  // guarded by due_mu_

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace grid::mas
