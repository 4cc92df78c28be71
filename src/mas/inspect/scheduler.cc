#include "mas/inspect/scheduler.h"

#include <set>

#include <spdlog/spdlog.h>

#include "client/context.h"
#include "client/mutex.h"
#include "common/check.h"

namespace grid::mas::inspect {

int64_t IntervalSeconds(const KVClusterSpec& spec) {
  int64_t interval = kDefaultInspectionIntervalSeconds;
  if (spec.inspection.has_value() && spec.inspection->interval_seconds.has_value()) {
    interval = *spec.inspection->interval_seconds;
  }
  return std::max(interval, kMinInspectionIntervalSeconds);
}

int64_t Tick(std::chrono::system_clock::time_point now, int64_t interval_seconds) {
  GRID_CHECK(interval_seconds > 0) << "interval " << interval_seconds;
  const int64_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // Floor division (a time before the epoch gives a negative tick).
  int64_t tick = seconds / interval_seconds;
  if (seconds % interval_seconds != 0 && seconds < 0) --tick;
  return tick;
}

std::string JobName(const std::string& cluster) { return kInspectionJobPrefix + cluster; }

InspectionScheduler::InspectionScheduler(client::Client* client, ResourceStore* store,
                                         ScheduledInspectionRun run,
                                         InspectionSchedulerOptions options)
    : client_(client),
      store_(store),
      run_(std::move(run)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : controller::SystemClock()),
      locks_(client_, controller::JobLockOptions{.prefix = options_.job_prefix,
                                                 .replica = options_.replica,
                                                 .lock_timeout = options_.lock_timeout}) {}

InspectionScheduler::InspectionScheduler(client::Client* client, ResourceStore* store,
                                         InspectionRun run, InspectionSchedulerOptions options)
    : InspectionScheduler(
          client, store,
          ScheduledInspectionRun(
              [run = std::move(run)](const std::string& cluster, const ScheduledRun&) {
                return run(cluster);
              }),
          std::move(options)) {}

InspectionScheduler::~InspectionScheduler() { Stop(); }

Result<int> InspectionScheduler::RunDue() {
  GRID_ASSIGN_OR_RETURN(ResourceList list, store_->List(Kind::kKVCluster));
  const auto now = options_.now ? options_.now() : std::chrono::system_clock::now();
  {
    // Forget deleted clusters.
    std::set<std::string> names;
    for (const Resource& r : list.items) names.insert(r.metadata.name);
    std::lock_guard<std::mutex> lock(tried_mu_);
    std::erase_if(tried_, [&](const auto& kv) { return names.count(kv.first) == 0; });
  }
  int ran = 0;
  Status first_error;
  for (const Resource& r : list.items) {
    // Nothing to inspect yet (not provisioned) or any more: the tick stays unspent.
    // Not yet (or no longer) a cluster to inspect: the tick is not spent, so the first
    // inspection runs once it is up (a provisioning cluster has no leader yet, and its
    // conditions would say so until the next tick).
    if (r.status.phase == Phase::kDestroy || r.status.phase == Phase::kProvision ||
        r.status.members.empty()) {
      continue;
    }
    const std::string& name = r.metadata.name;
    const int64_t tick = Tick(now, IntervalSeconds(std::get<KVClusterSpec>(r.spec)));
    {
      std::lock_guard<std::mutex> lock(tried_mu_);
      auto it = tried_.find(name);
      if (it != tried_.end() && it->second >= tick) continue;
    }
    auto held = locks_.Get();
    if (!held.ok()) return held.status();
    auto outcome = (*held)->lock->RunExclusive(JobName(name), tick, [&] {
      return run_(name, ScheduledRun{.tick = tick, .replica = options_.replica});
    });
    if (!outcome.ok()) {
      spdlog::warn("inspection of KVCluster \"{}\" tick {}: {}", name, tick,
                   outcome.status().ToString());
      if (first_error.ok()) first_error = outcome.status();
      continue;  // tried again on the next pass
    }
    {
      std::lock_guard<std::mutex> lock(tried_mu_);
      tried_[name] = tick;
    }
    if (outcome->ran) {
      ++ran;
      if (!outcome->job_status.ok()) {
        spdlog::warn("inspection of KVCluster \"{}\" tick {} failed: {}", name, tick,
                     outcome->job_status.ToString());
      }
    }
  }
  if (!first_error.ok()) return first_error;
  return ran;
}

Result<nlohmann::json> InspectionScheduler::RunNow(
    const std::string& cluster, const std::function<Result<nlohmann::json>()>& job) {
  GRID_ASSIGN_OR_RETURN(auto held, locks_.Get());
  client::Mutex mutex(held->session.get(), held->lock->LockPrefix(JobName(cluster)));
  GRID_RETURN_IF_ERROR(mutex.Lock(client::Context().WithTimeout(options_.lock_timeout)));
  auto result = job();
  (void)mutex.Unlock();  // the lease expiry removes the key if this fails
  return result;
}

void InspectionScheduler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  listener_ = clock_->AddListener([this] {
    std::lock_guard<std::mutex> l(mu_);
    cv_.notify_all();
  });
  thread_ = std::thread([this] { Loop(); });
}

void InspectionScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  thread_.join();
  clock_->RemoveListener(listener_);
  std::lock_guard<std::mutex> lock(mu_);
  thread_ = std::thread();
}

void InspectionScheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    if (auto r = RunDue(); !r.ok()) spdlog::warn("inspection pass: {}", r.status().ToString());
    lock.lock();
    const auto deadline = clock_->Now() + options_.period;
    while (!stopping_ && clock_->Now() < deadline) clock_->WaitUntil(cv_, lock, deadline);
  }
}

}  // namespace grid::mas::inspect
