#include "router/balance/maglev.h"

#include <gtest/gtest.h>

#include "router/balance/test_util.h"

namespace grid::router::balance {
namespace {
using testing::AllHealthy;
using testing::Ctx;
using testing::Equal;
using testing::Keys;
using testing::Specs;

std::vector<size_t> Assign(Maglev& m, const std::vector<BackendState>& states,
                           const std::vector<std::string>& keys) {
  std::vector<size_t> out;
  for (const auto& k : keys) out.push_back(*m.Pick(Ctx(states, 0, k)));
  return out;
}

TEST(MaglevTest, IsPrime) {
  EXPECT_TRUE(IsPrime(kMinMaglevTableSize));
  EXPECT_TRUE(IsPrime(kMaxMaglevTableSize));
  EXPECT_TRUE(IsPrime(kDefaultMaglevTableSize));
  EXPECT_FALSE(IsPrime(1));
  EXPECT_FALSE(IsPrime(65535));
  EXPECT_FALSE(IsPrime(4));
}

TEST(MaglevTest, EqualWeightsShareSlotsWithinOne) {
  Maglev m(Equal(10), kDefaultMaglevTableSize);
  std::vector<int> slots(10);
  for (uint16_t b : m.table()) ++slots.at(b);
  for (int s : slots) EXPECT_NEAR(s, 6553.7, 1.0);
}

TEST(MaglevTest, SlotsFollowWeights) {
  Maglev m(Specs({10, 20, 70}), kDefaultMaglevTableSize);
  std::vector<int> slots(3);
  for (uint16_t b : m.table()) ++slots.at(b);
  EXPECT_NEAR(slots[0], 6553.7, 10);
  EXPECT_NEAR(slots[1], 13107.4, 10);
  EXPECT_NEAR(slots[2], 45875.9, 10);
}

// Tolerance: ±10 % of the uniform share over 100,000 keys.
TEST(MaglevTest, UniformKeysSpreadEvenly) {
  Maglev m(Equal(10), kDefaultMaglevTableSize);
  auto states = AllHealthy(10);
  std::vector<int> counts(10);
  for (size_t b : Assign(m, states, Keys(100000))) ++counts[b];
  for (int c : counts) EXPECT_NEAR(c, 10000, 1000);
}

TEST(MaglevTest, SameKeySameBackendOnEveryRouter) {
  Maglev a(Equal(7), 1021);
  Maglev b(Equal(7), 1021);
  EXPECT_EQ(a.table(), b.table());
}

// Removing one of N backends from the configuration moves ≈1/N of the keys: its own keys all
// move, and Maglev's table rebuild moves at most a few per cent more (tolerance: 1/N -10 %,
// +30 %).
TEST(MaglevTest, RemovingOneOfNMovesAboutOneNth) {
  const size_t n = 10;
  auto specs = Equal(n);
  Maglev full(specs, kDefaultMaglevTableSize);
  auto keys = Keys(100000);
  auto before = Assign(full, AllHealthy(n), keys);

  const size_t removed = 4;
  auto fewer = specs;
  fewer.erase(fewer.begin() + removed);
  Maglev smaller(fewer, kDefaultMaglevTableSize);
  auto after = Assign(smaller, AllHealthy(n - 1), keys);
  int moved = 0;
  int moved_own = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t now = after[i] >= removed ? after[i] + 1 : after[i];
    if (now != before[i]) {
      ++moved;
      moved_own += before[i] == removed ? 1 : 0;
    }
  }
  const double share = 100000.0 / n;
  EXPECT_NEAR(moved_own, share, share * 0.1);
  EXPECT_GE(moved, share * 0.9);
  EXPECT_LE(moved, share * 1.3);
}

TEST(MaglevTest, UnhealthyBackendMovesOnlyItsKeysAndSpreadsThem) {
  const size_t n = 10;
  Maglev m(Equal(n), kDefaultMaglevTableSize);
  auto states = AllHealthy(n);
  auto keys = Keys(100000);
  auto before = Assign(m, states, keys);
  states[5].healthy = false;
  auto after = Assign(m, states, keys);
  std::vector<int> gained(n);
  int moved = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_NE(after[i], 5u);
    if (after[i] != before[i]) {
      ++moved;
      ++gained[after[i]];
      EXPECT_EQ(before[i], 5u);
    }
  }
  EXPECT_NEAR(moved, 100000.0 / n, 100000.0 / n * 0.1);
  // The moved keys spread over the other nine: ±20 % of an equal part each (about 1,100 keys).
  for (size_t b = 0; b < n; ++b) {
    if (b == 5) continue;
    EXPECT_NEAR(gained[b], moved / 9.0, moved / 9.0 * 0.2) << b;
  }
}

TEST(MaglevTest, AllDownIsNulloptAndOneUpTakesAll) {
  Maglev m(Equal(5), kMinMaglevTableSize);
  std::vector<BackendState> states(5, BackendState{false, 0});
  EXPECT_FALSE(m.Pick(Ctx(states, 0, "k")).has_value());
  states[4].healthy = true;
  for (const auto& k : Keys(1000)) EXPECT_EQ(m.Pick(Ctx(states, 0, k)), 4u);
}

TEST(MaglevTest, AtBackendLimit) {
  Maglev m(Equal(kMaxBackendsPerBalancer), kMaxMaglevTableSize);
  std::vector<int> slots(kMaxBackendsPerBalancer);
  for (uint16_t b : m.table()) ++slots.at(b);
  for (int s : slots) EXPECT_GE(s, 63);
}

TEST(MaglevDeathTest, TableSizeMustBePrimeAndInRange) {
  EXPECT_DEATH(Maglev m(Equal(3), 65535), "IsPrime");
  EXPECT_DEATH(Maglev m(Equal(3), 97), "table_size >= kMinMaglevTableSize");
  EXPECT_DEATH(Maglev m(Equal(3), 65539), "table_size <= kMaxMaglevTableSize");
}

TEST(MaglevTest, EmptyKeyUsesRandom) {
  Maglev m(Equal(4), kDefaultMaglevTableSize);
  auto states = AllHealthy(4);
  std::vector<int> counts(4);
  for (uint64_t r = 0; r < 4000; ++r) ++counts[*m.Pick(Ctx(states, r))];
  for (int c : counts) EXPECT_NEAR(c, 1000, 100);
}

}  // namespace
}  // namespace grid::router::balance
