// When each backend of a group is probed next. The first probes are spread uniformly over one
// interval from Start; after that a backend's next probe is due `interval ± kProbeJitterPercent
// %` (uniform) after its previous probe started, and never before that probe finished: a
// backend has at most one probe in flight. The jitter comes from a generator seeded by the
// caller, so a schedule is reproducible.
//
// Not thread-safe: one thread (the loop that runs the group's checker) owns it. No allocation
// after construction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "router/balance/hash.h"
#include "router/health/limits.h"

namespace grid::router::health {

class ProbeSchedule {
 public:
  // REQUIRES: 1 ms <= interval; backends <= kMaxBackendsPerGroup.
  ProbeSchedule(size_t backends, std::chrono::milliseconds interval, uint64_t seed);

  // Schedules every backend's first probe in [now, now + interval). Call once.
  void Start(TimePoint now);

  // The next backend whose probe is due at `now`, marked in flight; nullopt when none is due.
  std::optional<size_t> PopDue(TimePoint now);

  // The probe of `backend` (popped by PopDue) finished at `now`: schedules the next one.
  void Done(size_t backend, TimePoint now);

  // The earliest due time of a backend not in flight; nullopt when every backend is in flight.
  std::optional<TimePoint> NextDue() const;

  // When `backend`'s next probe is due; nullopt while its probe is in flight.
  std::optional<TimePoint> DueAt(size_t backend) const;

  bool in_flight(size_t backend) const { return started_.at(backend).has_value(); }
  size_t size() const { return started_.size(); }

 private:
  using Entry = std::pair<TimePoint, size_t>;  // due time, backend
  void Push(TimePoint due, size_t backend);
  std::chrono::nanoseconds Jitter();

  const std::chrono::nanoseconds interval_;
  const std::chrono::nanoseconds max_jitter_;
  balance::SplitMix64 rng_;
  std::vector<Entry> heap_;                        // min-heap by due time; capacity = backends
  std::vector<std::optional<TimePoint>> started_;  // set while a probe is in flight
  std::vector<TimePoint> due_;                     // meaningful while not in flight
  bool started_schedule_ = false;
};

}  // namespace grid::router::health
