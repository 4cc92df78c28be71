#include "router/l4/backend_set.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace grid::router::l4 {
namespace {

std::shared_ptr<BackendSet> MakeSet(const std::vector<uint32_t>& weights,
                                    Policy policy = Policy::kRoundRobin) {
  ListenerConfig config;
  config.name = "test";
  config.policy = policy;
  std::vector<std::shared_ptr<BackendStats>> stats;
  for (size_t i = 0; i < weights.size(); ++i) {
    BackendConfig b;
    b.address = "127.0.0.1:" + std::to_string(9000 + i);
    b.resolved = net::ParseSocketAddress(b.address).value();
    b.weight = weights[i];
    config.backends.push_back(b);
    stats.push_back(std::make_shared<BackendStats>());
  }
  return std::make_shared<BackendSet>(config, stats);
}

std::vector<int> Count(BackendSet* set, int picks, std::span<const size_t> exclude = {}) {
  std::vector<int> counts(set->backends().size());
  for (int i = 0; i < picks; ++i) {
    std::optional<size_t> p = set->Pick(exclude, static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15u);
    EXPECT_TRUE(p.has_value());
    if (p) ++counts[*p];
  }
  return counts;
}

TEST(L4BackendSetTest, RoundRobinFollowsWeightsExactly) {
  auto set = MakeSet({80, 20});
  // Smooth weighted round robin: every 100 picks hold exactly 80 and 20.
  EXPECT_EQ(Count(set.get(), 1000), (std::vector<int>{800, 200}));
  auto three = MakeSet({50, 30, 20});
  EXPECT_EQ(Count(three.get(), 1000), (std::vector<int>{500, 300, 200}));
}

TEST(L4BackendSetTest, WeightZeroIsNeverPicked) {
  auto set = MakeSet({0, 100, 0});
  EXPECT_EQ(Count(set.get(), 100), (std::vector<int>{0, 100, 0}));
  auto none = MakeSet({0, 0});
  EXPECT_FALSE(none->Pick({}, 1).has_value());
}

TEST(L4BackendSetTest, UnhealthyIsSkippedAndComesBack) {
  auto set = MakeSet({50, 50});
  set->backends()[0].stats->set_health({false, 3});
  EXPECT_EQ(Count(set.get(), 100), (std::vector<int>{0, 100}));
  set->backends()[1].stats->set_health({false, 3});
  EXPECT_FALSE(set->Pick({}, 1).has_value());
  set->backends()[0].stats->set_health({true, 0});
  set->backends()[1].stats->set_health({true, 0});
  std::vector<int> both = Count(set.get(), 100);
  EXPECT_EQ(both[0] + both[1], 100);
  EXPECT_GT(both[0], 0);
  EXPECT_GT(both[1], 0);
}

TEST(L4BackendSetTest, ExcludedBackendsAreNotRetried) {
  auto set = MakeSet({60, 30, 10});
  const std::vector<size_t> tried = {0};
  EXPECT_EQ(Count(set.get(), 400, tried), (std::vector<int>{0, 300, 100}));
  const std::vector<size_t> all = {0, 1, 2};
  EXPECT_FALSE(set->Pick(all, 1).has_value());
}

TEST(L4BackendSetTest, LeastConnPrefersFewerPerWeight) {
  auto set = MakeSet({50, 50}, Policy::kLeastConn);
  set->backends()[0].stats->active = 5;
  set->backends()[1].stats->active = 1;
  EXPECT_EQ(Count(set.get(), 50), (std::vector<int>{0, 50}));
  set->backends()[0].stats->active = 1;
  set->backends()[1].stats->active = 5;
  EXPECT_EQ(Count(set.get(), 50), (std::vector<int>{50, 0}));
}

TEST(L4BackendSetTest, HealthWordKeepsBothFields) {
  BackendStats s;
  EXPECT_TRUE(s.health().healthy);
  EXPECT_EQ(s.health().probe_failures_in_a_row, 0u);
  s.set_health({false, 0xfffffffeu});
  EXPECT_FALSE(s.health().healthy);
  EXPECT_EQ(s.health().probe_failures_in_a_row, 0xfffffffeu);
}

}  // namespace
}  // namespace grid::router::l4
