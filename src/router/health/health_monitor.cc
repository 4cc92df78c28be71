#include "router/health/health_monitor.h"

#include <string>
#include <utility>

#include "router/balance/hash.h"

namespace grid::router::health {

HealthMonitor::HealthMonitor(Prober& prober, uint64_t seed) : prober_(prober), seed_(seed) {}

std::shared_ptr<const HealthIndex> HealthMonitor::Update(
    std::shared_ptr<const table::RouteTable> table, TimePoint now) {
  std::shared_ptr<const HealthIndex> next = HealthIndex::Build(std::move(table), index_.get());
  std::unordered_map<const GroupHealth*, std::unique_ptr<HealthChecker>> checkers;
  for (const HealthIndex::Entry& e : next->entries()) {
    const table::HealthCheckConfig& check = e.cell->config().health_check;
    if (check.type == table::HealthCheckType::kNone) continue;
    auto it = checkers_.find(e.health.get());
    if (e.reused && it != checkers_.end()) {
      checkers.emplace(e.health.get(), std::move(it->second));
      continue;
    }
    const table::BackendGroup& group = e.cell->group(e.group_index);
    const uint64_t seed = balance::Hash64(e.cell->name() + '/' + group.name(), seed_);
    checkers.emplace(e.health.get(),
                     std::make_unique<HealthChecker>(check, group.backends(),
                                                     e.health->shared_table(), prober_, seed, now));
  }
  checkers_ = std::move(checkers);  // checkers of groups that are gone end here
  index_ = std::move(next);
  return index_;
}

size_t HealthMonitor::Tick(TimePoint now) {
  size_t started = 0;
  for (auto& [health, checker] : checkers_) started += checker->Tick(now);
  return started;
}

std::optional<TimePoint> HealthMonitor::NextDue() const {
  std::optional<TimePoint> next;
  for (const auto& [health, checker] : checkers_) {
    std::optional<TimePoint> due = checker->NextDue();
    if (due && (!next || *due < *next)) next = due;
  }
  return next;
}

}  // namespace grid::router::health
