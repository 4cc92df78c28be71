#include "router/protect/rate_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <list>
#include <string>
#include <thread>
#include <vector>

#include "router/balance/hash.h"

namespace grid::router::protect {
namespace {
using std::chrono::nanoseconds;

TimePoint T0() { return TimePoint(std::chrono::hours(1000)); }

table::RateLimit Limit(uint32_t rps, uint32_t burst) { return table::RateLimit{rps, burst}; }

TEST(TenantRateLimiterTest, AllowsTheBurstThenRefusesWithRetryAfter) {
  TenantRateLimiter limiter;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("acme", Limit(2, 3), T0()).allowed);
  const auto refused = limiter.Allow("acme", Limit(2, 3), T0());
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 1u);  // 0.5 s rounded up
  EXPECT_FALSE(limiter.Allow("acme", Limit(2, 3), T0() + nanoseconds(499'999'999)).allowed);
  EXPECT_TRUE(limiter.Allow("acme", Limit(2, 3), T0() + nanoseconds(500'000'000)).allowed);
}

TEST(TenantRateLimiterTest, TenantsHaveTheirOwnBuckets) {
  TenantRateLimiter limiter;
  EXPECT_TRUE(limiter.Allow("acme", Limit(1, 1), T0()).allowed);
  EXPECT_FALSE(limiter.Allow("acme", Limit(1, 1), T0()).allowed);
  EXPECT_TRUE(limiter.Allow("globex", Limit(1, 1), T0()).allowed);
  EXPECT_EQ(limiter.bucket_count(), 2u);
}

TEST(TenantRateLimiterTest, ANewLimitAppliesOnTheNextRequest) {
  TenantRateLimiter limiter;
  EXPECT_TRUE(limiter.Allow("acme", Limit(1, 1), T0()).allowed);
  EXPECT_FALSE(limiter.Allow("acme", Limit(1, 1), T0()).allowed);
  // A larger burst keeps the (empty) bucket's tokens: still refused now, refills faster.
  EXPECT_FALSE(limiter.Allow("acme", Limit(10, 5), T0()).allowed);
  EXPECT_TRUE(limiter.Allow("acme", Limit(10, 5), T0() + nanoseconds(100'000'000)).allowed);
}

TEST(TenantRateLimiterTest, EvictsTheLeastRecentlyUsedBucketAtTheLimit) {
  TenantRateLimiter limiter({.max_buckets = 4, .shards = 1});
  for (const char* t : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(limiter.Allow(t, Limit(1, 1), T0()).allowed);
  }
  EXPECT_EQ(limiter.bucket_count(), 4u);  // exactly at the limit: nothing evicted
  EXPECT_EQ(limiter.evictions(), 0u);
  EXPECT_FALSE(limiter.Allow("a", Limit(1, 1), T0()).allowed);  // touches "a": "b" is oldest
  EXPECT_TRUE(limiter.Allow("e", Limit(1, 1), T0()).allowed);   // one over: evicts "b"
  EXPECT_EQ(limiter.bucket_count(), 4u);
  EXPECT_EQ(limiter.evictions(), 1u);
  EXPECT_EQ(limiter.lossy_evictions(), 1u);  // "b" had used its token: its debt is forgiven
  EXPECT_TRUE(limiter.Allow("b", Limit(1, 1), T0()).allowed);   // a fresh bucket; evicts "c"
  EXPECT_FALSE(limiter.Allow("a", Limit(1, 1), T0()).allowed);  // "a" kept its empty bucket
  EXPECT_FALSE(limiter.Allow("d", Limit(1, 1), T0()).allowed);
  EXPECT_TRUE(limiter.Allow("c", Limit(1, 1), T0()).allowed);  // "c" was evicted
}

