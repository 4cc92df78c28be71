#include "mas/controller/clock.h"

namespace grid::mas::controller {

Clock* SystemClock() {
  static RealClock* clock = new RealClock();
  return clock;
}

TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(now_mu_);
  return now_;
}

void FakeClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          TimePoint /*deadline*/) {
  cv.wait(lock);
}

Clock::ListenerId FakeClock::AddListener(std::function<void()> on_advance) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  const ListenerId id = next_id_++;
  listeners_.emplace(id, std::move(on_advance));
  return id;
}

void FakeClock::RemoveListener(ListenerId id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

void FakeClock::Advance(Duration d) {
  {
    std::lock_guard<std::mutex> lock(now_mu_);
    now_ += d;
  }
  std::lock_guard<std::mutex> lock(listeners_mu_);
  for (auto& [id, fn] : listeners_) fn();
}

}  // namespace grid::mas::controller
