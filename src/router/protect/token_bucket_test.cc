#include "router/protect/token_bucket.h"

#include <gtest/gtest.h>

namespace grid::router::protect {
namespace {
using std::chrono::nanoseconds;
using std::chrono::seconds;

TimePoint T0() { return TimePoint(std::chrono::hours(1000)); }

TEST(TokenBucketTest, StartsFullAndAllowsExactlyTheBurst) {
  TokenBucket b(10, 5, T0());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.TryTake(T0()).allowed) << i;
  const auto refused = b.TryTake(T0());
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.wait, nanoseconds(100'000'000));
}

TEST(TokenBucketTest, RefillsAtExactlyTheRate) {
  TokenBucket b(10, 1, T0());
  ASSERT_TRUE(b.TryTake(T0()).allowed);
  const auto early = b.TryTake(T0() + nanoseconds(99'999'999));
  EXPECT_FALSE(early.allowed);
  EXPECT_EQ(early.wait, nanoseconds(1));
  EXPECT_TRUE(b.TryTake(T0() + nanoseconds(100'000'000)).allowed);
}

TEST(TokenBucketTest, ARateThatDoesNotDivideASecondLosesNothing) {
  TokenBucket b(3, 1, T0());
  ASSERT_TRUE(b.TryTake(T0()).allowed);
  EXPECT_EQ(b.TryTake(T0()).wait, nanoseconds(333'333'334));  // rounded up
  EXPECT_FALSE(b.TryTake(T0() + nanoseconds(333'333'333)).allowed);
  EXPECT_TRUE(b.TryTake(T0() + nanoseconds(333'333'334)).allowed);
  // Over a long run the count is exact: 3 per second, no drift.
  TokenBucket c(3, 1, T0());
  int allowed = 0;
  for (int64_t ms = 0; ms < 100'000; ++ms) {
    allowed += c.TryTake(T0() + std::chrono::milliseconds(ms)).allowed ? 1 : 0;
  }
  // The initial token, then one per 1/3 s: 299 whole tokens accrue by 99.999 s.
  EXPECT_EQ(allowed, 300);
}

TEST(TokenBucketTest, NeverHoldsMoreThanTheBurst) {
  TokenBucket b(100, 7, T0());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(b.TryTake(T0()).allowed);
  EXPECT_FALSE(b.Full(T0()));
  const TimePoint later = T0() + std::chrono::hours(24 * 365);
  EXPECT_TRUE(b.Full(later));
  EXPECT_EQ(b.Tokens(later), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(b.TryTake(later).allowed);
  EXPECT_FALSE(b.TryTake(later).allowed);
}

TEST(TokenBucketTest, TimeGoingBackAddsNothing) {
  TokenBucket b(1, 1, T0());
  ASSERT_TRUE(b.TryTake(T0() + seconds(5)).allowed);
  EXPECT_FALSE(b.TryTake(T0()).allowed);  // an older now from another loop
  EXPECT_FALSE(b.TryTake(T0() + seconds(5) + nanoseconds(999'999'999)).allowed);
  EXPECT_TRUE(b.TryTake(T0() + seconds(6)).allowed);
}

TEST(TokenBucketTest, ReconfigureKeepsTokensUpToTheNewBurst) {
  TokenBucket b(10, 10, T0());
  b.Reconfigure(10, 4, T0());
  EXPECT_EQ(b.Tokens(T0()), 4u);
  b.Reconfigure(1, 100, T0());
  EXPECT_EQ(b.Tokens(T0()), 4u);
  EXPECT_EQ(b.Tokens(T0() + seconds(10)), 14u);
}

TEST(TokenBucketTest, LargestRateAndBurstDoNotOverflow) {
  TokenBucket b(kMaxRateRps, kMaxRateBurst, T0());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.TryTake(T0()).allowed);
  EXPECT_EQ(b.Tokens(T0()), kMaxRateBurst - 1000u);
  EXPECT_EQ(b.Tokens(T0() + nanoseconds(1000)), kMaxRateBurst - 999u);
  EXPECT_TRUE(b.Full(T0() + std::chrono::hours(24 * 365 * 100)));
  EXPECT_EQ(b.Tokens(T0() + std::chrono::hours(24 * 365 * 100)), kMaxRateBurst);
}

TEST(TokenBucketDeathTest, RatesOutsideTheLimitsAreBugs) {
  EXPECT_DEATH(TokenBucket(0, 1, T0()), "rps");
  EXPECT_DEATH(TokenBucket(kMaxRateRps + 1, 1, T0()), "rps");
  EXPECT_DEATH(TokenBucket(1, 0, T0()), "burst");
  EXPECT_DEATH(TokenBucket(1, kMaxRateBurst + 1, T0()), "burst");
}

TEST(RetryAfterTest, WholeSecondsRoundedUpAtLeastOne) {
  EXPECT_EQ(RetryAfterSeconds(nanoseconds(0)), 1u);
  EXPECT_EQ(RetryAfterSeconds(nanoseconds(1)), 1u);
  EXPECT_EQ(RetryAfterSeconds(nanoseconds(333'333'334)), 1u);
  EXPECT_EQ(RetryAfterSeconds(nanoseconds(1'000'000'000)), 1u);
  EXPECT_EQ(RetryAfterSeconds(nanoseconds(1'000'000'001)), 2u);
  EXPECT_EQ(RetryAfterSeconds(std::chrono::milliseconds(2500)), 3u);
}

}  // namespace
}  // namespace grid::router::protect
