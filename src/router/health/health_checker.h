// Active health checking of one backend group: runs the ProbeSchedule, starts probes through
// the Prober, feeds each result to ActiveHealth and publishes transitions to the group's
// HealthTable.
//
// A probe succeeds when: kTcp, the connection was made; kHttp, a status line was read and its
// status is `expected_status`. Timeouts, connect failures and errors are failures.
//
// Threading: one loop thread owns the checker; it calls Tick and the prober calls each probe's
// `done` on that thread. A `done` that arrives after the checker is destroyed does nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "router/balance/balancer.h"
#include "router/health/active_health.h"
#include "router/health/health_table.h"
#include "router/health/probe_schedule.h"
#include "router/health/prober.h"
#include "router/table/config.h"

namespace grid::router::health {

class HealthChecker {
 public:
  // Each backend's active state starts from `table` (carried over from an earlier
  // configuration, or healthy); first probes are spread over one interval from `now`.
  // REQUIRES: config.type != kNone; backends.size() == table->size(); `prober` outlives the
  // checker.
  HealthChecker(const table::HealthCheckConfig& config,
                std::span<const balance::BackendSpec> backends, std::shared_ptr<HealthTable> table,
                Prober& prober, uint64_t seed, TimePoint now);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts every probe due at `now`; returns how many were started.
  size_t Tick(TimePoint now);

  // When Tick has something to do next; nullopt while every backend's probe is in flight.
  std::optional<TimePoint> NextDue() const;

  // The active state as the checker counts it (the table shows the same bits).
  const ActiveHealth& active() const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
  Prober& prober_;
};

}  // namespace grid::router::health
