#include "router/l4/backend_set.h"

#include <algorithm>

#include "common/check.h"
#include "router/balance/least_conn.h"
#include "router/balance/round_robin.h"

namespace grid::router::l4 {

BackendStats::Health BackendStats::health() const {
  const uint64_t word = health_.load(std::memory_order_acquire);
  return Health{(word & 1u) != 0, static_cast<uint32_t>(word >> 32)};
}

void BackendStats::set_health(Health h) {
  health_.store((static_cast<uint64_t>(h.probe_failures_in_a_row) << 32) | (h.healthy ? 1u : 0u),
                std::memory_order_release);
}

BackendSet::BackendSet(ListenerConfig config, std::vector<std::shared_ptr<BackendStats>> stats)
    : config_(std::move(config)) {
  GRID_CHECK(stats.size() == config_.backends.size()) << "one stats object per backend";
  std::vector<balance::BackendSpec> specs;
  for (size_t i = 0; i < config_.backends.size(); ++i) {
    backends_.push_back(Backend{config_.backends[i], std::move(stats[i])});
    if (config_.backends[i].weight > 0) {
      pickable_.push_back(i);
      specs.push_back(
          balance::BackendSpec{config_.backends[i].address, config_.backends[i].weight});
    }
  }
  if (specs.empty()) return;
  if (config_.policy == Policy::kLeastConn) {
    balancer_ = std::make_unique<balance::LeastConn>(specs);
  } else {
    balancer_ = std::make_unique<balance::RoundRobin>(specs);
  }
}

std::optional<size_t> BackendSet::Pick(std::span<const size_t> exclude, uint64_t random) {
  if (!balancer_) return std::nullopt;
  // Per thread, reused: a pick allocates only when a thread first sees a larger set.
  thread_local std::vector<balance::BackendState> states;
  states.resize(pickable_.size());
  bool any = false;
  for (size_t j = 0; j < pickable_.size(); ++j) {
    const Backend& b = backends_[pickable_[j]];
    const bool excluded = std::find(exclude.begin(), exclude.end(), pickable_[j]) != exclude.end();
    states[j].healthy = !excluded && b.stats->health().healthy;
    states[j].active_connections = b.stats->active.load(std::memory_order_relaxed);
    any = any || states[j].healthy;
  }
  if (!any) return std::nullopt;
  balance::PickContext ctx;
  ctx.backends = states;
  ctx.random = random;
  const std::optional<size_t> j = balancer_->Pick(ctx);
  if (!j) return std::nullopt;
  return pickable_[*j];
}

}  // namespace grid::router::l4
