#include "router/health/active_health.h"

#include <gtest/gtest.h>

namespace grid::router::health {
namespace {

TEST(ActiveHealthTest, StartsHealthy) {
  ActiveHealth h(3, 3, 2);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(h.healthy(i));
}

TEST(ActiveHealthTest, UnhealthyAfterExactlyUnhealthyThresholdFailures) {
  for (uint32_t threshold : {1u, 2u, 3u, 100u}) {
    ActiveHealth h(1, threshold, 2);
    for (uint32_t i = 1; i < threshold; ++i) {
      EXPECT_EQ(h.Record(0, false), Transition::kNone) << "failure " << i;
      EXPECT_TRUE(h.healthy(0)) << "after " << i << " of " << threshold << " failures";
    }
    EXPECT_EQ(h.Record(0, false), Transition::kBecameUnhealthy);
    EXPECT_FALSE(h.healthy(0));
  }
}

TEST(ActiveHealthTest, HealthyAgainAfterExactlyHealthyThresholdSuccesses) {
  for (uint32_t threshold : {1u, 2u, 5u, 100u}) {
    ActiveHealth h(1, 1, threshold);
    ASSERT_EQ(h.Record(0, false), Transition::kBecameUnhealthy);
    for (uint32_t i = 1; i < threshold; ++i) {
      EXPECT_EQ(h.Record(0, true), Transition::kNone);
      EXPECT_FALSE(h.healthy(0)) << "after " << i << " of " << threshold << " successes";
    }
    EXPECT_EQ(h.Record(0, true), Transition::kBecameHealthy);
    EXPECT_TRUE(h.healthy(0));
  }
}

TEST(ActiveHealthTest, ASuccessRestartsTheFailureCount) {
  ActiveHealth h(1, 3, 2);
  h.Record(0, false);
  h.Record(0, false);
  EXPECT_EQ(h.streak(0), 2u);
  h.Record(0, true);
  EXPECT_EQ(h.streak(0), 0u);
  h.Record(0, false);
  h.Record(0, false);
  EXPECT_TRUE(h.healthy(0));  // 2 in a row again, not 4
  EXPECT_EQ(h.Record(0, false), Transition::kBecameUnhealthy);
}

TEST(ActiveHealthTest, AFailureRestartsTheSuccessCount) {
  ActiveHealth h(1, 1, 3);
  h.Record(0, false);
  h.Record(0, true);
  h.Record(0, true);
  h.Record(0, false);
  h.Record(0, true);
  h.Record(0, true);
  EXPECT_FALSE(h.healthy(0));
  EXPECT_EQ(h.Record(0, true), Transition::kBecameHealthy);
}

TEST(ActiveHealthTest, BackendsAreCountedSeparately) {
  ActiveHealth h(2, 2, 2);
  h.Record(0, false);
  h.Record(1, false);
  EXPECT_EQ(h.Record(0, false), Transition::kBecameUnhealthy);
  EXPECT_TRUE(h.healthy(1));
}

TEST(ActiveHealthTest, SetCarriesAStateOverAndClearsTheCount) {
  ActiveHealth h(1, 2, 2);
  h.Record(0, false);
  h.Set(0, false);
  EXPECT_FALSE(h.healthy(0));
  EXPECT_EQ(h.streak(0), 0u);
  h.Record(0, true);
  EXPECT_EQ(h.Record(0, true), Transition::kBecameHealthy);
}

TEST(ActiveHealthDeathTest, ZeroThresholdIsABug) {
  EXPECT_DEATH(ActiveHealth(1, 0, 1), "threshold");
}

}  // namespace
}  // namespace grid::router::health
