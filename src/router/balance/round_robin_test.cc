#include "router/balance/round_robin.h"

#include <thread>

#include <gtest/gtest.h>

#include "router/balance/test_util.h"

namespace grid::router::balance {
namespace {
using testing::AllHealthy;
using testing::Ctx;
using testing::Specs;

std::string Sequence(RoundRobin& rr, const std::vector<BackendState>& states, int picks) {
  std::string out;
  for (int i = 0; i < picks; ++i) {
    std::optional<size_t> p = rr.Pick(Ctx(states));
    out += p ? static_cast<char>('a' + *p) : '-';
  }
  return out;
}

TEST(RoundRobinTest, SmoothSequenceOfNginx) {
  RoundRobin rr(Specs({5, 1, 1}));
  EXPECT_EQ(Sequence(rr, AllHealthy(3), 14), "aabacaaaabacaa");
}

TEST(RoundRobinTest, EqualWeightsRotate) {
  RoundRobin rr(Specs({1, 1, 1}));
  EXPECT_EQ(Sequence(rr, AllHealthy(3), 6), "abcabc");
}

// Tolerance: exact. Over any whole number of cycles (sum of weights = 100 picks) each backend
// is picked exactly `weight` times per cycle.
TEST(RoundRobinTest, TenThousandPicksInExactProportion) {
  const std::vector<uint32_t> weights = {50, 30, 15, 4, 1};
  RoundRobin rr(Specs(weights));
  std::vector<int> counts(weights.size());
  auto states = AllHealthy(weights.size());
  for (int i = 0; i < 10000; ++i) ++counts[*rr.Pick(Ctx(states))];
  for (size_t i = 0; i < weights.size(); ++i) EXPECT_EQ(counts[i], 100 * int(weights[i])) << i;
}

TEST(RoundRobinTest, UnhealthyNeverPickedAndAllDownIsNullopt) {
  RoundRobin rr(Specs({3, 2, 1}));
  auto states = AllHealthy(3);
  states[0].healthy = false;
  std::vector<int> counts(3);
  for (int i = 0; i < 300; ++i) ++counts[*rr.Pick(Ctx(states))];
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[1], 200);
  EXPECT_EQ(counts[2], 100);

  for (auto& s : states) s.healthy = false;
  EXPECT_FALSE(rr.Pick(Ctx(states)).has_value());

  for (auto& s : states) s.healthy = true;
  EXPECT_TRUE(rr.Pick(Ctx(states)).has_value());
}

TEST(RoundRobinTest, AtBackendLimit) {
  RoundRobin rr(Specs(std::vector<uint32_t>(kMaxBackendsPerBalancer, kMaxBackendWeight)));
  auto states = AllHealthy(kMaxBackendsPerBalancer);
  std::vector<int> counts(kMaxBackendsPerBalancer);
  for (size_t i = 0; i < kMaxBackendsPerBalancer; ++i) ++counts[*rr.Pick(Ctx(states))];
  for (int c : counts) EXPECT_EQ(c, 1);
}

TEST(RoundRobinDeathTest, OverBackendLimitCrashes) {
  auto specs = Specs(std::vector<uint32_t>(kMaxBackendsPerBalancer + 1, 1));
  EXPECT_DEATH(RoundRobin rr(specs), "backends.size");
}

TEST(RoundRobinDeathTest, WeightOutOfRangeCrashes) {
  EXPECT_DEATH(RoundRobin rr(Specs({1, 0})), "weight 0");
  EXPECT_DEATH(RoundRobin rr(Specs({kMaxBackendWeight + 1})), "weight 101");
}

// Concurrent picks are serialized, so the totals are as exact as from one thread.
TEST(RoundRobinTest, ConcurrentPicksKeepExactProportion) {
  const std::vector<uint32_t> weights = {60, 30, 10};
  RoundRobin rr(Specs(weights));
  auto states = AllHealthy(3);
  std::vector<std::vector<int>> counts(2, std::vector<int>(3));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) ++counts[t][*rr.Pick(Ctx(states))];
    });
  }
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(counts[0][i] + counts[1][i], 100 * int(weights[i]));
}

}  // namespace
}  // namespace grid::router::balance
