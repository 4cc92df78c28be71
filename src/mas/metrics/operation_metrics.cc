#include "mas/metrics/operation_metrics.h"

#include <cstdio>
#include <ctime>
#include <iterator>
#include <vector>

namespace grid::mas::metrics {
namespace {

std::optional<int64_t> UnixSeconds(const std::string& text) {
  std::tm tm{};
  char z = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &consumed) != 7 ||
      z != 'Z' || static_cast<size_t>(consumed) != text.size()) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

std::string OperationName(const ResourceStatus& status) {
  if (!status.operation.is_object()) return "";
  auto it = status.operation.find("name");
  return it != status.operation.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::optional<double> SecondsBetween(const std::string& start, const std::string& end) {
  auto a = UnixSeconds(start);
  auto b = UnixSeconds(end);
  if (!a || !b || *b < *a) return std::nullopt;
  return static_cast<double>(*b - *a);
}

OperationMetrics::OperationMetrics(Registry* registry)
    : durations_(registry->Histogram(
          "grid_mas_operation_duration_seconds",
          "Duration of finished operations (from status.history), by kind, operation and result.",
          {"kind", "operation", "result"},
          std::vector<double>(std::begin(kOperationSecondsBuckets),
                              std::end(kOperationSecondsBuckets)))),
      running_(registry->Gauge("grid_mas_operations_running",
                               "Operations running now (status.operation), by kind and operation.",
                               {"kind", "operation"})) {}

void OperationMetrics::SetRunning(Kind kind, const std::string& operation, int delta) {
  if (operation.empty()) return;
  int& n = running_count_[{kind, operation}];
  n += delta;
  running_.Set({KindName(kind), operation}, n);
}

void OperationMetrics::Observe(const Resource& resource) {
  const Kind kind = resource.kind();
  const auto key = std::make_pair(kind, resource.metadata.name);
  std::string newest;
  for (const OperationRecord& r : resource.status.history) {
    if (r.finished > newest) newest = r.finished;
  }
  const std::string running = OperationName(resource.status);
  std::lock_guard lock(mu_);
  auto it = seen_.find(key);
  if (it == seen_.end()) {
    if (seen_.size() >= kMaxTrackedObjects) {
      ++dropped_objects_;
      return;
    }
    seen_.emplace(key, Seen{newest, running});
    SetRunning(kind, running, +1);
    return;
  }
  Seen& seen = it->second;
  for (const OperationRecord& r : resource.status.history) {
    if (r.finished.empty() || r.finished <= seen.newest_finished) continue;
    if (auto seconds = SecondsBetween(r.started, r.finished)) {
      durations_.Observe({KindName(kind), r.name, OperationResultName(r.result)}, *seconds);
    }
  }
  if (newest > seen.newest_finished) seen.newest_finished = newest;
  if (running != seen.running) {
    SetRunning(kind, seen.running, -1);
    SetRunning(kind, running, +1);
    seen.running = running;
  }
}

void OperationMetrics::Forget(Kind kind, const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = seen_.find({kind, name});
  if (it == seen_.end()) return;
  SetRunning(kind, it->second.running, -1);
  seen_.erase(it);
}

size_t OperationMetrics::dropped_objects() const {
  std::lock_guard lock(mu_);
  return dropped_objects_;
}

}  // namespace grid::mas::metrics
