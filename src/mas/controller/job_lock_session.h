// JobLockSession: the session (a lease on the store) that scheduled jobs hold their
// JobLocks under, created on first use and re-created once its lease is lost. Every replica's
// job schedulers (inspection, backups) keep one.
//
// Thread-safety: thread-safe. A caller keeps the returned Held for as long as it uses the
// lock: a session re-created meanwhile does not end the one in use.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "client/client.h"
#include "client/session.h"
#include "common/status.h"
#include "mas/controller/job_lock.h"

namespace grid::mas::controller {

// TTL of the session the job locks are held under: a replica killed while it holds a lock
// releases it this long after its last keep-alive, well inside the others' lock wait.
inline constexpr int64_t kJobSessionTtlSeconds = 10;

class JobLockSession {
 public:
  // A session and the JobLock over it.
  struct Held {
    std::unique_ptr<client::Session> session;
    std::unique_ptr<JobLock> lock;
  };

  // REQUIRES: `client` outlives the JobLockSession.
  JobLockSession(client::Client* client, JobLockOptions options,
                 int64_t ttl_seconds = kJobSessionTtlSeconds);

  // The current session and its JobLock; a new session (within options.lock_timeout) when
  // there is none yet or the last one's lease is lost.
  Result<std::shared_ptr<Held>> Get();

 private:
  client::Client* const client_;
  const JobLockOptions options_;
  const int64_t ttl_seconds_;
  std::mutex mu_;
  std::shared_ptr<Held> held_;  // guarded by mu_
};

}  // namespace grid::mas::controller
