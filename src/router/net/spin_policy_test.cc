#include "router/net/spin_policy.h"

#include <gtest/gtest.h>

namespace grid::router::net {
namespace {

TEST(SpinPolicyTest, AWindowOfZeroNeverSpins) {
  SpinPolicy p(0);
  for (int i = 0; i < 3; ++i) p.Record(true);
  EXPECT_FALSE(p.ShouldSpin());
}

TEST(SpinPolicyTest, AFreshLoopSpinsOnlyAfterAWaitEndedWithinTheWindow) {
  SpinPolicy p(50);
  EXPECT_FALSE(p.ShouldSpin());
  p.Record(false);
  EXPECT_FALSE(p.ShouldSpin());
  p.Record(true);
  EXPECT_TRUE(p.ShouldSpin());
}

TEST(SpinPolicyTest, StopsAfterExactlyTheCreditOfLongWaitsInARow) {
  SpinPolicy p(50);
  p.Record(true);
  for (int i = 0; i < kSpinCredit - 1; ++i) {
    p.Record(false);
    EXPECT_TRUE(p.ShouldSpin()) << "after " << i + 1 << " long waits";
  }
  p.Record(false);
  EXPECT_FALSE(p.ShouldSpin());
  // One wait ending within the window gives the whole credit back.
  p.Record(true);
  for (int i = 0; i < kSpinCredit - 1; ++i) p.Record(false);
  EXPECT_TRUE(p.ShouldSpin());
}

TEST(SpinPolicyTest, TheLargestWindowIsAccepted) {
  SpinPolicy p(kMaxSpinBeforeWaitUs);
  p.Record(true);
  EXPECT_TRUE(p.ShouldSpin());
  EXPECT_EQ(p.window_us(), kMaxSpinBeforeWaitUs);
}

TEST(SpinPolicyTest, OptionCheckAcceptsUpToTheLimit) {
  EXPECT_TRUE(CheckSpinBeforeWaitUs(0).ok());
  EXPECT_TRUE(CheckSpinBeforeWaitUs(kMaxSpinBeforeWaitUs).ok());
  const Status over = CheckSpinBeforeWaitUs(kMaxSpinBeforeWaitUs + 1);
  EXPECT_EQ(over.code(), Code::kInvalidArgument);
  EXPECT_NE(over.message().find("0..1000 us, got 1001"), std::string::npos) << over.ToString();
}

TEST(SpinPolicyDeathTest, AWindowOverTheLimitIsABug) {
  EXPECT_DEATH(SpinPolicy(kMaxSpinBeforeWaitUs + 1), "spin window");
}

}  // namespace
}  // namespace grid::router::net
