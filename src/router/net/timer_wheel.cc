#include "router/net/timer_wheel.h"

#include <bit>

#include "common/check.h"

namespace grid::router::net {

static_assert((kTimerWheelSlots & (kTimerWheelSlots - 1)) == 0, "slots must be a power of 2");

void Timer::Arm(TimerWheel* wheel, uint64_t delay_ms) {
  GRID_CHECK(wheel != nullptr);
  Cancel();
  deadline_ms_ = wheel->now_ms() + (delay_ms == 0 ? 1 : delay_ms);
  wheel->Link(this);
}

void Timer::Cancel() {
  if (wheel_ != nullptr) wheel_->Unlink(this);
}

TimerWheel::TimerWheel(uint64_t now_ms) : now_ms_(now_ms) {}

TimerWheel::~TimerWheel() {
  for (Timer* head : heads_) {
    for (Timer* t = head; t != nullptr;) {
      Timer* next = t->next_;
      t->wheel_ = nullptr;
      t->prev_ = t->next_ = nullptr;
      t = next;
    }
  }
}

void TimerWheel::Link(Timer* t) {
  const size_t slot = t->deadline_ms_ & kMask;
  t->slot_ = slot;
  t->wheel_ = this;
  t->prev_ = nullptr;
  t->next_ = heads_[slot];
  if (t->next_ != nullptr) t->next_->prev_ = t;
  heads_[slot] = t;
  nonempty_[slot / 64] |= uint64_t{1} << (slot % 64);
  ++count_;
}

void TimerWheel::Unlink(Timer* t) {
  GRID_CHECK(t->wheel_ == this);
  Timer** head = t->slot_ == kPendingSlot ? &pending_ : &heads_[t->slot_];
  if (t->prev_ != nullptr) {
    t->prev_->next_ = t->next_;
  } else {
    *head = t->next_;
    if (t->next_ == nullptr && t->slot_ != kPendingSlot) {
      nonempty_[t->slot_ / 64] &= ~(uint64_t{1} << (t->slot_ % 64));
    }
  }
  if (t->next_ != nullptr) t->next_->prev_ = t->prev_;
  t->prev_ = t->next_ = nullptr;
  t->wheel_ = nullptr;
  --count_;
}

size_t TimerWheel::Advance(uint64_t now_ms) {
  if (now_ms <= now_ms_) return 0;
  // Sweep the slots from the tick after the last one handled up to now (at most one turn).
  const uint64_t first = now_ms_ + 1;
  const uint64_t ticks = now_ms - now_ms_;
  now_ms_ = now_ms;
  const uint64_t sweep = ticks < kTimerWheelSlots ? ticks : kTimerWheelSlots;
  // Expired timers move to the pending list, sorted by deadline, and stay armed there until
  // they fire: a callback may cancel (or destroy) a timer that has not fired yet.
  for (uint64_t i = 0; i < sweep; ++i) {
    const size_t slot = (first + i) & kMask;
    if ((nonempty_[slot / 64] & (uint64_t{1} << (slot % 64))) == 0) continue;
    for (Timer* t = heads_[slot]; t != nullptr;) {
      Timer* next = t->next_;
      if (t->deadline_ms_ <= now_ms) {
        Unlink(t);
        LinkPendingSorted(t);
      }
      t = next;
    }
  }
  size_t fired = 0;
  while (pending_ != nullptr) {
    Timer* t = pending_;
    Unlink(t);
    ++fired;
    t->on_fire_();
  }
  return fired;
}

void TimerWheel::LinkPendingSorted(Timer* t) {
  Timer* prev = nullptr;
  Timer* at = pending_;
  while (at != nullptr && at->deadline_ms_ <= t->deadline_ms_) {
    prev = at;
    at = at->next_;
  }
  t->wheel_ = this;
  t->slot_ = kPendingSlot;
  t->prev_ = prev;
  t->next_ = at;
  if (at != nullptr) at->prev_ = t;
  if (prev != nullptr) {
    prev->next_ = t;
  } else {
    pending_ = t;
  }
  ++count_;
}

int64_t TimerWheel::MillisUntilNext() const {
  if (count_ == 0) return -1;
  // Find the first non-empty slot after now (in wheel order).
  const size_t start = (now_ms_ + 1) & kMask;
  for (size_t step = 0; step <= kWords; ++step) {
    const size_t word_index = (start / 64 + step) % kWords;
    uint64_t word = nonempty_[word_index];
    if (step == 0) word &= ~uint64_t{0} << (start % 64);
    if (step == kWords) word &= (start % 64) == 0 ? 0 : ~(~uint64_t{0} << (start % 64));
    if (word == 0) continue;
    const size_t slot = word_index * 64 + static_cast<size_t>(std::countr_zero(word));
    const size_t distance = (slot - start) & kMask;
    return static_cast<int64_t>(distance) + 1;
  }
  return 1;
}

}  // namespace grid::router::net
