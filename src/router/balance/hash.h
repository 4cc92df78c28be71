// Stable hashing for the hash-based policies and session cookies. The functions are part of
// the fleet's contract: every router must map a key to the same backend, so they never depend
// on the platform, the build or the process (no std::hash), and changing them moves keys.
#pragma once

#include <cstdint>
#include <string_view>

namespace grid::router::balance {

// 64-bit hash of `data`: FNV-1a over the bytes, then the splitmix64 finalizer for avalanche.
uint64_t Hash64(std::string_view data, uint64_t seed = 0);

// The splitmix64 finalizer: a bijection on 64-bit values with good avalanche.
uint64_t Mix64(uint64_t x);

// A uniform double in the open interval (0, 1) from 64 random bits.
double UnitInterval(uint64_t bits);

// A small deterministic generator (splitmix64) for policies that need several draws from the
// single random value of a PickContext.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Below(uint64_t n);

 private:
  uint64_t state_;
};

}  // namespace grid::router::balance
