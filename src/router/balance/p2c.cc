#include "router/balance/p2c.h"

#include "common/check.h"
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

PowerOfTwoChoices::PowerOfTwoChoices(std::span<const BackendSpec> backends)
    : weights_(Weights(backends)) {}

std::optional<size_t> PowerOfTwoChoices::Pick(const PickContext& ctx) {
  CheckPickContext(ctx, weights_.size());
  uint64_t healthy = 0;
  for (const BackendState& s : ctx.backends) healthy += s.healthy ? 1 : 0;
  if (healthy == 0) return std::nullopt;

  SplitMix64 rng(ctx.random);
  // Ranks among the healthy backends: k1 uniform, k2 uniform among the others.
  const uint64_t k1 = rng.Below(healthy);
  uint64_t k2 = k1;
  if (healthy > 1) {
    k2 = rng.Below(healthy - 1);
    if (k2 >= k1) ++k2;
  }
  size_t first = 0;
  size_t second = 0;
  uint64_t rank = 0;
  for (size_t i = 0; i < ctx.backends.size(); ++i) {
    if (!ctx.backends[i].healthy) continue;
    if (rank == k1) first = i;
    if (rank == k2) second = i;
    ++rank;
  }
  GRID_CHECK(ctx.backends[first].healthy && ctx.backends[second].healthy);
  const uint64_t load_second = uint64_t{ctx.backends[second].active_connections} * weights_[first];
  const uint64_t load_first = uint64_t{ctx.backends[first].active_connections} * weights_[second];
  return load_second < load_first ? second : first;
}

}  // namespace grid::router::balance
