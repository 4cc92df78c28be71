// A fixed set of threads running posted tasks in FIFO order, with a bound on queued tasks.
// Thread-safe. The destructor runs what is queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace grid {

class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t max_queued_tasks);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Returns false (and does not run `task`) when max_queued_tasks are already waiting or the
  // pool is stopping.
  [[nodiscard]] bool Post(std::function<void()> task);

 private:
  void Run();

  const size_t max_queued_tasks_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace grid
