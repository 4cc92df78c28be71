#include "mas/mirror/lag.h"

#include <gtest/gtest.h>

namespace grid::mas::mirror {
namespace {

using std::chrono::seconds;
using TimePoint = LagTracker::TimePoint;

TEST(LagTrackerTest, RevisionsAndSecondsFromTheOldestUnappliedRevision) {
  const TimePoint t0{};
  LagTracker t;
  EXPECT_EQ(t.Get(t0).revisions, 0);
  t.SeenPrimary(10, t0);
  t.SeenPrimary(20, t0 + seconds(5));
  Lag lag = t.Get(t0 + seconds(7));
  EXPECT_EQ(lag.primary_revision, 20);
  EXPECT_EQ(lag.revisions, 20);
  EXPECT_DOUBLE_EQ(lag.seconds, 7);
  t.Applied(15);  // 16..20 were first seen at t0 + 5 s
  lag = t.Get(t0 + seconds(7));
  EXPECT_EQ(lag.revisions, 5);
  EXPECT_DOUBLE_EQ(lag.seconds, 2);
  t.Applied(20);
  lag = t.Get(t0 + seconds(9));
  EXPECT_EQ(lag, (Lag{20, 20, 0, 0}));
  EXPECT_EQ(t.samples(), 0u);
  t.SeenPrimary(19, t0 + seconds(9));  // older news: ignored
  EXPECT_EQ(t.Get(t0 + seconds(9)).revisions, 0);
  t.Applied(25);  // applied past the known primary: the primary is at least there
  EXPECT_EQ(t.Get(t0).primary_revision, 25);
}

TEST(LagTrackerTest, SamplesAreBoundedAndNeverUnderReport) {
  const TimePoint t0{};
  LagTracker t;
  for (size_t i = 1; i <= kMaxLagSamples + 10; ++i) {
    t.SeenPrimary(static_cast<int64_t>(i), t0 + seconds(i));
  }
  EXPECT_EQ(t.samples(), kMaxLagSamples);
  const int64_t last = static_cast<int64_t>(kMaxLagSamples + 10);
  t.Applied(last - 1);
  // The newest sample absorbed the revisions beyond the limit with its older time.
  Lag lag = t.Get(t0 + seconds(last));
  EXPECT_EQ(lag.revisions, 1);
  EXPECT_DOUBLE_EQ(lag.seconds, 10);
}

}  // namespace
}  // namespace grid::mas::mirror
