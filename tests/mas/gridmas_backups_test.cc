// gridmas's backup ticks: the tick of a fire time and the latest fire time to run, including
// the catch-up limit.
#include <chrono>

#include <gtest/gtest.h>

#include "backups.h"
#include "common/check.h"

namespace grid::mas {
namespace {

using std::chrono::minutes;
using std::chrono::sys_days;
using std::chrono::system_clock;

backup::CronSchedule Schedule(const char* spec) {
  auto s = backup::CronSchedule::Parse(spec);
  GRID_CHECK(s.ok()) << s.status().ToString();
  return *s;
}

system_clock::time_point At(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  return sys_days{std::chrono::year{y} / mo / d} + std::chrono::hours(h) + minutes(mi) +
         std::chrono::seconds(s);
}

TEST(BackupTick, IsTheFireTimeInUnixMinutes) {
  EXPECT_EQ(BackupTick(system_clock::time_point{}), 0);
  EXPECT_EQ(BackupTick(At(1970, 1, 1, 1, 2)), 62);
  // Any instant of a minute has that minute's tick (every replica computes the same).
  EXPECT_EQ(BackupTick(At(2026, 1, 2, 3, 4, 59)), BackupTick(At(2026, 1, 2, 3, 4, 0)));
  EXPECT_EQ(BackupTick(At(2026, 1, 2, 3, 5)), BackupTick(At(2026, 1, 2, 3, 4)) + 1);
  EXPECT_EQ(BackupJobName("main"), "backup-main");
}

TEST(BackupTick, LatestFireTakesTheLastMissedFireOnly) {
  const auto every_minute = Schedule("* * * * *");
  const auto t = At(2026, 3, 1, 10, 0);
  EXPECT_EQ(LatestFire(every_minute, t, t), t);
  EXPECT_EQ(LatestFire(every_minute, t, t + std::chrono::seconds(59)), t);
  EXPECT_EQ(LatestFire(every_minute, t, t + minutes(5) + std::chrono::seconds(1)),
            t + minutes(5));
  const auto daily = Schedule("0 2 * * *");
  EXPECT_EQ(LatestFire(daily, At(2026, 2, 27, 2, 0), At(2026, 3, 1, 1, 59)),
            At(2026, 2, 28, 2, 0));
  EXPECT_EQ(LatestFire(daily, At(2026, 2, 27, 2, 0), At(2026, 3, 1, 2, 0)),
            At(2026, 3, 1, 2, 0));
}

TEST(BackupTick, CatchUpLimitIsExact) {
  const auto every_minute = Schedule("* * * * *");
  const auto t = At(2026, 1, 1, 0, 0);
  EXPECT_EQ(LatestFire(every_minute, t, t + minutes(kMaxBackupCatchUpFires)),
            t + minutes(kMaxBackupCatchUpFires));
  EXPECT_EQ(LatestFire(every_minute, t, t + minutes(kMaxBackupCatchUpFires + 1)),
            t + minutes(kMaxBackupCatchUpFires));
}

}  // namespace
}  // namespace grid::mas
