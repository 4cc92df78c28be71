// Consistent hashing on a ring with virtual nodes (Karger). Each backend owns
// vnodes = max(1, round(base * weight / max_weight)) points, where
// base = min(kRingMaxVnodesPerBackend, kRingMaxPoints / backends); point k of a backend is at
// Mix64(Hash64(address) + (k + 1) * golden), so a backend's points do not depend on the other
// backends. A key goes to the first point at or after Hash64(key), walking on past unhealthy
// backends. Removing or marking down one backend moves only the keys it owned. An empty
// hash_key hashes PickContext::random instead. Immutable after construction; thread-safe.
#pragma once

#include <vector>

#include "router/balance/balancer.h"

namespace grid::router::balance {

inline constexpr size_t kRingMaxVnodesPerBackend = 1024;
inline constexpr size_t kRingMaxPoints = 65536;

class RingHash final : public Balancer {
 public:
  explicit RingHash(std::span<const BackendSpec> backends);

  std::optional<size_t> Pick(const PickContext& ctx) override;
  size_t backend_count() const override { return backend_count_; }
  size_t point_count() const { return hashes_.size(); }

 private:
  size_t backend_count_;
  std::vector<uint64_t> hashes_;    // sorted ascending
  std::vector<uint32_t> backends_;  // backends_[i] owns hashes_[i]
};

}  // namespace grid::router::balance
