// Passive ejection of one group's backends from the outcomes of real requests.
//
// - A backend is ejected after `consecutive_connect_failures` connect failures in a row, or
//   after `consecutive_5xx` gateway errors in a row (a count of 0 is not counted). A connect
//   success resets the connect-failure count; a gateway error resets it too (the backend
//   accepted the connection); a response below 500 resets both.
// - Ejection time = base_ejection_ms × the number of times the backend has been ejected,
//   capped at max_ejection_ms. That number decays: it drops by one for each whole
//   max_ejection_ms the backend has spent back in service since its last ejection ended, so
//   a backend that fails once a day is not ejected for the maximum forever. It also stops
//   growing at the first multiplier whose ejection reaches the cap (more would not lengthen an
//   ejection, only slow the decay).
// - An ejected backend returns by itself when its time is up (HealthTable compares with now);
//   outcomes recorded while it is ejected (requests sent before the ejection) are ignored, and
//   it comes back with no count.
// - Never more than max_ejected_percent of the group's backends are ejected at once
//   (ejected_after × 100 <= max_ejected_percent × backends, so the percentage rounds down),
//   and a backend is not ejected when no other backend of the group is in service (actively
//   healthy, not ejected): outlier detection alone never empties a group. A refused ejection
//   keeps the count, so the next failure tries again. (If active checks later take the other
//   backends down, HealthTable ignores the ejections while nothing is in service: a group is
//   empty only when every backend is actively unhealthy.)
// Only outlier ejections count against max_ejected_percent, not actively unhealthy backends.
//
// Threading: Record may be called from any thread. A success on a backend with nothing
// counted (the common case) takes no lock: one relaxed atomic load. Failures and resets take
// the group's mutex (short, no allocation). "Consecutive" is the order in which outcomes reach
// the mutex; a success racing with a failure on another thread may leave that failure counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "router/health/health_table.h"
#include "router/health/limits.h"
#include "router/table/config.h"

namespace grid::router::health {

// What the proxy saw of one upstream attempt.
enum class PassiveOutcome {
  kConnectFailure,  // the connection could not be made (refused, unreachable, timed out)
  kConnectSuccess,  // a new connection was made
  k5xx,             // a 5xx response, or a reset/timeout after connecting (the proxy answers
                    // 502/504 itself)
  kResponse,        // a response with a status below 500
};

class OutlierDetector {
 public:
  // `table` receives the ejections and must outlive the detector. With config.enabled false,
  // Record does nothing.
  OutlierDetector(const table::OutlierConfig& config, HealthTable& table);

  // Returns true when this outcome ejected the backend.
  bool Record(size_t backend, PassiveOutcome outcome, TimePoint now);

  // How often a backend has been ejected (before decay) and when its last ejection ends.
  struct History {
    uint32_t times_ejected = 0;
    TimePoint ejected_until{};
  };
  History history(size_t backend) const;
  // Carries a backend's history over from an earlier configuration (and sets its ejection in
  // the table). Call before the detector is shared.
  void Restore(size_t backend, History history);

  // Ejections refused by max_ejected_percent or the last-available rule.
  uint64_t refused_ejections() const { return refused_.load(std::memory_order_relaxed); }
  const table::OutlierConfig& config() const { return config_; }

 private:
  // Bits of `counting_`: which counts are non-zero.
  static constexpr uint8_t kCountingConnect = 1;
  static constexpr uint8_t kCounting5xx = 2;

  struct Counts {  // guarded by mu_
    uint32_t connect_failures = 0;
    uint32_t errors_5xx = 0;
    uint32_t times_ejected = 0;
    TimePoint ejected_until{};
  };

  // REQUIRES: mu_ held.
  bool TryEject(size_t backend, Counts& counts, TimePoint now);
  void Publish(size_t backend, const Counts& counts);

  const table::OutlierConfig config_;
  HealthTable& table_;
  const uint32_t max_multiplier_;  // times_ejected beyond this no longer lengthens an ejection
  std::unique_ptr<std::atomic<uint8_t>[]> counting_;
  std::atomic<uint64_t> refused_{0};
  mutable std::mutex mu_;
  std::vector<Counts> counts_;
};

}  // namespace grid::router::health
