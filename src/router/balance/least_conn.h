// Weighted least connections: picks the healthy backend with the fewest active connections
// per unit of weight (active_i / weight_i, compared exactly by cross-multiplication). Ties are
// broken uniformly at random (from PickContext::random), so an idle group spreads new
// connections instead of piling them on the first backend. Stateless.
#pragma once

#include <vector>

#include "router/balance/balancer.h"

namespace grid::router::balance {

class LeastConn final : public Balancer {
 public:
  explicit LeastConn(std::span<const BackendSpec> backends);

  std::optional<size_t> Pick(const PickContext& ctx) override;
  size_t backend_count() const override { return weights_.size(); }

 private:
  const std::vector<uint64_t> weights_;
};

}  // namespace grid::router::balance
