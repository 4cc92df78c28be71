#include "mas/controller/work_queue.h"

namespace grid::mas::controller {

WorkQueue::WorkQueue(WorkQueueOptions options)
    : options_(options), clock_(options.clock != nullptr ? options.clock : SystemClock()) {
  GRID_CHECK(options_.max_keys > 0) << "max_keys must be positive";
  GRID_CHECK(options_.base_retry_backoff > Duration::zero()) << "base_retry_backoff";
  GRID_CHECK(options_.base_retry_backoff <= options_.max_retry_backoff) << "max_retry_backoff";
  listener_ = clock_->AddListener([this] {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  });
}

WorkQueue::~WorkQueue() { clock_->RemoveListener(listener_); }

Status WorkQueue::Add(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  return AddLocked(std::string(key));
}

Status WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) return Unavailable("work queue is shutting down");
  PromoteDueLocked();
  if (dirty_.contains(key)) return Status::Ok();
  if (auto it = waiting_.find(key); it != waiting_.end()) {
    waiting_by_time_.erase({it->second, key});
    waiting_.erase(it);  // moves to dirty_: the tracked count is unchanged
  } else if (TrackedLocked() >= options_.max_keys) {
    return ResourceExhausted("work queue holds max_keys=" + std::to_string(options_.max_keys) +
                             " keys; refused " + key);
  }
  dirty_.insert(key);
  if (!processing_.contains(key)) {
    queue_.push_back(key);
    cv_.notify_one();
  }
  return Status::Ok();
}

Status WorkQueue::AddAfter(std::string_view key, Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  return AddAfterLocked(std::string(key), delay);
}

Status WorkQueue::AddAfterLocked(const std::string& key, Duration delay) {
  if (delay <= Duration::zero()) return AddLocked(key);
  if (shutting_down_) return Unavailable("work queue is shutting down");
  PromoteDueLocked();
  if (dirty_.contains(key)) return Status::Ok();
  const TimePoint due = clock_->Now() + delay;
  if (auto it = waiting_.find(key); it != waiting_.end()) {
    if (due < it->second) {
      waiting_by_time_.erase({it->second, key});
      it->second = due;
      waiting_by_time_.insert({due, key});
      cv_.notify_all();  // a Get may be waiting for a later deadline
    }
    return Status::Ok();
  }
  if (TrackedLocked() >= options_.max_keys) {
    return ResourceExhausted("work queue holds max_keys=" + std::to_string(options_.max_keys) +
                             " keys; refused " + key);
  }
  waiting_.emplace(key, due);
  waiting_by_time_.insert({due, key});
  cv_.notify_all();
  return Status::Ok();
}

Duration WorkQueue::BackoffFor(int failures) const {
  Duration d = options_.base_retry_backoff;
  for (int i = 0; i < failures && d < options_.max_retry_backoff; ++i) d *= 2;
  return std::min(d, options_.max_retry_backoff);
}

Status WorkQueue::AddRateLimited(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string k(key);
  auto it = failures_.find(k);
  const int failures = it == failures_.end() ? 0 : it->second;
  Status s = AddAfterLocked(k, BackoffFor(failures));
  if (s.ok()) {
    failures_[k] = failures + 1;
  } else {
    failures_.erase(k);
  }
  return s;
}

void WorkQueue::Forget(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(std::string(key));
}

int WorkQueue::NumRequeues(std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(std::string(key));
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::PromoteDueLocked() {
  if (waiting_by_time_.empty()) return;
  const TimePoint now = clock_->Now();
  while (!waiting_by_time_.empty() && waiting_by_time_.begin()->first <= now) {
    std::string key = waiting_by_time_.begin()->second;
    waiting_by_time_.erase(waiting_by_time_.begin());
    waiting_.erase(key);
    dirty_.insert(key);
    if (!processing_.contains(key)) {
      queue_.push_back(std::move(key));
      cv_.notify_one();
    }
  }
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    PromoteDueLocked();
    if (!queue_.empty()) {
      std::string key = std::move(queue_.front());
      queue_.pop_front();
      dirty_.erase(key);
      processing_.insert(key);
      return key;
    }
    if (shutting_down_ && processing_.empty()) return std::nullopt;
    if (waiting_by_time_.empty()) {
      cv_.wait(lock);
    } else {
      clock_->WaitUntil(cv_, lock, waiting_by_time_.begin()->first);
    }
  }
}

void WorkQueue::Done(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = processing_.find(std::string(key));
  GRID_CHECK(it != processing_.end()) << "Done for a key not being processed: " << key;
  processing_.erase(it);
  const std::string k(key);
  if (dirty_.contains(k)) {
    queue_.push_back(k);
    cv_.notify_one();
  }
  if (shutting_down_ && processing_.empty()) cv_.notify_all();
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  waiting_.clear();
  waiting_by_time_.clear();
  cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() {
  std::lock_guard<std::mutex> lock(mu_);
  PromoteDueLocked();
  return queue_.size();
}

size_t WorkQueue::TrackedKeys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return TrackedLocked();
}

size_t WorkQueue::Processing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return processing_.size();
}

size_t WorkQueue::Delayed() {
  std::lock_guard<std::mutex> lock(mu_);
  PromoteDueLocked();
  return waiting_.size();
}

}  // namespace grid::mas::controller
