#include "router/health/active_health.h"

#include "common/check.h"
#include "router/health/limits.h"

namespace grid::router::health {

ActiveHealth::ActiveHealth(size_t backends, uint32_t unhealthy_threshold,
                           uint32_t healthy_threshold)
    : unhealthy_threshold_(unhealthy_threshold),
      healthy_threshold_(healthy_threshold),
      backends_(backends) {
  GRID_CHECK(unhealthy_threshold >= 1 && healthy_threshold >= 1);
  GRID_CHECK_LE(backends, kMaxBackendsPerGroup);
}

Transition ActiveHealth::Record(size_t backend, bool success) {
  Backend& b = backends_.at(backend);
  if (success == b.healthy) {  // agrees with the state: the opposite streak restarts
    b.streak = 0;
    return Transition::kNone;
  }
  ++b.streak;
  const uint32_t threshold = b.healthy ? unhealthy_threshold_ : healthy_threshold_;
  if (b.streak < threshold) return Transition::kNone;
  b.healthy = !b.healthy;
  b.streak = 0;
  return b.healthy ? Transition::kBecameHealthy : Transition::kBecameUnhealthy;
}

void ActiveHealth::Set(size_t backend, bool healthy) {
  backends_.at(backend) = Backend{healthy, 0};
}

}  // namespace grid::router::health
