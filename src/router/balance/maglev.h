// Maglev consistent hashing (Eisenbud et al., NSDI 2016). A lookup table of prime size M is
// filled by letting backends take turns claiming the next free slot of their own permutation
// (offset + j * skip) mod M, where offset and skip come from Hash64(address); a backend of
// weight w takes a turn in round n while its slot count is below n * w / max_weight, so slot
// shares follow the weights. A key goes to table[Hash64(key) mod M]. When that backend is
// unhealthy the key probes kMaglevProbes further slots chosen by rehashing the key, then
// scans forward: only the keys of an unhealthy backend move, and they spread over the others
// in proportion to their shares. Rebuilding without a backend moves little more than its own
// keys. An empty hash_key hashes PickContext::random instead. Immutable; thread-safe.
#pragma once

#include <vector>

#include "router/balance/balancer.h"

namespace grid::router::balance {

inline constexpr uint32_t kMinMaglevTableSize = 101;
inline constexpr uint32_t kMaxMaglevTableSize = 65537;
inline constexpr uint32_t kDefaultMaglevTableSize = 65537;
inline constexpr int kMaglevProbes = 16;

bool IsPrime(uint32_t n);

class Maglev final : public Balancer {
 public:
  // REQUIRES: table_size is prime, in [kMinMaglevTableSize, kMaxMaglevTableSize], and at
  // least backends.size().
  Maglev(std::span<const BackendSpec> backends, uint32_t table_size);

  std::optional<size_t> Pick(const PickContext& ctx) override;
  size_t backend_count() const override { return backend_count_; }

  // The backend that owns each slot (for tests).
  const std::vector<uint16_t>& table() const { return table_; }

 private:
  size_t backend_count_;
  std::vector<uint16_t> table_;
};

}  // namespace grid::router::balance
