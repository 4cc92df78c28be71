// Power of two choices: draws two distinct healthy backends uniformly at random (from
// PickContext::random) and picks the one with fewer active connections per unit of weight
// (the first drawn on a tie). With one healthy backend it is picked. Stateless; O(backends)
// per pick without allocation. The most loaded backend is never picked while another healthy
// backend has strictly less load.
#pragma once

#include <vector>

#include "router/balance/balancer.h"

namespace grid::router::balance {

class PowerOfTwoChoices final : public Balancer {
 public:
  explicit PowerOfTwoChoices(std::span<const BackendSpec> backends);

  std::optional<size_t> Pick(const PickContext& ctx) override;
  size_t backend_count() const override { return weights_.size(); }

 private:
  const std::vector<uint64_t> weights_;
};

}  // namespace grid::router::balance
