// OperationMetrics: turns what the controllers record in resources into series of the
// process registry. Fed with every version of every resource the controller host's watches
// see (and with deletions), it records
//
//   grid_mas_operation_duration_seconds{kind,operation,result}   histogram, per finished
//       operation (status.history entry: finished - started, second precision)
//   grid_mas_operations_running{kind,operation}                  gauge, status.operation now
//
// The first version seen of an object sets its baseline: history entries finished by then
// are not counted (they finished before this process watched, possibly under another
// replica that already counted them). So a leader change neither loses an operation that
// finishes later nor counts an old one twice in one process.
//
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "mas/metrics/registry.h"
#include "mas/resource/resource.h"

namespace grid::mas::metrics {

// Upper bounds of the duration histogram, seconds.
inline constexpr double kOperationSecondsBuckets[] = {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600};
// Objects tracked; beyond it a new object is observed without a baseline (its history is
// then not counted) and counted in dropped_objects().
inline constexpr size_t kMaxTrackedObjects = 4096;

class OperationMetrics {
 public:
  explicit OperationMetrics(Registry* registry);

  void Observe(const Resource& resource);
  void Forget(Kind kind, const std::string& name);
  size_t dropped_objects() const;

 private:
  struct Seen {
    std::string newest_finished;  // RFC 3339 of the newest counted history entry
    std::string running;          // status.operation.name, "" when none
  };
  void SetRunning(Kind kind, const std::string& operation, int delta);

  Family& durations_;
  Family& running_;
  mutable std::mutex mu_;
  std::map<std::pair<Kind, std::string>, Seen> seen_;         // guarded by mu_
  std::map<std::pair<Kind, std::string>, int> running_count_;  // guarded by mu_
  size_t dropped_objects_ = 0;                                 // guarded by mu_
};

// Seconds between two RFC 3339 UTC timestamps ("2026-01-02T03:04:05Z"); nullopt when
// either does not parse or end < start.
std::optional<double> SecondsBetween(const std::string& start, const std::string& end);

}  // namespace grid::mas::metrics
