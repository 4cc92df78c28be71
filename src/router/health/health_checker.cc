#include "router/health/health_checker.h"

#include <chrono>
#include <utility>

#include "common/check.h"

namespace grid::router::health {

struct HealthChecker::Core {
  Core(const table::HealthCheckConfig& c, std::span<const balance::BackendSpec> backends,
       std::shared_ptr<HealthTable> t, uint64_t seed)
      : config(c),
        table(std::move(t)),
        active(backends.size(), c.unhealthy_threshold, c.healthy_threshold),
        schedule(backends.size(), std::chrono::milliseconds(c.interval_ms), seed) {
    addresses.reserve(backends.size());
    for (const auto& b : backends) addresses.push_back(b.address);
  }

  void OnResult(size_t backend, const ProbeResult& result) {
    bool success = result.outcome == ProbeOutcome::kOk;
    if (config.type == table::HealthCheckType::kHttp) {
      success = success && result.status == config.expected_status;
    }
    switch (active.Record(backend, success)) {
      case Transition::kBecameHealthy:
        table->SetActiveHealthy(backend, true);
        break;
      case Transition::kBecameUnhealthy:
        table->SetActiveHealthy(backend, false);
        break;
      case Transition::kNone:
        break;
    }
    schedule.Done(backend, result.finished_at);
  }

  const table::HealthCheckConfig config;
  const std::shared_ptr<HealthTable> table;
  std::vector<std::string> addresses;
  ActiveHealth active;
  ProbeSchedule schedule;
};

HealthChecker::HealthChecker(const table::HealthCheckConfig& config,
                             std::span<const balance::BackendSpec> backends,
                             std::shared_ptr<HealthTable> table, Prober& prober, uint64_t seed,
                             TimePoint now)
    : prober_(prober) {
  GRID_CHECK(config.type != table::HealthCheckType::kNone);
  GRID_CHECK(table != nullptr);
  GRID_CHECK_EQ(backends.size(), table->size());
  core_ = std::make_shared<Core>(config, backends, std::move(table), seed);
  for (size_t i = 0; i < backends.size(); ++i) {
    core_->active.Set(i, core_->table->ActiveHealthy(i));
  }
  core_->schedule.Start(now);
}

HealthChecker::~HealthChecker() = default;

size_t HealthChecker::Tick(TimePoint now) {
  const ProbeKind kind =
      core_->config.type == table::HealthCheckType::kHttp ? ProbeKind::kHttp : ProbeKind::kTcp;
  std::string_view path;
  if (kind == ProbeKind::kHttp) path = core_->config.path;
  const auto timeout = std::chrono::milliseconds(core_->config.timeout_ms);
  size_t started = 0;
  while (std::optional<size_t> backend = core_->schedule.PopDue(now)) {
    ++started;
    std::weak_ptr<Core> weak = core_;
    const size_t i = *backend;
    prober_.Probe(core_->addresses[i], kind, path, timeout,
                  [weak = std::move(weak), i](const ProbeResult& result) {
                    if (std::shared_ptr<Core> core = weak.lock()) core->OnResult(i, result);
                  });
  }
  return started;
}

std::optional<TimePoint> HealthChecker::NextDue() const { return core_->schedule.NextDue(); }

const ActiveHealth& HealthChecker::active() const { return core_->active; }

}  // namespace grid::router::health
