#include "router/balance/maglev.h"

#include <algorithm>
#include <limits>

#include "common/check.h"
#include "router/balance/hash.h"

namespace grid::router::balance {
namespace {
constexpr uint64_t kOffsetSeed = 0x6f6666736574ULL;  // "offset"
constexpr uint64_t kSkipSeed = 0x736b6970ULL;        // "skip"
constexpr uint64_t kProbeSeed = 0x70726f6265ULL;     // "probe"
constexpr uint16_t kEmpty = std::numeric_limits<uint16_t>::max();
static_assert(kMaxBackendsPerBalancer < kEmpty);
}  // namespace

bool IsPrime(uint32_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

Maglev::Maglev(std::span<const BackendSpec> backends, uint32_t table_size)
    : backend_count_(backends.size()), table_(table_size, kEmpty) {
  CheckBackendSpecs(backends);
  GRID_CHECK(IsPrime(table_size)) << table_size;
  GRID_CHECK(table_size >= kMinMaglevTableSize && table_size <= kMaxMaglevTableSize)
      << table_size;
  GRID_CHECK_LE(backends.size(), table_size);

  const uint64_t m = table_size;
  const size_t n = backends.size();
  uint64_t max_weight = 0;
  for (const BackendSpec& b : backends) max_weight = std::max<uint64_t>(max_weight, b.weight);
  std::vector<uint64_t> offset(n), skip(n), next(n, 0), claimed(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t h = Hash64(backends[i].address);
    offset[i] = Hash64(backends[i].address, kOffsetSeed ^ h) % m;
    skip[i] = Hash64(backends[i].address, kSkipSeed ^ h) % (m - 1) + 1;
  }
  uint64_t filled = 0;
  for (uint64_t round = 1; filled < m; ++round) {
    for (size_t i = 0; i < n && filled < m; ++i) {
      if (claimed[i] * max_weight >= round * backends[i].weight) continue;
      uint64_t slot;
      do {
        // next[i] < m always: each step either claims a slot or passes a slot another
        // backend holds, and the permutation visits each of the m slots once.
        slot = (offset[i] + next[i] * skip[i]) % m;
        ++next[i];
      } while (table_[slot] != kEmpty);
      table_[slot] = static_cast<uint16_t>(i);
      ++claimed[i];
      ++filled;
    }
  }
}

std::optional<size_t> Maglev::Pick(const PickContext& ctx) {
  CheckPickContext(ctx, backend_count_);
  bool any = false;
  for (const BackendState& s : ctx.backends) any = any || s.healthy;
  if (!any) return std::nullopt;

  const uint64_t h = ctx.hash_key.empty() ? Mix64(ctx.random) : Hash64(ctx.hash_key);
  const uint64_t m = table_.size();
  uint64_t slot = h % m;
  if (ctx.backends[table_[slot]].healthy) return table_[slot];
  for (int probe = 1; probe <= kMaglevProbes; ++probe) {
    slot = Mix64(h ^ (kProbeSeed + static_cast<uint64_t>(probe))) % m;
    if (ctx.backends[table_[slot]].healthy) return table_[slot];
  }
  // Every backend claimed a slot in round 1, so a scan of the whole table finds a healthy one.
  for (uint64_t step = 0; step < m; ++step) {
    slot = slot + 1 == m ? 0 : slot + 1;
    if (ctx.backends[table_[slot]].healthy) return table_[slot];
  }
  GRID_UNREACHABLE();
  return std::nullopt;
}

}  // namespace grid::router::balance
