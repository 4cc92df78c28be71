// Source-IP affinity by weighted rendezvous hashing (highest random weight): every healthy
// backend scores -weight / ln(u), where u in (0,1) is a stable hash of (client address,
// backend address), and the highest score wins. A client keeps its backend for as long as it
// is healthy; when one backend goes down or comes back only its own clients move; shares are
// proportional to weights. The whole address text is hashed (IPv4 and IPv6 alike, no /24
// grouping). An empty client_ip hashes PickContext::random instead. Stateless, O(backends).
#pragma once

#include <vector>

#include "router/balance/balancer.h"

namespace grid::router::balance {

class SourceIpHash final : public Balancer {
 public:
  explicit SourceIpHash(std::span<const BackendSpec> backends);

  std::optional<size_t> Pick(const PickContext& ctx) override;
  size_t backend_count() const override { return seeds_.size(); }

 private:
  std::vector<uint64_t> seeds_;  // Hash64(address) per backend
  std::vector<double> weights_;
  bool equal_weights_ = true;    // then the largest hash wins and no logarithm is needed
};

// Rendezvous pick over `seeds` (one per backend) for a key hash; shared with tests.
std::optional<size_t> RendezvousPick(uint64_t key_hash, std::span<const uint64_t> seeds,
                                     std::span<const double> weights, bool equal_weights,
                                     std::span<const BackendState> states);

}  // namespace grid::router::balance
