#include "router/watch/update_queue.h"

#include <utility>

#include "common/check.h"

namespace grid::router::watch {

UpdateQueue::UpdateQueue(size_t max_updates) : max_updates_(max_updates) {
  GRID_CHECK(max_updates >= 1) << "an update queue holds at least one update";
}

bool UpdateQueue::Push(client::WatchUpdate update) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return closed_ || updates_.size() < max_updates_; });
  if (closed_) return false;
  updates_.push_back(std::move(update));
  cv_.notify_all();
  return true;
}

std::vector<client::WatchUpdate> UpdateQueue::PopAll(
    std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return closed_ || !updates_.empty(); });
  std::vector<client::WatchUpdate> out;
  if (closed_) return out;
  out.reserve(updates_.size());
  for (auto& u : updates_) out.push_back(std::move(u));
  updates_.clear();
  cv_.notify_all();  // room for blocked pushes
  return out;
}

void UpdateQueue::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  updates_.clear();
  cv_.notify_all();
}

bool UpdateQueue::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace grid::router::watch
