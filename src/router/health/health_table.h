// The live "available" view of one backend group, read by every loop thread on every pick.
//
// A backend is available when it is actively healthy and not ejected at `now` (an ejection
// ends by itself when its time is up: nobody has to clear it). One exception keeps outlier
// ejection from emptying a group: when that rule leaves no backend available but some
// actively healthy backends are ejected, those are available (their ejections are ignored
// until one ends or another backend recovers). So a group is empty exactly when every backend
// is actively unhealthy. OutlierDetector already refuses to eject the last available backend;
// the exception covers active checks taking the others down after it ejected some.
//
// Threading contract: every method may be called from any thread at any time, without locks.
// Each backend's state is two independent atomics (the active bit, the ejection end), so a
// reader sees each of them either before or after a concurrent write. Fill reads backend by
// backend, so it is not a snapshot of the whole group (a transition landing during a Fill may
// be seen for one backend and not yet for another, which a pick tolerates); it still never
// reports an empty group while some backend stays actively healthy throughout. Writers: the
// active bit is set by the group's checker (one loop thread) and the ejection end by the
// group's OutlierDetector under its mutex, so each field has one logical writer at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "router/balance/balancer.h"
#include "router/health/limits.h"

namespace grid::router::health {

class HealthTable {
 public:
  // Every backend actively healthy and not ejected.
  // REQUIRES: 1 <= backends <= kMaxBackendsPerGroup.
  explicit HealthTable(size_t backends);
  HealthTable(const HealthTable&) = delete;
  HealthTable& operator=(const HealthTable&) = delete;

  size_t size() const { return size_; }

  // The pick view (see above). Costs O(size()) only for an ejected, actively healthy backend.
  bool Available(size_t backend, TimePoint now) const;
  // Actively healthy and not ejected: the rule without the exception.
  bool InService(size_t backend, TimePoint now) const;
  bool ActiveHealthy(size_t backend) const;
  bool Ejected(size_t backend, TimePoint now) const;
  // The end of the backend's last ejection (the epoch when never ejected).
  TimePoint EjectedUntil(size_t backend) const;

  // out[i].healthy = Available(i, now) for every backend; active_connections is left as is.
  // Allocation-free; one pass over the group (two when nothing is in service).
  // REQUIRES: out.size() == size().
  void Fill(std::span<balance::BackendState> out, TimePoint now) const;
  size_t AvailableCount(TimePoint now) const;
  size_t EjectedCount(TimePoint now) const;

  void SetActiveHealthy(size_t backend, bool healthy);
  void SetEjectedUntil(size_t backend, TimePoint until);

 private:
  struct Backend {
    std::atomic<bool> active_healthy{true};
    std::atomic<int64_t> ejected_until_ns{0};  // steady_clock nanoseconds since its epoch
  };
  const Backend& at(size_t backend) const;

  const size_t size_;
  std::unique_ptr<Backend[]> backends_;
};

}  // namespace grid::router::health
