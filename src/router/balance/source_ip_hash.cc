#include "router/balance/source_ip_hash.h"

#include <cmath>

#include "router/balance/hash.h"

namespace grid::router::balance {

SourceIpHash::SourceIpHash(std::span<const BackendSpec> backends) {
  CheckBackendSpecs(backends);
  for (const BackendSpec& b : backends) {
    seeds_.push_back(Hash64(b.address));
    weights_.push_back(static_cast<double>(b.weight));
    if (b.weight != backends.front().weight) equal_weights_ = false;
  }
}

std::optional<size_t> RendezvousPick(uint64_t key_hash, std::span<const uint64_t> seeds,
                                     std::span<const double> weights, bool equal_weights,
                                     std::span<const BackendState> states) {
  std::optional<size_t> best;
  uint64_t best_bits = 0;
  double best_score = 0;
  for (size_t i = 0; i < seeds.size(); ++i) {
    if (!states[i].healthy) continue;
    const uint64_t bits = Mix64(key_hash ^ seeds[i]);
    if (equal_weights) {
      if (!best || bits > best_bits) {
        best = i;
        best_bits = bits;
      }
      continue;
    }
    const double score = -weights[i] / std::log(UnitInterval(bits));
    if (!best || score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

std::optional<size_t> SourceIpHash::Pick(const PickContext& ctx) {
  CheckPickContext(ctx, seeds_.size());
  const uint64_t key_hash = ctx.client_ip.empty() ? Mix64(ctx.random) : Hash64(ctx.client_ip);
  return RendezvousPick(key_hash, seeds_, weights_, equal_weights_, ctx.backends);
}

}  // namespace grid::router::balance
