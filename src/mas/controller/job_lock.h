// JobLock: runs a scheduled job (backup, inspection) exactly once per tick across
// control-plane replicas. Every replica schedules the same ticks; RunExclusive takes the
// job's store lock (client::Mutex, etcd's recipe, so it excludes etcd's own clients too),
// reads the job's last-run record, and when that record is older than `tick` writes a new
// one (fenced by the lock: the write fails if the lock was lost) and then runs the job.
//
// Keys under `prefix` (e.g. "/gridmas/jobs/"):
//   <prefix>lock/<name>/<lease hex>   the lock queue (client::Mutex)
//   <prefix>last/<name>               the last-run record: {"tick":N,"replica":"..."};
//                                     its mod revision is the run's revision
//
// Semantics: at most once per tick. The record is written before the job runs, so a
// replica that dies mid-job leaves the tick claimed and the tick is not retried; the next
// tick runs as usual. Ticks must increase per job name (a later tick supersedes all
// earlier ones that did not run).
//
// Thread-safety: thread-safe; RunExclusive may be called from several threads (each call
// uses its own lock object; calls for one name wait for each other).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "client/session.h"
#include "common/status.h"

namespace grid::mas::controller {

inline constexpr std::chrono::milliseconds kDefaultJobLockTimeout{30000};
inline constexpr size_t kMaxJobNameBytes = 256;

struct JobLockOptions {
  std::string prefix = "/gridmas/jobs/";  // must end with '/'
  std::string replica;                    // written into the record
  // How long RunExclusive waits for the lock (another replica running the job).
  std::chrono::milliseconds lock_timeout = kDefaultJobLockTimeout;
};

struct JobRecord {
  int64_t tick = 0;
  std::string replica;
  int64_t revision = 0;  // mod revision of the record: the run's revision
};

struct JobOutcome {
  bool ran = false;      // this replica ran the job for this tick
  Status job_status;     // the job's result when ran
  int64_t revision = 0;  // the run's revision when ran
};

class JobLock {
 public:
  // REQUIRES: `session` outlives the JobLock.
  JobLock(client::Session* session, JobLockOptions options);

  // Runs `job` for `tick` unless some replica already ran `name` for a tick >= `tick`.
  // Errors: InvalidArgument (bad name), DeadlineExceeded (lock_timeout), FailedPrecondition
  // (lock lost before the record was written; the job did not run), store errors.
  Result<JobOutcome> RunExclusive(std::string_view name, int64_t tick,
                                  const std::function<Status()>& job);
  // The last-run record of `name`; nullopt when it never ran.
  Result<std::optional<JobRecord>> LastRun(std::string_view name);

  std::string LockPrefix(std::string_view name) const;
  std::string RecordKey(std::string_view name) const;

 private:
  client::Session* const session_;
  const JobLockOptions options_;
};

}  // namespace grid::mas::controller
