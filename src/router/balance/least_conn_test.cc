#include "router/balance/least_conn.h"

#include <gtest/gtest.h>

#include "router/balance/test_util.h"

namespace grid::router::balance {
namespace {
using testing::AllHealthy;
using testing::Ctx;
using testing::Equal;
using testing::Specs;

TEST(LeastConnTest, PicksFewestConnections) {
  LeastConn lc(Equal(3));
  std::vector<BackendState> states = {{true, 5}, {true, 2}, {true, 9}};
  for (uint64_t r = 0; r < 50; ++r) EXPECT_EQ(lc.Pick(Ctx(states, r)), 1u);
}

TEST(LeastConnTest, ComparesConnectionsPerUnitOfWeight) {
  LeastConn lc(Specs({1, 3}));
  // 2/1 > 5/3: the heavier backend has more connections but less load per weight.
  std::vector<BackendState> states = {{true, 2}, {true, 5}};
  EXPECT_EQ(lc.Pick(Ctx(states)), 1u);
  states[1].active_connections = 7;  // 7/3 > 2/1
  EXPECT_EQ(lc.Pick(Ctx(states)), 0u);
}

// Tolerance: ±10 % of the uniform share over 10,000 picks among 4 tied backends.
TEST(LeastConnTest, TiesAreBrokenUniformly) {
  LeastConn lc(Equal(4));
  auto states = AllHealthy(4);
  SplitMix64 rng(42);
  std::vector<int> counts(4);
  for (int i = 0; i < 10000; ++i) ++counts[*lc.Pick(Ctx(states, rng.Next()))];
  for (int c : counts) EXPECT_NEAR(c, 2500, 250);
}

// Connections that are never released end up proportional to the weights.
TEST(LeastConnTest, OpenConnectionsFollowWeights) {
  LeastConn lc(Specs({1, 3, 6}));
  auto states = AllHealthy(3);
  SplitMix64 rng(7);
  for (int i = 0; i < 1000; ++i) ++states[*lc.Pick(Ctx(states, rng.Next()))].active_connections;
  EXPECT_NEAR(states[0].active_connections, 100, 1);
  EXPECT_NEAR(states[1].active_connections, 300, 1);
  EXPECT_NEAR(states[2].active_connections, 600, 1);
}

TEST(LeastConnTest, UnhealthyNeverPickedAndAllDownIsNullopt) {
  LeastConn lc(Equal(3));
  std::vector<BackendState> states = {{false, 0}, {true, 10}, {true, 20}};
  for (uint64_t r = 0; r < 50; ++r) EXPECT_EQ(lc.Pick(Ctx(states, r)), 1u);
  for (auto& s : states) s.healthy = false;
  EXPECT_FALSE(lc.Pick(Ctx(states)).has_value());
}

}  // namespace
}  // namespace grid::router::balance
