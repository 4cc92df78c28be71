#include "router/health/outlier_detector.h"

#include <gtest/gtest.h>

#include "router/health/test_util.h"

namespace grid::router::health {
namespace {
using testing::Ms;
using testing::T0;
using Outcome = PassiveOutcome;

table::OutlierConfig Config(uint32_t connect, uint32_t errors_5xx, uint32_t base_ms = 1000,
                            uint32_t max_ms = 10000, uint32_t max_percent = 100) {
  table::OutlierConfig c;
  c.enabled = true;
  c.consecutive_connect_failures = connect;
  c.consecutive_5xx = errors_5xx;
  c.base_ejection_ms = base_ms;
  c.max_ejection_ms = max_ms;
  c.max_ejected_percent = max_percent;
  return c;
}

// Records `n` outcomes; returns how many ejected.
int RecordN(OutlierDetector& d, size_t backend, Outcome o, int n, TimePoint now) {
  int ejected = 0;
  for (int i = 0; i < n; ++i) ejected += d.Record(backend, o, now) ? 1 : 0;
  return ejected;
}

TEST(OutlierDetectorTest, EjectsAfterExactlyConsecutive5xx) {
  HealthTable t(4);
  OutlierDetector d(Config(0, 5), t);
  EXPECT_EQ(RecordN(d, 0, Outcome::k5xx, 4, T0()), 0);
  EXPECT_TRUE(t.Available(0, T0()));
  EXPECT_TRUE(d.Record(0, Outcome::k5xx, T0()));
  EXPECT_FALSE(t.Available(0, T0()));
  EXPECT_EQ(t.EjectedUntil(0), T0() + Ms(1000));
}

TEST(OutlierDetectorTest, EjectsAfterExactlyConsecutiveConnectFailures) {
  HealthTable t(4);
  OutlierDetector d(Config(3, 0), t);
  EXPECT_EQ(RecordN(d, 1, Outcome::kConnectFailure, 2, T0()), 0);
  EXPECT_TRUE(t.Available(1, T0()));
  EXPECT_TRUE(d.Record(1, Outcome::kConnectFailure, T0()));
  EXPECT_FALSE(t.Available(1, T0()));
}

TEST(OutlierDetectorTest, ASuccessResetsTheCount) {
  HealthTable t(4);
  OutlierDetector d(Config(3, 3), t);
  RecordN(d, 0, Outcome::k5xx, 2, T0());
  d.Record(0, Outcome::kResponse, T0());
  EXPECT_EQ(RecordN(d, 0, Outcome::k5xx, 2, T0()), 0);  // 2 in a row, not 4
  EXPECT_TRUE(t.Available(0, T0()));

  RecordN(d, 1, Outcome::kConnectFailure, 2, T0());
  d.Record(1, Outcome::kConnectSuccess, T0());
  EXPECT_EQ(RecordN(d, 1, Outcome::kConnectFailure, 2, T0()), 0);
  // A 5xx means the backend accepted the connection: it resets the connect count too.
  d.Record(1, Outcome::k5xx, T0());
  EXPECT_EQ(RecordN(d, 1, Outcome::kConnectFailure, 2, T0()), 0);
  EXPECT_TRUE(t.Available(1, T0()));
}

TEST(OutlierDetectorTest, AConnectSuccessDoesNotReset5xx) {
  HealthTable t(4);
  OutlierDetector d(Config(3, 3), t);
  RecordN(d, 0, Outcome::k5xx, 2, T0());
  d.Record(0, Outcome::kConnectSuccess, T0());
  EXPECT_TRUE(d.Record(0, Outcome::k5xx, T0()));
}

TEST(OutlierDetectorTest, ACountOfZeroIsNotCounted) {
  HealthTable t(2);
  OutlierDetector d(Config(0, 2), t);
  EXPECT_EQ(RecordN(d, 0, Outcome::kConnectFailure, 100, T0()), 0);
  EXPECT_TRUE(t.Available(0, T0()));
}

TEST(OutlierDetectorTest, DisabledDoesNothing) {
  HealthTable t(2);
  table::OutlierConfig c = Config(1, 1);
  c.enabled = false;
  OutlierDetector d(c, t);
  EXPECT_EQ(RecordN(d, 0, Outcome::k5xx, 10, T0()), 0);
  EXPECT_TRUE(t.Available(0, T0()));
}

TEST(OutlierDetectorTest, AnEjectedBackendReturnsExactlyWhenItsTimeIsUp) {
  HealthTable t(2);
  OutlierDetector d(Config(0, 1, 30000, 300000), t);
  ASSERT_TRUE(d.Record(0, Outcome::k5xx, T0()));
  EXPECT_FALSE(t.Available(0, T0() + Ms(30000) - std::chrono::nanoseconds(1)));
  EXPECT_TRUE(t.Available(0, T0() + Ms(30000)));
}

TEST(OutlierDetectorTest, OutcomesWhileEjectedAreIgnored) {
  HealthTable t(2);
  OutlierDetector d(Config(0, 2, 1000, 10000), t);
  RecordN(d, 0, Outcome::k5xx, 2, T0());
  // Late failures of requests sent before the ejection neither extend it nor count later.
  EXPECT_EQ(RecordN(d, 0, Outcome::k5xx, 5, T0() + Ms(10)), 0);
  EXPECT_EQ(t.EjectedUntil(0), T0() + Ms(1000));
  const TimePoint back = T0() + Ms(1000);
  EXPECT_FALSE(d.Record(0, Outcome::k5xx, back));  // one, not seven
  EXPECT_TRUE(d.Record(0, Outcome::k5xx, back));
}

TEST(OutlierDetectorTest, EjectionTimeGrowsWithTheNumberOfEjectionsUpToTheCap) {
  HealthTable t(2);
  OutlierDetector d(Config(0, 1, 30000, 100000), t);
  TimePoint now = T0();
  const int64_t expected_ms[] = {30000, 60000, 90000, 100000, 100000, 100000};
  for (int64_t ms : expected_ms) {
    ASSERT_TRUE(d.Record(0, Outcome::k5xx, now));
    EXPECT_EQ(t.EjectedUntil(0) - now, Ms(ms));
    now = t.EjectedUntil(0);  // fails again the moment it returns
  }
  EXPECT_EQ(d.history(0).times_ejected, 4u);  // saturates where the cap is reached
}

TEST(OutlierDetectorTest, TheEjectionCountDecaysWhileInService) {
  HealthTable t(2);
  OutlierDetector d(Config(0, 1, 10000, 40000), t);
  TimePoint now = T0();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(d.Record(0, Outcome::k5xx, now));
    now = t.EjectedUntil(0);
  }
  ASSERT_EQ(d.history(0).times_ejected, 3u);
  // Two whole max_ejection periods (and a bit) in service: the count drops by two.
  now += Ms(2 * 40000 + 39999);
  ASSERT_TRUE(d.Record(0, Outcome::k5xx, now));
  EXPECT_EQ(d.history(0).times_ejected, 2u);
  EXPECT_EQ(t.EjectedUntil(0) - now, Ms(20000));
  // Long in service: back to the base time.
  now = t.EjectedUntil(0) + std::chrono::hours(24);
  ASSERT_TRUE(d.Record(0, Outcome::k5xx, now));
  EXPECT_EQ(t.EjectedUntil(0) - now, Ms(10000));
}

TEST(OutlierDetectorTest, NeverMoreThanMaxEjectedPercent) {
  HealthTable t(10);
  OutlierDetector d(Config(0, 2, 1000, 10000, 30), t);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(RecordN(d, i, Outcome::k5xx, 2, T0()), 1) << i;
  EXPECT_EQ(t.EjectedCount(T0()), 3u);  // exactly 30 % of 10
  EXPECT_EQ(RecordN(d, 3, Outcome::k5xx, 2, T0()), 0);
  EXPECT_EQ(t.EjectedCount(T0()), 3u);
  EXPECT_EQ(d.refused_ejections(), 1u);
  // Once the others are back, the refused backend's count still stands: one more failure
  // ejects it.
  EXPECT_TRUE(d.Record(3, Outcome::k5xx, T0() + Ms(1000)));
}

TEST(OutlierDetectorTest, PercentRoundsDown) {
  HealthTable t(3);
  OutlierDetector d(Config(0, 1, 1000, 10000, 50), t);  // 50 % of 3 = 1.5: one backend
  EXPECT_TRUE(d.Record(0, Outcome::k5xx, T0()));
  EXPECT_FALSE(d.Record(1, Outcome::k5xx, T0()));
}

TEST(OutlierDetectorTest, ZeroPercentNeverEjects) {
  HealthTable t(3);
  OutlierDetector d(Config(0, 1, 1000, 10000, 0), t);
  EXPECT_EQ(RecordN(d, 0, Outcome::k5xx, 10, T0()), 0);
}

TEST(OutlierDetectorTest, TheLastAvailableBackendIsNotEjected) {
  HealthTable t(2);
  OutlierDetector d(Config(0, 1, 1000, 10000, 100), t);
  EXPECT_TRUE(d.Record(0, Outcome::k5xx, T0()));
  EXPECT_FALSE(d.Record(1, Outcome::k5xx, T0()));  // would empty the group
  EXPECT_TRUE(t.Available(1, T0()));
  // A single backend is never ejected.
  HealthTable one(1);
  OutlierDetector d1(Config(0, 1, 1000, 10000, 100), one);
  EXPECT_EQ(RecordN(d1, 0, Outcome::k5xx, 10, T0()), 0);
}

TEST(OutlierDetectorTest, ActivelyUnhealthyBackendsDoNotCountAsAvailable) {
  HealthTable t(3);
  OutlierDetector d(Config(0, 1, 1000, 10000, 100), t);
  t.SetActiveHealthy(1, false);
  t.SetActiveHealthy(2, false);
  EXPECT_FALSE(d.Record(0, Outcome::k5xx, T0()));  // the only available one stays
  t.SetActiveHealthy(2, true);
  EXPECT_TRUE(d.Record(0, Outcome::k5xx, T0()));
}

TEST(OutlierDetectorTest, RestoreCarriesTheHistoryOver) {
  HealthTable t(2);
  OutlierDetector d(Config(0, 1, 1000, 10000), t);
  d.Restore(0, {2, T0() + Ms(500)});
  EXPECT_FALSE(t.Available(0, T0()));
  EXPECT_TRUE(t.Available(0, T0() + Ms(500)));
  ASSERT_TRUE(d.Record(0, Outcome::k5xx, T0() + Ms(500)));
  EXPECT_EQ(t.EjectedUntil(0), T0() + Ms(500) + Ms(3000));
}

}  // namespace
}  // namespace grid::router::health
