#include "router/net/timer_wheel.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace grid::router::net {
namespace {

TEST(TimerWheelTest, FiresAtDeadlineInOrder) {
  TimerWheel wheel(1000);
  std::vector<int> fired;
  Timer a([&] { fired.push_back(1); });
  Timer b([&] { fired.push_back(2); });
  Timer c([&] { fired.push_back(3); });
  a.Arm(&wheel, 30);
  b.Arm(&wheel, 10);
  c.Arm(&wheel, 20);
  EXPECT_EQ(wheel.size(), 3u);
  EXPECT_EQ(wheel.MillisUntilNext(), 10);
  EXPECT_EQ(wheel.Advance(1009), 0u);
  EXPECT_EQ(wheel.Advance(1030), 3u);
  EXPECT_EQ(fired, (std::vector<int>{2, 3, 1}));
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.MillisUntilNext(), -1);
}

TEST(TimerWheelTest, CancelAndRearm) {
  TimerWheel wheel(0);
  int fired = 0;
  Timer t([&] { ++fired; });
  t.Arm(&wheel, 5);
  t.Cancel();
  EXPECT_FALSE(t.armed());
  wheel.Advance(10);
  EXPECT_EQ(fired, 0);
  t.Arm(&wheel, 5);
  t.Arm(&wheel, 50);  // moved
  wheel.Advance(20);
  EXPECT_EQ(fired, 0);
  wheel.Advance(60);
  EXPECT_EQ(fired, 1);
}

TEST(TimerWheelTest, TimersBeyondOneTurnWaitForTheirTurn) {
  TimerWheel wheel(0);
  int fired = 0;
  Timer t([&] { ++fired; });
  const uint64_t far = 3 * kTimerWheelSlots + 17;
  t.Arm(&wheel, far);
  for (uint64_t now = 100; now < far; now += 100) {
    wheel.Advance(now);
    ASSERT_EQ(fired, 0) << now;
  }
  wheel.Advance(far);
  EXPECT_EQ(fired, 1);
}

TEST(TimerWheelTest, JumpLongerThanOneTurnFiresEverything) {
  TimerWheel wheel(0);
  int fired = 0;
  std::vector<std::unique_ptr<Timer>> timers;
  for (uint64_t d = 1; d <= 2 * kTimerWheelSlots; d += 97) {
    timers.push_back(std::make_unique<Timer>([&] { ++fired; }));
    timers.back()->Arm(&wheel, d);
  }
  wheel.Advance(10 * kTimerWheelSlots);
  EXPECT_EQ(fired, static_cast<int>(timers.size()));
}

TEST(TimerWheelTest, CallbackMayCancelOrDestroyALaterExpiredTimer) {
  TimerWheel wheel(0);
  int second_fired = 0;
  auto second = std::make_unique<Timer>([&] { ++second_fired; });
  Timer first([&] { second.reset(); });
  first.Arm(&wheel, 1);
  second->Arm(&wheel, 2);
  wheel.Advance(5);
  EXPECT_EQ(second_fired, 0);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CallbackMayRearmItself) {
  TimerWheel wheel(0);
  int fired = 0;
  Timer* self = nullptr;
  Timer t([&] {
    if (++fired < 3) self->Arm(&wheel, 10);
  });
  self = &t;
  t.Arm(&wheel, 10);
  wheel.Advance(10);
  wheel.Advance(20);
  wheel.Advance(30);
  wheel.Advance(40);
  EXPECT_EQ(fired, 3);
}

TEST(TimerWheelTest, NextExpiryWrapsAroundTheWheel) {
  TimerWheel wheel(kTimerWheelSlots - 10);
  Timer t([] {});
  t.Arm(&wheel, 30);  // slot index wraps past 0
  EXPECT_EQ(wheel.MillisUntilNext(), 30);
}

}  // namespace
}  // namespace grid::router::net
