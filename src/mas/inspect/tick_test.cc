#include <gtest/gtest.h>

#include "mas/inspect/scheduler.h"

namespace grid::mas::inspect {
namespace {

TEST(InspectTick, FloorOfWallSecondsOverInterval) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  EXPECT_EQ(Tick(system_clock::time_point(seconds(0)), 10), 0);
  EXPECT_EQ(Tick(system_clock::time_point(seconds(9)), 10), 0);
  EXPECT_EQ(Tick(system_clock::time_point(seconds(10)), 10), 1);
  EXPECT_EQ(Tick(system_clock::time_point(seconds(-1)), 10), -1);
  KVClusterSpec spec;
  EXPECT_EQ(IntervalSeconds(spec), kDefaultInspectionIntervalSeconds);
  spec.inspection = Inspection{1};
  EXPECT_EQ(IntervalSeconds(spec), kMinInspectionIntervalSeconds);
  spec.inspection = Inspection{60};
  EXPECT_EQ(IntervalSeconds(spec), 60);
}

}  // namespace
}  // namespace grid::mas::inspect
