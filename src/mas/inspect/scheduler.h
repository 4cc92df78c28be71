// InspectionScheduler: runs the inspection of every KVCluster once per tick, exactly once
// across gridmas replicas. Every replica runs a scheduler; controller::JobLock (job name
// "inspect-<cluster>") is what makes each tick run on one replica only.
//
//   interval = spec.inspection.intervalSeconds (default kDefaultInspectionIntervalSeconds,
//              at least kMinInspectionIntervalSeconds)
//   tick     = floor(wall-clock seconds since the Unix epoch / interval)
//
// The wall clock (not a steady one) makes replicas agree on the tick. A pass (RunDue) lists
// the KVClusters and, for each whose tick this replica has not yet tried, calls
// JobLock::RunExclusive, which runs the job with ScheduledRun{tick, options.replica}; a tick
// that the lock refused for a transient reason (lock timeout, store down) is tried again on
// the next pass. KVClusters in phase Provision or Destroy, or without members in their
// status, are skipped without spending the tick.
// The background thread (Start) runs a pass every `period` on `clock`.
//
// RunNow runs a job immediately, outside the ticks (not recorded as one), holding the same
// store lock so it never overlaps a scheduled run of that cluster on any replica.
//
// Thread-safety: thread-safe. The session (a lease on the store) is created on first use
// and re-created when its lease is lost.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "client/client.h"
#include "client/session.h"
#include "common/status.h"
#include "mas/controller/clock.h"
#include "mas/controller/job_lock.h"
#include "mas/controller/job_lock_session.h"
#include "mas/inspect/scheduled_run.h"
#include "mas/resource/store.h"

namespace grid::mas::inspect {

inline constexpr std::chrono::milliseconds kSchedulerPeriod{1000};
inline constexpr char kInspectionJobPrefix[] = "inspect-";

// The inspection interval of `spec` in seconds (default and minimum applied).
int64_t IntervalSeconds(const KVClusterSpec& spec);
// floor(unix seconds of `now` / interval_seconds). REQUIRES: interval_seconds > 0.
int64_t Tick(std::chrono::system_clock::time_point now, int64_t interval_seconds);
// "inspect-<cluster>".
std::string JobName(const std::string& cluster);

struct InspectionSchedulerOptions {
  std::string job_prefix = "/gridmas/jobs/";  // JobLock prefix; must end with '/'
  std::string replica;                        // written into the job records
  std::chrono::milliseconds lock_timeout = controller::kDefaultJobLockTimeout;
  std::chrono::milliseconds period = kSchedulerPeriod;
  controller::Clock* clock = nullptr;  // for the thread's waits; default SystemClock()
  std::function<std::chrono::system_clock::time_point()> now;  // wall clock; default system
};

// Runs the inspection of one cluster for `run` (its tick, this replica); its error is logged
// by the caller, the tick is spent.
using ScheduledInspectionRun =
    std::function<Status(const std::string& cluster, const ScheduledRun& run)>;
// As ScheduledInspectionRun, for a job that does not need the tick.
using InspectionRun = std::function<Status(const std::string& cluster)>;

class InspectionScheduler {
 public:
  // REQUIRES: `client` and `store` outlive the scheduler.
  InspectionScheduler(client::Client* client, ResourceStore* store, ScheduledInspectionRun run,
                      InspectionSchedulerOptions options);
  InspectionScheduler(client::Client* client, ResourceStore* store, InspectionRun run,
                      InspectionSchedulerOptions options);
  ~InspectionScheduler();  // Stop()

  // One pass; returns how many jobs this replica ran.
  Result<int> RunDue();
  // Runs `job` for `cluster` now under the cluster's job lock (not a tick).
  Result<nlohmann::json> RunNow(const std::string& cluster,
                                const std::function<Result<nlohmann::json>()>& job);

  void Start();
  void Stop();

 private:
  void Loop();

  client::Client* const client_;
  ResourceStore* const store_;
  const ScheduledInspectionRun run_;
  const InspectionSchedulerOptions options_;
  controller::Clock* const clock_;

  controller::JobLockSession locks_;

  std::mutex tried_mu_;
  std::map<std::string, int64_t> tried_;  // guarded by tried_mu_: cluster -> last tick tried

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  controller::Clock::ListenerId listener_ = 0;
  std::thread thread_;
};

}  // namespace grid::mas::inspect
