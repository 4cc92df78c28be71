// UpdateQueue: hands watch responses from the client Watcher's thread to the table watcher's
// thread. Bounded: Push() blocks while `max_updates` are waiting (back-pressure on the watch
// stream) until the consumer takes them or the queue is closed.
//
// Thread-safety: any number of producers and one consumer; Close() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "client/watcher.h"

namespace grid::router::watch {

class UpdateQueue {
 public:
  // REQUIRES: max_updates >= 1.
  explicit UpdateQueue(size_t max_updates);
  UpdateQueue(const UpdateQueue&) = delete;
  UpdateQueue& operator=(const UpdateQueue&) = delete;

  // Waits for room, then queues `update`. Returns false (update dropped) once closed.
  bool Push(client::WatchUpdate update);
  // Waits until something is queued, the queue is closed, or `deadline`; returns every queued
  // update in arrival order (empty on timeout or close).
  std::vector<client::WatchUpdate> PopAll(std::chrono::steady_clock::time_point deadline);
  // Wakes every waiter; later pushes are dropped and PopAll returns at once.
  void Close();
  bool closed() const;

 private:
  const size_t max_updates_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<client::WatchUpdate> updates_;  // guarded by mu_
  bool closed_ = false;                      // guarded by mu_
};

}  // namespace grid::router::watch
