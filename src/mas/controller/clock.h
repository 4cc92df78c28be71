// Clock: the time source of the controller machinery (work queue delays, back-off, resync),
// injected so tests run on a FakeClock that only moves when the test advances it.
//
// Waiting on a clock: callers hold `lock` on the mutex of `cv`, check their condition and
// the time, then call WaitUntil. It returns when `cv` is notified, when the clock reaches
// `deadline`, or spuriously; callers loop and re-check. Objects that wait register an
// advance listener (AddListener) that locks their mutex and notifies their cv, so a fake
// clock's Advance wakes them.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace grid::mas::controller {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  using ListenerId = int64_t;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // REQUIRES: `lock` holds the mutex that `cv` is used with.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
  // `on_advance` runs (on the advancing thread, with no clock lock held except the
  // listener registry's) after each jump of the clock; real clocks never call it.
  // REQUIRES: RemoveListener(id) is called before anything `on_advance` uses is destroyed.
  virtual ListenerId AddListener(std::function<void()> on_advance) = 0;
  virtual void RemoveListener(ListenerId id) = 0;
};

// std::chrono::steady_clock.
class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    cv.wait_until(lock, deadline);
  }
  ListenerId AddListener(std::function<void()>) override { return 0; }
  void RemoveListener(ListenerId) override {}
};

// The process-wide real clock.
Clock* SystemClock();

// A clock that starts at an arbitrary fixed point and moves only by Advance().
class FakeClock final : public Clock {
 public:
  TimePoint Now() const override;
  // Waits for a notification only: time never passes on its own.
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override;
  ListenerId AddListener(std::function<void()> on_advance) override;
  void RemoveListener(ListenerId id) override;

  // Moves the clock forward by `d` and runs every listener.
  void Advance(Duration d);

 private:
  mutable std::mutex now_mu_;
  TimePoint now_ = TimePoint(std::chrono::hours(1000));  // guarded by now_mu_
  std::mutex listeners_mu_;  // held while listeners run; taken before any waiter's mutex
  ListenerId next_id_ = 1;   // guarded by listeners_mu_
  std::map<ListenerId, std::function<void()>> listeners_;  // guarded by listeners_mu_
};

}  // namespace grid::mas::controller
