// Drives active health checking for the whole route table: keeps one HealthChecker per backend
// group whose cell has a health_check, and the HealthIndex the loops read.
//
//   monitor.Update(table, now);           // on every table swap; publish monitor.index()
//   monitor.Tick(now);                    // when NextDue() is reached
//
// Checkers of reused groups keep running (their schedule and counts carry on); groups that are
// gone lose their checker (probes in flight then report to nobody); new groups get one whose
// first probes spread over one interval.
//
// Threading: one loop thread owns the monitor: it calls Update and Tick, and the prober calls
// back on it. The index it returns is for every thread (see health_index.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "router/health/health_checker.h"
#include "router/health/health_index.h"
#include "router/health/prober.h"
#include "router/table/route_table.h"

namespace grid::router::health {

class HealthMonitor {
 public:
  // `prober` must outlive the monitor. `seed` makes probe jitter reproducible; each group
  // derives its own from it and the group's cell and name.
  HealthMonitor(Prober& prober, uint64_t seed);

  // Builds the index for `table` (carrying state over from the current one), adjusts the
  // checkers, and returns the new index.
  std::shared_ptr<const HealthIndex> Update(std::shared_ptr<const table::RouteTable> table,
                                            TimePoint now);

  // The current index; nullptr before the first Update.
  const std::shared_ptr<const HealthIndex>& index() const { return index_; }

  // Starts every probe due at `now`; returns how many were started.
  size_t Tick(TimePoint now);

  // The earliest time a checker has a probe due; nullopt when none has.
  std::optional<TimePoint> NextDue() const;

  size_t checker_count() const { return checkers_.size(); }

 private:
  Prober& prober_;
  const uint64_t seed_;
  std::shared_ptr<const HealthIndex> index_;
  std::unordered_map<const GroupHealth*, std::unique_ptr<HealthChecker>> checkers_;
};

}  // namespace grid::router::health
