// Active health state of one group's backends from the results of their probes: a healthy
// backend becomes unhealthy after exactly `unhealthy_threshold` consecutive failed probes, an
// unhealthy one healthy after exactly `healthy_threshold` consecutive successful probes. Any
// opposite result restarts the count.
//
// Start state: healthy (nginx's default, and what a host gets in Envoy when a cluster has no
// first health check round to wait for). A router that starts, or a cell whose configuration
// changes, therefore keeps serving instead of refusing everything until healthy_threshold
// probes have passed; a backend that is down at start gets requests for at most
// unhealthy_threshold probe intervals, and passive outlier detection ejects it sooner.
//
// Not thread-safe: one thread (the loop that runs the group's checker) owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace grid::router::health {

enum class Transition { kNone, kBecameUnhealthy, kBecameHealthy };

class ActiveHealth {
 public:
  // Every backend starts healthy with no result counted.
  // REQUIRES: thresholds >= 1; backends <= kMaxBackendsPerGroup.
  ActiveHealth(size_t backends, uint32_t unhealthy_threshold, uint32_t healthy_threshold);

  // Records one probe result; returns the transition it caused.
  Transition Record(size_t backend, bool success);

  // Sets a backend's state (carried over from an earlier configuration); clears its count.
  void Set(size_t backend, bool healthy);

  bool healthy(size_t backend) const { return backends_.at(backend).healthy; }
  // Consecutive results against the current state (failures while healthy, successes while
  // unhealthy).
  uint32_t streak(size_t backend) const { return backends_.at(backend).streak; }
  size_t size() const { return backends_.size(); }

 private:
  struct Backend {
    bool healthy = true;
    uint32_t streak = 0;
  };
  const uint32_t unhealthy_threshold_;
  const uint32_t healthy_threshold_;
  std::vector<Backend> backends_;
};

}  // namespace grid::router::health
