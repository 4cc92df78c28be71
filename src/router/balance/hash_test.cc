#include "router/balance/hash.h"

#include <gtest/gtest.h>

namespace grid::router::balance {
namespace {

// These values are part of the fleet's contract (routers must agree on where a key goes and
// on session cookie tokens). A change here moves keys: it must be deliberate.
TEST(HashTest, ValuesArePinned) {
  EXPECT_EQ(Hash64(""), 0xaebe53f85cdc3c4cULL);
  EXPECT_EQ(Hash64("10.0.0.1:8080"), 0xa0eeb3ae06194a0eULL);
  EXPECT_EQ(Hash64("user-42", 7), 0x1c615ab7e315c212ULL);
  EXPECT_NE(Hash64("a"), Hash64("b"));
  EXPECT_NE(Hash64("a", 1), Hash64("a", 2));
  EXPECT_EQ(Mix64(0), 0u);
  EXPECT_EQ(Mix64(1), 0x5692161d100b05e5ULL);
}

TEST(HashTest, UnitIntervalIsOpen) {
  EXPECT_GT(UnitInterval(0), 0.0);
  EXPECT_LT(UnitInterval(~uint64_t{0}), 1.0);
}

TEST(HashTest, BelowStaysInRange) {
  SplitMix64 rng(123);
  std::vector<int> counts(3);
  for (int i = 0; i < 30000; ++i) ++counts.at(rng.Below(3));
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
  EXPECT_EQ(rng.Below(1), 0u);
}

}  // namespace
}  // namespace grid::router::balance
