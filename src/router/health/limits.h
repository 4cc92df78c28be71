// Named limits of the health state, and the time type every piece takes. Nothing here reads a
// clock: callers pass `now` (a steady_clock time point) into every call that needs time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "router/balance/balancer.h"

namespace grid::router::health {

using TimePoint = std::chrono::steady_clock::time_point;

// Backends one HealthTable, OutlierDetector, ActiveHealth or ProbeSchedule holds (the route
// table allows 256 per cell; this bound is the balancer's).
inline constexpr size_t kMaxBackendsPerGroup = balance::kMaxBackendsPerBalancer;

// Each probe after a backend's first is due `interval ± kProbeJitterPercent %` (uniform) after
// the previous one started. The first probes of a group are spread uniformly over one interval.
inline constexpr uint32_t kProbeJitterPercent = 10;

// Probes in flight per backend: a probe is never started while the previous one is running.
inline constexpr size_t kMaxProbesInFlightPerBackend = 1;

}  // namespace grid::router::health