TEST(TenantRateLimiterTest, EvictingAnIdleBucketLosesNothing) {
  TenantRateLimiter limiter({.max_buckets = 1, .shards = 1});
  ASSERT_TRUE(limiter.Allow("a", Limit(1, 1), T0()).allowed);
  const TimePoint later = T0() + std::chrono::seconds(1);  // "a" is full again
  ASSERT_TRUE(limiter.Allow("b", Limit(1, 1), later).allowed);
  EXPECT_EQ(limiter.evictions(), 1u);
  EXPECT_EQ(limiter.lossy_evictions(), 0u);
}

// The limiter against a model (an LRU list of names) through many random requests to a small
// map: with rps 1, burst 1 and a fixed time, a tenant with a bucket is refused and one without
// is allowed, so every answer shows whether the map kept the tenant.
TEST(TenantRateLimiterTest, MatchesAnLruModel) {
  constexpr size_t kCapacity = 13;
  TenantRateLimiter limiter({.max_buckets = kCapacity, .shards = 1});
  std::list<std::string> lru;  // front: most recent
  balance::SplitMix64 rng(5);
  for (int i = 0; i < 50'000; ++i) {
    const std::string tenant = "t" + std::to_string(rng.Below(40));
    auto it = std::find(lru.begin(), lru.end(), tenant);
    const bool known = it != lru.end();
    ASSERT_EQ(limiter.Allow(tenant, Limit(1, 1), T0()).allowed, !known) << "step " << i;
    if (known) lru.erase(it);
    lru.push_front(tenant);
    if (lru.size() > kCapacity) lru.pop_back();
  }
  EXPECT_EQ(limiter.bucket_count(), kCapacity);
}

TEST(TenantRateLimiterTest, ShardedMapStaysWithinItsLimit) {
  TenantRateLimiter limiter({.max_buckets = 100, .shards = 16});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Allow("tenant-" + std::to_string(i), Limit(5, 5), T0()).allowed);
  }
  EXPECT_LE(limiter.bucket_count(), 100u);
  EXPECT_EQ(limiter.evictions(), 1000u - limiter.bucket_count());
}

TEST(TenantRateLimiterTest, KeysUpToTheLimit) {
  TenantRateLimiter limiter;
  const std::string longest(kMaxRateKeyBytes, 'a');
  EXPECT_TRUE(limiter.Allow(longest, Limit(1, 1), T0()).allowed);
  EXPECT_FALSE(limiter.Allow(longest, Limit(1, 1), T0()).allowed);
  EXPECT_TRUE(limiter.Allow(longest.substr(1), Limit(1, 1), T0()).allowed);
  EXPECT_DEATH(limiter.Allow(longest + "a", Limit(1, 1), T0()), "kMaxRateKeyBytes");
}

TEST(TenantRateLimiterDeathTest, OptionsOutsideTheLimits) {
  EXPECT_DEATH(TenantRateLimiter({.max_buckets = 4, .shards = 3}), "shards");
  EXPECT_DEATH(TenantRateLimiter({.max_buckets = 4, .shards = kMaxRateShards * 2}), "shards");
  EXPECT_DEATH(TenantRateLimiter({.max_buckets = 2, .shards = 4}), "max_buckets");
  EXPECT_DEATH(TenantRateLimiter({.max_buckets = kMaxRateBuckets + 1, .shards = 1}), "max_buckets");
}

// One limiter shared by many threads is one limit: at a fixed time, exactly `burst` requests
// of a tenant get through whatever thread they come from.
TEST(TenantRateLimiterConcurrencyTest, TheLimitIsGlobalAcrossThreads) {
  TenantRateLimiter limiter({.max_buckets = 256, .shards = 4});  // room: nothing evicted
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 2000; ++i) {
        if (limiter.Allow("acme", Limit(1000, 1500), T0()).allowed) allowed.fetch_add(1);
        limiter.Allow("other-" + std::to_string(w * 10 + i % 10), Limit(1, 1), T0());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1500);
}

}  // namespace
}  // namespace grid::router::protect
