#include "router/balance/least_conn.h"

#include "router/balance/hash.h"

namespace grid::router::balance {
namespace {
std::vector<uint64_t> Weights(std::span<const BackendSpec> backends) {
  CheckBackendSpecs(backends);
  std::vector<uint64_t> w;
  w.reserve(backends.size());
  for (const BackendSpec& b : backends) w.push_back(b.weight);
  return w;
}
}  // namespace

LeastConn::LeastConn(std::span<const BackendSpec> backends) : weights_(Weights(backends)) {}

std::optional<size_t> LeastConn::Pick(const PickContext& ctx) {
  CheckPickContext(ctx, weights_.size());
  SplitMix64 rng(ctx.random);
  std::optional<size_t> best;
  uint64_t ties = 0;
  for (size_t i = 0; i < weights_.size(); ++i) {
    if (!ctx.backends[i].healthy) continue;
    if (!best) {
      best = i;
      ties = 1;
      continue;
    }
    // active_i / w_i versus active_best / w_best, exactly.
    const uint64_t lhs = uint64_t{ctx.backends[i].active_connections} * weights_[*best];
    const uint64_t rhs = uint64_t{ctx.backends[*best].active_connections} * weights_[i];
    if (lhs < rhs) {
      best = i;
      ties = 1;
    } else if (lhs == rhs) {
      // Reservoir sampling: each of the tied backends ends up chosen with probability 1/ties.
      ++ties;
      if (rng.Below(ties) == 0) best = i;
    }
  }
  return best;
}

}  // namespace grid::router::balance
