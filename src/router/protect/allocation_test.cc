// The per-request path allocates nothing: rate limiting (new tenants, evictions and refusals
// included), concurrency slots, the retry budget and retry decisions. Counts every operator new
// in this binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "router/protect/concurrency_limit.h"
#include "router/protect/rate_limiter.h"
#include "router/protect/retry_policy.h"

namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

// GCC sees ::operator new's built-in meaning through inlining and flags the free() below.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace grid::router::protect {
namespace {

TimePoint T0() { return TimePoint(std::chrono::hours(1000)); }

TEST(ProtectAllocationTest, RequestPathAllocatesNothing) {
  TenantRateLimiter limiter({.max_buckets = 64, .shards = 4});
  std::vector<std::vector<std::shared_ptr<LimitCounters>>> backends(1);
  for (int i = 0; i < 4; ++i) backends[0].push_back(std::make_shared<LimitCounters>());
  ConcurrencyLimit cell(table::CellCaps{8, 4, 3, 2}, std::make_shared<LimitCounters>(),
                        std::move(backends));
  RetryBudget budget(table::RetryBudget{20, 3, 2}, T0());
  RetryPolicy policy(budget);
  std::vector<std::string> tenants;  // 256 names into 64 buckets: inserts and evictions
  for (int i = 0; i < 256; ++i) tenants.push_back("tenant-" + std::to_string(i));
  std::vector<balance::BackendState> states(4);

  const size_t before = g_allocations.load();
  size_t refused = 0;
  for (int round = 0; round < 20; ++round) {
    const TimePoint now = T0() + std::chrono::milliseconds(round * 10);
    for (const std::string& t : tenants) {
      refused += limiter.Allow(t, table::RateLimit{5, 2}, now).allowed ? 0 : 1;
      refused += limiter.Allow(tenants[0], table::RateLimit{5, 2}, now).allowed ? 0 : 1;
    }
    Slot request = budget.StartRequest();
    Slot a = cell.TryAcquire(SlotKind::kConnection, 0, round % 4);
    Slot b = cell.TryAcquire(SlotKind::kPendingRequest, 0, round % 4);
    Slot c = cell.TryAcquire(SlotKind::kPendingRequest, 0, round % 4);
    Slot d = cell.TryAcquire(SlotKind::kPendingRequest, 0, round % 4);  // refused
    refused += d ? 0 : 1;
    cell.FillConnections(0, states);
    auto decision = policy.Decide(FailureStage::kConnect, "POST", false, 0, now);
    auto again = policy.Decide(FailureStage::kRequestSent, "GET", true, 1, now);
    refused += again.retry ? 0 : 1;
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_GT(refused, 0u);
  EXPECT_GT(limiter.evictions(), 0u);
}

}  // namespace
}  // namespace grid::router::protect
