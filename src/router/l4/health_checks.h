// Active TCP health checks of every listener that configures one: a probe is a connect to the
// backend within `timeout_ms`. Thresholds and schedule come from router/health (ActiveHealth:
// down after exactly unhealthy_threshold failed probes in a row, up after exactly
// healthy_threshold successes; ProbeSchedule: interval ± 10 %, one probe in flight). Results
// are published in each backend's BackendStats, which the pickers read.
//
// Threads: runs its own loop thread. Apply() from any thread; the new sets replace the old
// ones on that thread (state carried over through the shared BackendStats).
#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "router/health/active_health.h"
#include "router/health/probe_schedule.h"
#include "router/l4/backend_set.h"
#include "router/net/event_loop.h"
#include "router/net/timer_wheel.h"

namespace grid::router::l4 {

class HealthChecks {
 public:
  explicit HealthChecks(uint64_t seed);
  ~HealthChecks();
  HealthChecks(const HealthChecks&) = delete;
  HealthChecks& operator=(const HealthChecks&) = delete;

  [[nodiscard]] Status Start();
  // Checks these listeners' backends from now on (one set per listener).
  void Apply(std::vector<std::shared_ptr<BackendSet>> sets);
  void Stop();

 private:
  class Probe;
  struct Group {
    std::shared_ptr<BackendSet> set;
    HealthCheckConfig config;
    health::ActiveHealth active;
    health::ProbeSchedule schedule;
  };

  void ApplyOnLoop(std::vector<std::shared_ptr<BackendSet>> sets);
  void Tick();
  void StartProbe(size_t group, size_t backend);
  void ProbeDone(Probe* probe, uint64_t generation, size_t group, size_t backend, bool ok);

  uint64_t seed_;
  net::EventLoop loop_;
  net::Timer tick_timer_;
  std::vector<std::unique_ptr<Group>> groups_;
  uint64_t generation_ = 0;
  std::unordered_map<Probe*, std::unique_ptr<Probe>> probes_;
  std::thread thread_;
};

}  // namespace grid::router::l4
