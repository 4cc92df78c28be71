#include "router/balance/p2c.h"

#include <gtest/gtest.h>

#include "router/balance/test_util.h"

namespace grid::router::balance {
namespace {
using testing::AllHealthy;
using testing::Ctx;
using testing::Equal;
using testing::Specs;

TEST(PowerOfTwoTest, SingleHealthyBackendIsPicked) {
  PowerOfTwoChoices p2c(Equal(4));
  std::vector<BackendState> states = {{false, 0}, {false, 0}, {true, 100}, {false, 0}};
  for (uint64_t r = 0; r < 100; ++r) EXPECT_EQ(p2c.Pick(Ctx(states, r)), 2u);
}

TEST(PowerOfTwoTest, TwoBackendsAlwaysPickTheLessLoaded) {
  PowerOfTwoChoices p2c(Equal(2));
  std::vector<BackendState> states = {{true, 4}, {true, 3}};
  for (uint64_t r = 0; r < 100; ++r) EXPECT_EQ(p2c.Pick(Ctx(states, r)), 1u);
}

TEST(PowerOfTwoTest, MostLoadedIsNeverPicked) {
  PowerOfTwoChoices p2c(Equal(5));
  std::vector<BackendState> states = {{true, 1}, {true, 2}, {true, 50}, {true, 3}, {true, 1}};
  SplitMix64 rng(3);
  for (int i = 0; i < 10000; ++i) EXPECT_NE(p2c.Pick(Ctx(states, rng.Next())), 2u);
}

// Tolerance: ±10 % of the uniform share over 10,000 picks with equal load.
TEST(PowerOfTwoTest, EqualLoadSpreadsUniformly) {
  PowerOfTwoChoices p2c(Equal(5));
  auto states = AllHealthy(5);
  SplitMix64 rng(11);
  std::vector<int> counts(5);
  for (int i = 0; i < 10000; ++i) ++counts[*p2c.Pick(Ctx(states, rng.Next()))];
  for (int c : counts) EXPECT_NEAR(c, 2000, 200);
}

// Tolerance: ±10 % of each weight's share of 10,000 connections that are never released.
TEST(PowerOfTwoTest, OpenConnectionsFollowWeights) {
  PowerOfTwoChoices p2c(Specs({1, 2, 2, 5}));
  auto states = AllHealthy(4);
  SplitMix64 rng(5);
  for (int i = 0; i < 10000; ++i) ++states[*p2c.Pick(Ctx(states, rng.Next()))].active_connections;
  EXPECT_NEAR(states[0].active_connections, 1000, 100);
  EXPECT_NEAR(states[1].active_connections, 2000, 200);
  EXPECT_NEAR(states[2].active_connections, 2000, 200);
  EXPECT_NEAR(states[3].active_connections, 5000, 500);
}

TEST(PowerOfTwoTest, UnhealthyNeverPickedAndAllDownIsNullopt) {
  PowerOfTwoChoices p2c(Equal(4));
  std::vector<BackendState> states = {{true, 9}, {false, 0}, {true, 9}, {false, 0}};
  SplitMix64 rng(9);
  for (int i = 0; i < 1000; ++i) {
    size_t p = *p2c.Pick(Ctx(states, rng.Next()));
    EXPECT_TRUE(p == 0 || p == 2);
  }
  for (auto& s : states) s.healthy = false;
  EXPECT_FALSE(p2c.Pick(Ctx(states)).has_value());
}

}  // namespace
}  // namespace grid::router::balance
