#include "mas/controller/controller_runner.h"

namespace grid::mas::controller {

ControllerRunner::ControllerRunner(Reconciler* reconciler, ControllerRunnerOptions options)
    : reconciler_(reconciler),
      options_(std::move(options)),
      clock_(options_.queue.clock != nullptr ? options_.queue.clock : SystemClock()),
      queue_(options_.queue) {
  GRID_CHECK(reconciler_ != nullptr);
  GRID_CHECK(options_.workers >= 1 && options_.workers <= kMaxWorkers)
      << "workers = " << options_.workers;
  listener_ = clock_->AddListener([this] {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  });
}

ControllerRunner::~ControllerRunner() {
  Stop();
  clock_->RemoveListener(listener_);
}

void ControllerRunner::Start() {
  GRID_CHECK(!started_) << "ControllerRunner started twice";
  started_ = true;
  for (size_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  if (options_.resync_period > Duration::zero() && options_.list_keys) {
    // The first deadline is fixed here, so time advanced after Start() counts towards it.
    const TimePoint first = clock_->Now() + options_.resync_period;
    resync_ = std::thread([this, first] { ResyncLoop(first); });
  }
}

void ControllerRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (resync_.joinable()) resync_.join();
  queue_.ShutDown();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ControllerRunner::WorkerLoop() {
  while (auto key = queue_.Get()) {
    ProcessOne(*key);
    queue_.Done(*key);
  }
}

void ControllerRunner::ProcessOne(const std::string& key) {
  reconciles_.fetch_add(1);
  const TimePoint started = clock_->Now();
  auto result = reconciler_->Reconcile(key);
  if (options_.on_reconciled) {
    options_.on_reconciled(key, result.ok() ? Status::Ok() : result.status(),
                           clock_->Now() - started);
  }
  Status requeued;
  if (!result.ok()) {
    errors_.fetch_add(1);
    requeued = queue_.AddRateLimited(key);
  } else if (result->requeue_after > Duration::zero()) {
    queue_.Forget(key);
    requeued = queue_.AddAfter(key, result->requeue_after);
  } else if (result->requeue) {
    requeued = queue_.AddRateLimited(key);
  } else {
    queue_.Forget(key);
  }
  if (!requeued.ok()) dropped_.fetch_add(1);
}

void ControllerRunner::ResyncLoop(TimePoint first) {
  std::unique_lock<std::mutex> lock(mu_);
  TimePoint next = first;
  while (!stopping_) {
    if (clock_->Now() < next) {
      clock_->WaitUntil(cv_, lock, next);
      continue;
    }
    lock.unlock();
    for (const std::string& key : options_.list_keys()) {
      if (!queue_.Add(key).ok()) dropped_.fetch_add(1);
    }
    resyncs_.fetch_add(1);
    lock.lock();
    // Fixed rate from the first deadline; after a stall longer than a period, skip the
    // missed resyncs instead of running them back to back.
    next += options_.resync_period;
    const TimePoint now = clock_->Now();
    if (next < now) next = now + options_.resync_period;
  }
}

}  // namespace grid::mas::controller
