#include "router/balance/ring_hash.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/check.h"
#include "router/balance/hash.h"

namespace grid::router::balance {
namespace {
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
}

RingHash::RingHash(std::span<const BackendSpec> backends) : backend_count_(backends.size()) {
  CheckBackendSpecs(backends);
  uint32_t max_weight = 0;
  for (const BackendSpec& b : backends) max_weight = std::max(max_weight, b.weight);
  const size_t base = std::min(kRingMaxVnodesPerBackend, kRingMaxPoints / backends.size());

  struct Point {
    uint64_t hash;
    uint64_t tiebreak;  // Hash64(address): equal points order the same on every router
    uint32_t backend;
  };
  std::vector<Point> points;
  for (size_t i = 0; i < backends.size(); ++i) {
    const double share = static_cast<double>(base) * backends[i].weight / max_weight;
    const size_t vnodes = std::max<size_t>(1, static_cast<size_t>(std::lround(share)));
    const uint64_t seed = Hash64(backends[i].address);
    for (size_t k = 0; k < vnodes; ++k) {
      points.push_back({Mix64(seed + (k + 1) * kGolden), seed, static_cast<uint32_t>(i)});
    }
  }
  GRID_CHECK_LE(points.size(), kRingMaxPoints + backends.size());
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.tiebreak < b.tiebreak;
  });
  hashes_.reserve(points.size());
  backends_.reserve(points.size());
  for (const Point& p : points) {
    hashes_.push_back(p.hash);
    backends_.push_back(p.backend);
  }
}

std::optional<size_t> RingHash::Pick(const PickContext& ctx) {
  CheckPickContext(ctx, backend_count_);
  bool any = false;
  for (const BackendState& s : ctx.backends) any = any || s.healthy;
  if (!any) return std::nullopt;

  const uint64_t h = ctx.hash_key.empty() ? Mix64(ctx.random) : Hash64(ctx.hash_key);
  size_t at = std::lower_bound(hashes_.begin(), hashes_.end(), h) - hashes_.begin();
  // Bounded by the ring size: some healthy backend owns at least one point.
  for (size_t step = 0; step < hashes_.size(); ++step, ++at) {
    if (at == hashes_.size()) at = 0;
    const uint32_t b = backends_[at];
    if (ctx.backends[b].healthy) return b;
  }
  GRID_UNREACHABLE();
  return std::nullopt;
}

}  // namespace grid::router::balance
