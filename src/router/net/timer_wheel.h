// Timeouts of one event loop: a single-level hashing timer wheel of 1 ms ticks. Arming,
// re-arming and cancelling are O(1) (an intrusive list per slot), which matters because every
// request re-arms its connection's timers. A timer further away than the wheel's span waits in
// its slot for as many turns as needed. A bitmap of non-empty slots finds the next slot to
// wait for without walking the wheel.
//
// Not thread-safe: the loop's thread only. A Timer unlinks itself when destroyed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace grid::router::net {

class TimerWheel;

// Slots in the wheel (1 ms each): timers up to this far away fire without extra turns.
inline constexpr size_t kTimerWheelSlots = 4096;

class Timer {
 public:
  // `on_fire` runs on the loop's thread when the timer expires; it may re-arm the timer.
  explicit Timer(std::function<void()> on_fire) : on_fire_(std::move(on_fire)) {}
  ~Timer() { Cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fires `delay_ms` after the wheel's current time (at least one tick later). Re-arming an
  // armed timer moves it.
  void Arm(TimerWheel* wheel, uint64_t delay_ms);
  void Cancel();
  bool armed() const { return wheel_ != nullptr; }
  uint64_t deadline_ms() const { return deadline_ms_; }

 private:
  friend class TimerWheel;
  std::function<void()> on_fire_;
  TimerWheel* wheel_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  uint64_t deadline_ms_ = 0;
  size_t slot_ = 0;
};

class TimerWheel {
 public:
  explicit TimerWheel(uint64_t now_ms);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  uint64_t now_ms() const { return now_ms_; }
  size_t size() const { return count_; }

  // Moves time to `now_ms` (never backwards) and fires every timer whose deadline is at or
  // before it, in deadline order within a slot sweep. Returns the number fired.
  size_t Advance(uint64_t now_ms);

  // Milliseconds until the next non-empty slot comes due (a lower bound of the next expiry:
  // the slot may hold only timers for a later turn), or -1 when no timer is armed.
  int64_t MillisUntilNext() const;

 private:
  friend class Timer;
  void Link(Timer* t);
  void Unlink(Timer* t);
  void LinkPendingSorted(Timer* t);

  static constexpr size_t kMask = kTimerWheelSlots - 1;
  static constexpr size_t kWords = kTimerWheelSlots / 64;
  static constexpr size_t kPendingSlot = kTimerWheelSlots;  // expired, about to fire
  uint64_t now_ms_;
  size_t count_ = 0;
  std::array<Timer*, kTimerWheelSlots> heads_{};
  std::array<uint64_t, kWords> nonempty_{};
  Timer* pending_ = nullptr;
};

}  // namespace grid::router::net
