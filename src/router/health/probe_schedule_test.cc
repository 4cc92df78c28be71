#include "router/health/probe_schedule.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "router/health/test_util.h"

namespace grid::router::health {
namespace {
using testing::Ms;
using testing::T0;

// Pops everything due at `now`.
std::vector<size_t> PopAll(ProbeSchedule& s, TimePoint now) {
  std::vector<size_t> out;
  while (auto b = s.PopDue(now)) out.push_back(*b);
  return out;
}

TEST(ProbeScheduleTest, FirstProbesAreSpreadOverOneInterval) {
  ProbeSchedule s(100, Ms(5000), 7);
  s.Start(T0());
  std::set<TimePoint> firsts;
  for (size_t i = 0; i < 100; ++i) {
    ASSERT_TRUE(s.DueAt(i).has_value());
    EXPECT_LT(*s.DueAt(i), T0() + Ms(5000));
  }
  for (size_t i = 0; i < 100; ++i) {
    const TimePoint due = *s.NextDue();
    EXPECT_GE(due, T0());
    EXPECT_LT(due, T0() + Ms(5000));
    firsts.insert(due);
    ASSERT_TRUE(s.PopDue(due).has_value());
  }
  EXPECT_FALSE(s.NextDue().has_value());  // all in flight
  EXPECT_GT(firsts.size(), 90u);          // spread, not piled on a few instants
  EXPECT_LT(*firsts.rbegin() - *firsts.begin(), Ms(5000));
  EXPECT_GT(*firsts.rbegin() - *firsts.begin(), Ms(4000));
}

TEST(ProbeScheduleTest, NothingIsDueBeforeItsTime) {
  ProbeSchedule s(1, Ms(1000), 1);
  s.Start(T0());
  const TimePoint due = *s.NextDue();
  EXPECT_FALSE(s.PopDue(due - std::chrono::nanoseconds(1)).has_value());
  EXPECT_EQ(s.PopDue(due), 0u);
}

TEST(ProbeScheduleTest, NextProbeIsOneIntervalWithinJitterAfterTheStart) {
  const auto interval = Ms(1000);
  const auto jitter = interval * kProbeJitterPercent / 100;
  ProbeSchedule s(1, interval, 3);
  s.Start(T0());
  TimePoint now = *s.NextDue();
  bool early = false, late = false;
  for (int round = 0; round < 200; ++round) {
    ASSERT_EQ(s.PopDue(now), 0u);
    EXPECT_TRUE(s.in_flight(0));
    EXPECT_FALSE(s.DueAt(0).has_value());
    s.Done(0, now + Ms(10));
    const TimePoint next = *s.NextDue();
    EXPECT_EQ(s.DueAt(0), next);
    EXPECT_GE(next, now + interval - jitter);
    EXPECT_LE(next, now + interval + jitter);
    early |= next < now + interval;
    late |= next > now + interval;
    now = next;
  }
  EXPECT_TRUE(early && late);  // the jitter goes both ways
}

TEST(ProbeScheduleTest, ABackendHasOneProbeInFlight) {
  ProbeSchedule s(2, Ms(100), 5);
  s.Start(T0());
  EXPECT_EQ(PopAll(s, T0() + Ms(100)).size(), 2u);
  // Long after their due times, nothing more starts while both are in flight.
  EXPECT_TRUE(PopAll(s, T0() + Ms(10000)).empty());
  EXPECT_FALSE(s.NextDue().has_value());
}

TEST(ProbeScheduleTest, AProbeThatFinishesLateIsFollowedAtOnce) {
  ProbeSchedule s(1, Ms(100), 5);
  s.Start(T0());
  const TimePoint started = *s.NextDue();
  ASSERT_TRUE(s.PopDue(started));
  s.Done(0, started + Ms(500));  // a prober that overran the interval
  EXPECT_EQ(*s.NextDue(), started + Ms(500));
}

TEST(ProbeScheduleTest, TheSameSeedGivesTheSameScheduleAndAnotherSeedAnother) {
  auto run = [](uint64_t seed) {
    ProbeSchedule s(8, Ms(2000), seed);
    s.Start(T0());
    std::vector<TimePoint> times;
    TimePoint now = T0();
    for (int i = 0; i < 40; ++i) {
      now = *s.NextDue();
      const size_t b = *s.PopDue(now);
      times.push_back(now);
      s.Done(b, now + Ms(1));
    }
    return times;
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

TEST(ProbeScheduleDeathTest, DoneWithoutAProbeInFlightIsABug) {
  ProbeSchedule s(1, Ms(100), 1);
  s.Start(T0());
  EXPECT_DEATH(s.Done(0, T0()), "no probe in flight");
}

TEST(ProbeScheduleDeathTest, MoreBackendsThanTheLimitIsABug) {
  ProbeSchedule ok(kMaxBackendsPerGroup, Ms(100), 1);
  EXPECT_EQ(ok.size(), kMaxBackendsPerGroup);
  EXPECT_DEATH(ProbeSchedule(kMaxBackendsPerGroup + 1, Ms(100), 1), "kMaxBackendsPerGroup");
}

}  // namespace
}  // namespace grid::router::health
