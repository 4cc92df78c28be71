#include "router/health/probe_schedule.h"

#include <algorithm>
#include <functional>

#include "common/check.h"

namespace grid::router::health {
namespace {
constexpr auto kLater = std::greater<std::pair<TimePoint, size_t>>();
}  // namespace

ProbeSchedule::ProbeSchedule(size_t backends, std::chrono::milliseconds interval, uint64_t seed)
    : interval_(interval),
      max_jitter_(std::chrono::nanoseconds(interval) * kProbeJitterPercent / 100),
      rng_(seed),
      started_(backends),
      due_(backends) {
  GRID_CHECK(interval >= std::chrono::milliseconds(1));
  GRID_CHECK_LE(backends, kMaxBackendsPerGroup);
  heap_.reserve(backends);
}

void ProbeSchedule::Start(TimePoint now) {
  GRID_CHECK(!started_schedule_) << "Start called twice";
  started_schedule_ = true;
  for (size_t i = 0; i < started_.size(); ++i) {
    Push(now + std::chrono::nanoseconds(rng_.Below(interval_.count())), i);
  }
}

std::optional<size_t> ProbeSchedule::PopDue(TimePoint now) {
  if (heap_.empty() || heap_.front().first > now) return std::nullopt;
  std::pop_heap(heap_.begin(), heap_.end(), kLater);
  const size_t backend = heap_.back().second;
  heap_.pop_back();
  started_[backend] = now;
  return backend;
}

void ProbeSchedule::Done(size_t backend, TimePoint now) {
  std::optional<TimePoint>& started = started_.at(backend);
  GRID_CHECK(started.has_value()) << "backend " << backend << " has no probe in flight";
  const TimePoint due = *started + interval_ + Jitter();
  started.reset();
  Push(std::max(due, now), backend);
}

std::optional<TimePoint> ProbeSchedule::NextDue() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().first;
}

std::optional<TimePoint> ProbeSchedule::DueAt(size_t backend) const {
  if (in_flight(backend)) return std::nullopt;
  return due_.at(backend);
}

void ProbeSchedule::Push(TimePoint due, size_t backend) {
  due_[backend] = due;
  heap_.emplace_back(due, backend);  // never reallocates: one entry per backend at most
  std::push_heap(heap_.begin(), heap_.end(), kLater);
}

std::chrono::nanoseconds ProbeSchedule::Jitter() {
  const int64_t span = max_jitter_.count();
  return std::chrono::nanoseconds(static_cast<int64_t>(rng_.Below(2 * span + 1)) - span);
}

}  // namespace grid::router::health
