#include "router/balance/ring_hash.h"

#include <gtest/gtest.h>

#include "router/balance/test_util.h"

namespace grid::router::balance {
namespace {
using testing::AllHealthy;
using testing::Ctx;
using testing::Equal;
using testing::Keys;
using testing::Specs;

std::vector<size_t> Assign(RingHash& ring, const std::vector<BackendState>& states,
                           const std::vector<std::string>& keys) {
  std::vector<size_t> out;
  for (const auto& k : keys) out.push_back(*ring.Pick(Ctx(states, 0, k)));
  return out;
}

TEST(RingHashTest, SameKeySameBackendOnEveryRouter) {
  RingHash a(Equal(10));
  RingHash b(Equal(10));
  auto states = AllHealthy(10);
  auto keys = Keys(1000);
  EXPECT_EQ(Assign(a, states, keys), Assign(b, states, keys));
}

// Tolerance: ±10 % of the uniform share over 100,000 keys.
TEST(RingHashTest, UniformKeysSpreadEvenly) {
  RingHash ring(Equal(10));
  auto states = AllHealthy(10);
  std::vector<int> counts(10);
  for (size_t b : Assign(ring, states, Keys(100000))) ++counts[b];
  for (int c : counts) EXPECT_NEAR(c, 10000, 1000);
}

// Tolerance: ±10 % of each weight's share.
TEST(RingHashTest, SharesFollowWeights) {
  RingHash ring(Specs({25, 25, 50, 100}));
  auto states = AllHealthy(4);
  std::vector<int> counts(4);
  for (size_t b : Assign(ring, states, Keys(100000))) ++counts[b];
  EXPECT_NEAR(counts[0], 12500, 1250);
  EXPECT_NEAR(counts[1], 12500, 1250);
  EXPECT_NEAR(counts[2], 25000, 2500);
  EXPECT_NEAR(counts[3], 50000, 5000);
}

// Removing one of N backends from the configuration moves only its keys: ≈1/N (±10 %).
TEST(RingHashTest, RemovingOneOfNMovesOnlyItsKeys) {
  const size_t n = 10;
  auto specs = Equal(n);
  RingHash full(specs);
  auto keys = Keys(100000);
  auto before = Assign(full, AllHealthy(n), keys);

  const size_t removed = 6;
  auto fewer = specs;
  fewer.erase(fewer.begin() + removed);
  RingHash smaller(fewer);
  auto after = Assign(smaller, AllHealthy(n - 1), keys);
  int moved = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t now = after[i] >= removed ? after[i] + 1 : after[i];  // back to old indices
    if (now != before[i]) {
      ++moved;
      EXPECT_EQ(before[i], removed) << keys[i];
    }
  }
  EXPECT_NEAR(moved, 100000.0 / n, 100000.0 / n * 0.1);
}

TEST(RingHashTest, UnhealthyBackendMovesOnlyItsKeys) {
  const size_t n = 10;
  RingHash ring(Equal(n));
  auto states = AllHealthy(n);
  auto keys = Keys(50000);
  auto before = Assign(ring, states, keys);
  states[2].healthy = false;
  auto after = Assign(ring, states, keys);
  int moved = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_NE(after[i], 2u);
    if (after[i] != before[i]) {
      ++moved;
      EXPECT_EQ(before[i], 2u);
    }
  }
  EXPECT_NEAR(moved, 50000.0 / n, 50000.0 / n * 0.1);
}

TEST(RingHashTest, AllDownIsNulloptAndOneUpTakesAll) {
  RingHash ring(Equal(3));
  std::vector<BackendState> states = {{false, 0}, {false, 0}, {false, 0}};
  EXPECT_FALSE(ring.Pick(Ctx(states, 0, "k")).has_value());
  states[1].healthy = true;
  for (const auto& k : Keys(100)) EXPECT_EQ(ring.Pick(Ctx(states, 0, k)), 1u);
}

TEST(RingHashTest, PointsStayWithinTheLimit) {
  RingHash small(Equal(3));
  EXPECT_EQ(small.point_count(), 3 * kRingMaxVnodesPerBackend);
  RingHash large(Equal(kMaxBackendsPerBalancer));
  EXPECT_LE(large.point_count(), kRingMaxPoints);
  auto states = AllHealthy(kMaxBackendsPerBalancer);
  EXPECT_TRUE(large.Pick(Ctx(states, 0, "k")).has_value());
}

TEST(RingHashTest, EmptyKeyUsesRandom) {
  RingHash ring(Equal(4));
  auto states = AllHealthy(4);
  std::vector<int> counts(4);
  for (uint64_t r = 0; r < 4000; ++r) ++counts[*ring.Pick(Ctx(states, r))];
  for (int c : counts) EXPECT_NEAR(c, 1000, 100);
}

}  // namespace
}  // namespace grid::router::balance
