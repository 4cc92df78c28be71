#include "router/balance/hash.h"

#include "common/check.h"

namespace grid::router::balance {
namespace {
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
}  // namespace

uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t Hash64(std::string_view data, uint64_t seed) {
  uint64_t h = kFnvOffset ^ Mix64(seed + kGolden);
  for (unsigned char c : data) {
    h ^= c;
    h *= kFnvPrime;
  }
  return Mix64(h ^ data.size());
}

double UnitInterval(uint64_t bits) {
  // 52 bits, offset by half a step: the sum needs at most 53 significant bits, so it is exact
  // and neither 0 nor 1 is reachable.
  return (static_cast<double>(bits >> 12) + 0.5) * 0x1.0p-52;
}

uint64_t SplitMix64::Next() {
  state_ += kGolden;
  return Mix64(state_);
}

uint64_t SplitMix64::Below(uint64_t n) {
  GRID_CHECK(n > 0);
  // Multiply-shift: unbiased enough for n <= kMaxBackendsPerBalancer (bias < 2^-50).
  return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
}

}  // namespace grid::router::balance
