// WorkQueue: a per-object work queue in the style of Kubernetes' client-go workqueue
// (rate-limiting + delaying + dedupe), keyed by an object key such as "KVCluster/main".
//
// Contracts:
//  - Dedupe: a key is queued at most once however often it is added before a worker takes it.
//  - Exclusion: a key handed out by Get() is not handed out again until Done(key). Adding
//    it meanwhile marks it dirty; Done(key) queues it again.
//  - AddAfter(key, delay) queues the key once `delay` has passed on the injected clock; a
//    key already queued stays queued (it will run sooner), of two delays the earlier wins.
//  - AddRateLimited(key) = AddAfter(key, base * 2^failures) capped at max_retry_backoff,
//    counting one more failure; Forget(key) resets the count.
//  - Bound: the queue holds at most max_keys distinct keys waiting to run (queued, dirty
//    while processing, or delayed); an Add of a new key beyond it is refused with
//    ResourceExhausted and the key is not tracked.
//  - ShutDown(): adds are refused (Unavailable), delayed keys are dropped; Get() keeps
//    handing out queued keys (including ones dirtied before ShutDown and queued by Done)
//    and returns nullopt once nothing is queued or being processed (drain).
//
// Thread-safety: thread-safe. Get() blocks; every other method returns promptly.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/status.h"
#include "mas/controller/clock.h"

namespace grid::mas::controller {

inline constexpr size_t kDefaultMaxQueuedKeys = 10000;
inline constexpr Duration kDefaultBaseRetryBackoff = std::chrono::milliseconds(5);
inline constexpr Duration kDefaultMaxRetryBackoff = std::chrono::minutes(5);

struct WorkQueueOptions {
  size_t max_keys = kDefaultMaxQueuedKeys;
  Duration base_retry_backoff = kDefaultBaseRetryBackoff;  // delay after the first failure
  Duration max_retry_backoff = kDefaultMaxRetryBackoff;    // cap of the exponential back-off
  Clock* clock = nullptr;                                  // null: SystemClock()
};

class WorkQueue {
 public:
  // REQUIRES: options.max_keys > 0, 0 < base_retry_backoff <= max_retry_backoff; the clock
  // outlives the queue.
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // OK when the key is (or already was) queued or marked dirty; ResourceExhausted at the
  // max_keys bound; Unavailable after ShutDown.
  Status Add(std::string_view key);
  // delay <= 0 is Add(key). Same errors as Add.
  Status AddAfter(std::string_view key, Duration delay);
  // Same errors as Add; a refused key's failure count is reset.
  Status AddRateLimited(std::string_view key);
  void Forget(std::string_view key);
  // Failures counted for `key` since its last Forget.
  int NumRequeues(std::string_view key) const;
  // The delay AddRateLimited would use after `failures` earlier failures.
  Duration BackoffFor(int failures) const;

  // Blocks until a key is ready (returned, now processing by the caller) or the queue is
  // shut down and drained (nullopt).
  std::optional<std::string> Get();
  // REQUIRES: `key` was returned by Get() and Done not yet called for it.
  void Done(std::string_view key);

  void ShutDown();
  bool shutting_down() const;

  // Keys ready to be handed out now.
  size_t Len();
  // Keys counted against max_keys (queued, dirty while processing, delayed).
  size_t TrackedKeys() const;
  size_t Processing() const;
  size_t Delayed();
  const WorkQueueOptions& options() const { return options_; }

 private:
  Status AddLocked(const std::string& key);
  Status AddAfterLocked(const std::string& key, Duration delay);
  void PromoteDueLocked();
  size_t TrackedLocked() const { return dirty_.size() + waiting_.size(); }

  const WorkQueueOptions options_;
  Clock* const clock_;
  Clock::ListenerId listener_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool shutting_down_ = false;                    // guarded by mu_
  std::deque<std::string> queue_;                 // guarded by mu_; each key in dirty_
  std::unordered_set<std::string> dirty_;         // guarded by mu_; to run (queued or re-added)
  std::unordered_set<std::string> processing_;    // guarded by mu_
  // Delayed keys, disjoint from dirty_. guarded by mu_.
  std::unordered_map<std::string, TimePoint> waiting_;
  std::set<std::pair<TimePoint, std::string>> waiting_by_time_;  // guarded by mu_
  std::unordered_map<std::string, int> failures_;  // guarded by mu_
};

}  // namespace grid::mas::controller
