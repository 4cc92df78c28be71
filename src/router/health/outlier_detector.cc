#include "router/health/outlier_detector.h"

#include <algorithm>
#include <chrono>

#include "common/check.h"

namespace grid::router::health {
namespace {

using std::chrono::milliseconds;

// The smallest multiplier whose ejection reaches the cap (1 when detection is off).
uint32_t MaxMultiplier(const table::OutlierConfig& c) {
  if (c.base_ejection_ms == 0) return 1;
  const uint64_t steps =
      (uint64_t{c.max_ejection_ms} + c.base_ejection_ms - 1) / c.base_ejection_ms;
  return static_cast<uint32_t>(std::max<uint64_t>(1, steps));
}

}  // namespace

OutlierDetector::OutlierDetector(const table::OutlierConfig& config, HealthTable& table)
    : config_(config),
      table_(table),
      max_multiplier_(MaxMultiplier(config)),
      counting_(std::make_unique<std::atomic<uint8_t>[]>(table.size())),
      counts_(table.size()) {
  if (config.enabled) {
    GRID_CHECK(config.base_ejection_ms >= 1);
    GRID_CHECK_LE(config.base_ejection_ms, config.max_ejection_ms);
    GRID_CHECK_LE(config.max_ejected_percent, 100u);
  }
}

bool OutlierDetector::Record(size_t backend, PassiveOutcome outcome, TimePoint now) {
  if (!config_.enabled) return false;
  GRID_CHECK_LT(backend, counts_.size());
  std::atomic<uint8_t>& counting = counting_[backend];
  // Lock-free fast path: a success that has nothing to reset.
  if (outcome == PassiveOutcome::kConnectSuccess &&
      (counting.load(std::memory_order_relaxed) & kCountingConnect) == 0) {
    return false;
  }
  if (outcome == PassiveOutcome::kResponse && counting.load(std::memory_order_relaxed) == 0) {
    return false;
  }

  std::lock_guard lock(mu_);
  Counts& c = counts_[backend];
  if (table_.Ejected(backend, now)) return false;  // sent before the ejection: ignored
  bool eject = false;
  switch (outcome) {
    case PassiveOutcome::kConnectFailure:
      if (config_.consecutive_connect_failures > 0) {
        ++c.connect_failures;
        eject = c.connect_failures >= config_.consecutive_connect_failures;
      }
      break;
    case PassiveOutcome::kConnectSuccess:
      c.connect_failures = 0;
      break;
    case PassiveOutcome::k5xx:
      c.connect_failures = 0;
      if (config_.consecutive_5xx > 0) {
        ++c.errors_5xx;
        eject = c.errors_5xx >= config_.consecutive_5xx;
      }
      break;
    case PassiveOutcome::kResponse:
      c.connect_failures = 0;
      c.errors_5xx = 0;
      break;
  }
  const bool ejected = eject && TryEject(backend, c, now);
  Publish(backend, c);
  return ejected;
}

bool OutlierDetector::TryEject(size_t backend, Counts& c, TimePoint now) {
  const size_t n = table_.size();
  size_t ejected = 0;
  bool other_available = false;
  for (size_t i = 0; i < n; ++i) {
    if (table_.Ejected(i, now)) {
      ++ejected;
    } else if (i != backend && table_.ActiveHealthy(i)) {
      other_available = true;
    }
  }
  if ((ejected + 1) * 100 > static_cast<size_t>(config_.max_ejected_percent) * n ||
      !other_available) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Decay: one step per whole max_ejection_ms back in service since the last ejection ended.
  if (c.times_ejected > 0 && now > c.ejected_until) {
    const auto in_service = now - c.ejected_until;
    const auto steps = in_service / milliseconds(config_.max_ejection_ms);
    c.times_ejected -= static_cast<uint32_t>(std::min<int64_t>(steps, c.times_ejected));
  }
  c.times_ejected = std::min(c.times_ejected + 1, max_multiplier_);
  const uint64_t ms = std::min<uint64_t>(uint64_t{config_.base_ejection_ms} * c.times_ejected,
                                         config_.max_ejection_ms);
  c.ejected_until = now + milliseconds(ms);
  c.connect_failures = 0;
  c.errors_5xx = 0;
  table_.SetEjectedUntil(backend, c.ejected_until);
  return true;
}

void OutlierDetector::Publish(size_t backend, const Counts& c) {
  const uint8_t bits =
      (c.connect_failures > 0 ? kCountingConnect : 0) | (c.errors_5xx > 0 ? kCounting5xx : 0);
  counting_[backend].store(bits, std::memory_order_relaxed);
}

OutlierDetector::History OutlierDetector::history(size_t backend) const {
  std::lock_guard lock(mu_);
  const Counts& c = counts_.at(backend);
  return History{c.times_ejected, c.ejected_until};
}

void OutlierDetector::Restore(size_t backend, History history) {
  std::lock_guard lock(mu_);
  Counts& c = counts_.at(backend);
  c = Counts{};
  c.times_ejected = std::min(history.times_ejected, max_multiplier_);
  c.ejected_until = history.ejected_until;
  table_.SetEjectedUntil(backend, history.ejected_until);
  Publish(backend, c);
}

}  // namespace grid::router::health
