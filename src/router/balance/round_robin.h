// Smooth weighted round robin (nginx's algorithm). Each pick adds every healthy backend's
// weight to its running score, picks the highest score (the first on a tie) and subtracts the
// sum of the healthy weights from the winner. While the healthy set stays the same, every
// cycle of sum(weights) picks (counted from construction) picks each backend exactly `weight`
// times, and picks of a heavy backend are spread out (weights 5,1,1 give a a b a c a a, not
// a a a a a b c).
// An unhealthy backend's score is frozen until it is healthy again.
#pragma once

#include <mutex>
#include <vector>

#include "router/balance/balancer.h"

namespace grid::router::balance {

class RoundRobin final : public Balancer {
 public:
  explicit RoundRobin(std::span<const BackendSpec> backends);

  std::optional<size_t> Pick(const PickContext& ctx) override;
  size_t backend_count() const override { return weights_.size(); }

 private:
  const std::vector<int64_t> weights_;
  std::mutex mu_;
  std::vector<int64_t> scores_;  // guarded by mu_
};

}  // namespace grid::router::balance
