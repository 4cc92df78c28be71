// One epoll event loop per thread. File descriptors are registered once, edge-triggered, for
// input, output and peer hang-up (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) and never
// modified afterwards: back-pressure is a user-space decision (the owner stops reading and
// remembers that bytes may be waiting), so the steady state makes no epoll_ctl calls.
//
// Each iteration: epoll_wait (timeout from the timer wheel; with a spin window, polled without
// blocking for up to that window first, see spin_policy.h), dispatch every event, advance
// the timer wheel, run tasks posted from other threads, then destroy the objects whose
// deletion was deferred. Deferring deletion to the end of an iteration keeps every handler of
// the same batch valid even when an earlier event closed its connection.
//
// Threads: everything runs on the loop's thread except Post() and Stop(), which any thread
// may call.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/status.h"
#include "router/net/spin_policy.h"
#include "router/net/timer_wheel.h"

namespace grid::router::net {

// Events handed to one epoll_wait call.
inline constexpr int kMaxEventsPerWait = 256;

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // `events`: the EPOLL* bits reported for the handler's descriptor.
  virtual void OnIoEvent(uint32_t events) = 0;
};

// Something whose destruction the loop defers to the end of the current iteration.
class Deferred {
 public:
  virtual ~Deferred() = default;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Ok, or the error from epoll_create1/eventfd. REQUIRES: checked before Run().
  const Status& init_status() const { return init_status_; }

  // Registers `fd` edge-triggered for input, output and hang-up; the handler must outlive
  // the registration (call Remove() or close the descriptor first).
  [[nodiscard]] Status Add(int fd, IoHandler* handler);
  // Registers `fd` edge-triggered for input only (listeners, event descriptors).
  [[nodiscard]] Status AddReadOnly(int fd, IoHandler* handler);
  void Remove(int fd);

  // Polls for up to `window_us` before each blocking wait while the SpinPolicy allows it (0:
  // never). REQUIRES: before Run(), window_us <= kMaxSpinBeforeWaitUs.
  void set_spin_before_wait_us(uint32_t window_us) { spin_ = SpinPolicy(window_us); }

  // Runs until Stop(). Returns on the loop's thread.
  void Run();
  // One iteration waiting at most `max_wait_ms` (-1: until an event or timer). For tests.
  void RunOnce(int max_wait_ms);
  // Any thread: makes Run() return after the current iteration.
  void Stop();

  // Any thread: runs `task` on the loop's thread in a later iteration.
  void Post(std::function<void()> task);

  // Loop thread: destroys `object` at the end of the current iteration.
  void DeleteLater(std::unique_ptr<Deferred> object);

  TimerWheel* timers() { return &timers_; }
  // The loop's time, updated once per iteration (before dispatch and before timers fire).
  uint64_t now_ms() const { return timers_.now_ms(); }

 private:
  class Wakeup;
  // epoll_wait into events_, spinning first when the policy says so.
  int Wait(int timeout_ms);
  void RunPosted();
  void DestroyDeferred();

  Status init_status_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  std::unique_ptr<Wakeup> wakeup_;
  std::atomic<bool> stop_{false};
  TimerWheel timers_;
  SpinPolicy spin_;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by posted_mu_
  std::atomic<bool> has_posted_{false};        // posted_ is not empty (checked without the lock)
  std::vector<std::function<void()>> running_;
  std::vector<std::unique_ptr<Deferred>> deferred_;
  epoll_event events_[kMaxEventsPerWait];
};

}  // namespace grid::router::net
