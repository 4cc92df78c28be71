#include "router/balance/factory.h"

#include <gtest/gtest.h>

#include "router/balance/hash.h"
#include "router/balance/test_util.h"

namespace grid::router::balance {
namespace {
using testing::AllHealthy;
using testing::Ctx;
using testing::Specs;

constexpr Policy kAll[] = {Policy::kRoundRobin, Policy::kLeastConn,    Policy::kPowerOfTwo,
                           Policy::kSourceIpHash, Policy::kRingHash, Policy::kMaglev};

TEST(FactoryTest, EveryPolicySkipsUnhealthyAndReturnsNulloptWhenAllDown) {
  auto specs = Specs({1, 5, 10, 100});
  for (Policy p : kAll) {
    auto b = NewBalancer(p, specs, {.maglev_table_size = 1021});
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->backend_count(), 4u);
    auto states = AllHealthy(4);
    states[1].healthy = false;
    states[3].healthy = false;
    SplitMix64 rng(1);
    for (int i = 0; i < 500; ++i) {
      std::string key = "k" + std::to_string(i);
      auto pick = b->Pick(Ctx(states, rng.Next(), key, key));
      ASSERT_TRUE(pick.has_value()) << PolicyName(p);
      EXPECT_TRUE(*pick == 0 || *pick == 2) << PolicyName(p);
    }
    for (auto& s : states) s.healthy = false;
    EXPECT_FALSE(b->Pick(Ctx(states, 1, "k", "1.2.3.4")).has_value()) << PolicyName(p);
  }
}

TEST(FactoryTest, Names) {
  EXPECT_EQ(PolicyName(Policy::kRoundRobin), "round_robin");
  EXPECT_EQ(PolicyName(Policy::kLeastConn), "least_conn");
  EXPECT_EQ(PolicyName(Policy::kPowerOfTwo), "p2c");
  EXPECT_EQ(PolicyName(Policy::kSourceIpHash), "source_ip_hash");
  EXPECT_EQ(PolicyName(Policy::kRingHash), "ring_hash");
  EXPECT_EQ(PolicyName(Policy::kMaglev), "maglev");
}

}  // namespace
}  // namespace grid::router::balance
