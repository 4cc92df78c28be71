#include "router/balance/round_robin.h"

namespace grid::router::balance {
namespace {
std::vector<int64_t> Weights(std::span<const BackendSpec> backends) {
  CheckBackendSpecs(backends);
  std::vector<int64_t> w;
  w.reserve(backends.size());
  for (const BackendSpec& b : backends) w.push_back(b.weight);
  return w;
}
}  // namespace

RoundRobin::RoundRobin(std::span<const BackendSpec> backends)
    : weights_(Weights(backends)), scores_(weights_.size(), 0) {}

std::optional<size_t> RoundRobin::Pick(const PickContext& ctx) {
  CheckPickContext(ctx, weights_.size());
  std::lock_guard<std::mutex> lock(mu_);
  int64_t total = 0;
  std::optional<size_t> best;
  for (size_t i = 0; i < weights_.size(); ++i) {
    if (!ctx.backends[i].healthy) continue;
    scores_[i] += weights_[i];
    total += weights_[i];
    if (!best || scores_[i] > scores_[*best]) best = i;
  }
  if (best) scores_[*best] -= total;
  return best;
}

}  // namespace grid::router::balance
