// ControllerRunner: runs a Reconciler over a WorkQueue with N worker threads, plus a resync
// thread that re-adds every known key each resync_period (level-triggered: a missed event
// is repaired by the next resync).
//
// Per key, after Reconcile:
//   error                 → AddRateLimited(key)           (exponential back-off up to the cap)
//   ok, requeue_after > 0 → Forget(key), AddAfter(key, requeue_after)
//   ok, requeue           → AddRateLimited(key)
//   ok                    → Forget(key)
// then Done(key).
//
// Threads: `workers` worker threads and one resync thread (when resync_period > 0), all
// started by Start() and joined by Stop(). Stop() shuts the queue down and drains it: keys
// queued before Stop are still reconciled.
//
// Thread-safety: Enqueue and the accessors are thread-safe; Start/Stop from one owner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mas/controller/reconciler.h"
#include "mas/controller/work_queue.h"

namespace grid::mas::controller {

inline constexpr size_t kDefaultWorkers = 2;
inline constexpr size_t kMaxWorkers = 64;
inline constexpr Duration kDefaultResyncPeriod = std::chrono::minutes(5);

// Every object key the controller knows (from its cache of the store); called by the
// resync thread. Must be thread-safe.
using KeyLister = std::function<std::vector<std::string>()>;

// Told after every Reconcile, on the worker thread that ran it: the key, the outcome and how
// long it took (by the queue's clock). Must be thread-safe and quick (e.g. record metrics).
using ReconcileObserver =
    std::function<void(const std::string& key, const Status& outcome, Duration took)>;

struct ControllerRunnerOptions {
  size_t workers = kDefaultWorkers;              // 1..kMaxWorkers
  Duration resync_period = kDefaultResyncPeriod;  // 0 = no resync
  KeyLister list_keys;                           // empty = no resync
  WorkQueueOptions queue;                        // its clock is also the resync clock
  ReconcileObserver on_reconciled;               // empty = none
};

class ControllerRunner {
 public:
  // REQUIRES: `reconciler` outlives the runner; 1 <= workers <= kMaxWorkers.
  ControllerRunner(Reconciler* reconciler, ControllerRunnerOptions options);
  ~ControllerRunner();  // Stop()
  ControllerRunner(const ControllerRunner&) = delete;
  ControllerRunner& operator=(const ControllerRunner&) = delete;

  void Start();
  // Shuts the queue down, waits for the workers to drain it and joins every thread.
  void Stop();

  // Queues `key` (an event from a watch). Errors as WorkQueue::Add.
  Status Enqueue(const std::string& key) { return queue_.Add(key); }
  WorkQueue& queue() { return queue_; }

  int64_t reconciles() const { return reconciles_.load(); }
  int64_t errors() const { return errors_.load(); }
  int64_t resyncs() const { return resyncs_.load(); }
  // Keys refused by the queue (limit or shutdown) on a requeue or a resync.
  int64_t dropped() const { return dropped_.load(); }

 private:
  void WorkerLoop();
  void ResyncLoop(TimePoint first);
  void ProcessOne(const std::string& key);

  Reconciler* const reconciler_;
  const ControllerRunnerOptions options_;
  Clock* const clock_;
  WorkQueue queue_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  Clock::ListenerId listener_ = 0;
  std::vector<std::thread> workers_;
  std::thread resync_;
  bool started_ = false;

  std::atomic<int64_t> reconciles_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> resyncs_{0};
  std::atomic<int64_t> dropped_{0};
};

}  // namespace grid::mas::controller
