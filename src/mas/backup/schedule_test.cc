#include "mas/backup/schedule.h"

#include <gtest/gtest.h>

#include "mas/backup/record.h"

namespace grid::mas::backup {
namespace {

std::chrono::system_clock::time_point At(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : std::chrono::system_clock::time_point();
}

std::string Next(const std::string& spec, const std::string& after) {
  auto s = CronSchedule::Parse(spec);
  EXPECT_TRUE(s.ok()) << spec << ": " << s.status().ToString();
  if (!s.ok()) return "";
  return FormatRfc3339(s->NextAfter(At(after)));
}

TEST(CronScheduleTest, NextAfterTable) {
  struct Case {
    const char* spec;
    const char* after;
    const char* next;
  };
  const Case cases[] = {
      {"* * * * *", "2026-01-02T03:04:05Z", "2026-01-02T03:05:00Z"},
      {"* * * * *", "2026-01-02T03:04:00Z", "2026-01-02T03:05:00Z"},  // strictly after
      {"0 * * * *", "2026-01-02T03:00:00Z", "2026-01-02T04:00:00Z"},
      {"30 2 * * *", "2026-01-02T02:29:59Z", "2026-01-02T02:30:00Z"},
      {"30 2 * * *", "2026-01-02T02:30:00Z", "2026-01-03T02:30:00Z"},
      {"*/15 * * * *", "2026-01-02T03:46:00Z", "2026-01-02T04:00:00Z"},
      {"5/20 * * * *", "2026-01-02T03:26:00Z", "2026-01-02T03:45:00Z"},
      {"0 9-17/4 * * *", "2026-01-02T13:00:00Z", "2026-01-02T17:00:00Z"},
      {"0 9-17/4 * * *", "2026-01-02T17:00:00Z", "2026-01-03T09:00:00Z"},
      {"0,30 8,20 * * *", "2026-01-02T08:30:00Z", "2026-01-02T20:00:00Z"},
      {"59 23 31 12 *", "2026-01-01T00:00:00Z", "2026-12-31T23:59:00Z"},  // year end
      {"0 0 1 * *", "2026-01-31T12:00:00Z", "2026-02-01T00:00:00Z"},      // month end
      {"0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},     // next leap day
      {"0 0 31 * *", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},     // skips April
      {"0 0 * * 1", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},      // 2026-01-01 is Thu
      {"0 0 * * MON", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
      {"0 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},      // 7 = Sunday
      {"0 0 * * 0", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
      {"0 0 * * fri-sat", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
      {"0 0 * FEB *", "2026-03-01T00:00:00Z", "2027-02-01T00:00:00Z"},
      {"0 0 1 jan-mar/2 *", "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"},
      // Both day fields restricted: either matches (13th or any Friday).
      {"0 0 13 * 5", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
      {"0 0 13 * 5", "2026-01-10T00:00:00Z", "2026-01-13T00:00:00Z"},
      // Only day-of-week restricted: a "*" day-of-month does not widen it.
      {"0 0 */1 * 5", "2026-01-03T00:00:00Z", "2026-01-09T00:00:00Z"},
      {"@hourly", "2026-01-02T03:04:05Z", "2026-01-02T04:00:00Z"},
      {"@daily", "2026-01-02T03:04:05Z", "2026-01-03T00:00:00Z"},
      {"@midnight", "2026-01-02T03:04:05Z", "2026-01-03T00:00:00Z"},
      {"@weekly", "2026-01-02T03:04:05Z", "2026-01-04T00:00:00Z"},
      {"@monthly", "2026-01-02T03:04:05Z", "2026-02-01T00:00:00Z"},
      {"@yearly", "2026-01-02T03:04:05Z", "2027-01-01T00:00:00Z"},
      {"@annually", "2026-01-02T03:04:05Z", "2027-01-01T00:00:00Z"},
      {"  0   3  *  *  *  ", "2026-01-02T03:04:05Z", "2026-01-03T03:00:00Z"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Next(c.spec, c.after), c.next) << c.spec << " after " << c.after;
  }
}

TEST(CronScheduleTest, Matches) {
  auto s = CronSchedule::Parse("30 2 * * *");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches(At("2026-01-02T02:30:00Z")));
  EXPECT_TRUE(s->Matches(At("2026-01-02T02:30:59Z")));
  EXPECT_FALSE(s->Matches(At("2026-01-02T02:31:00Z")));
}

TEST(CronScheduleTest, ErrorsNameTheFieldAndPosition) {
  struct Case {
    std::string spec;
    const char* message;  // a part of the message
  };
  const Case cases[] = {
      {"", "expected 5 fields"},
      {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
      {"* * * * * *", "got 6"},
      {"60 * * * *", "minute at position 1: 60 is out of range 0..59"},
      {"0 24 * * *", "hour at position 3: 24 is out of range 0..23"},
      {"0 0 0 * *", "day-of-month at position 5: 0 is out of range 1..31"},
      {"0 0 32 * *", "day-of-month at position 5: 32 is out of range 1..31"},
      {"0 0 * 13 *", "month at position 7: 13 is out of range 1..12"},
      {"0 0 * * 8", "day-of-week at position 9: 8 is out of range 0..7"},
      {"0 0 * * 100", "day-of-week at position 9: 100 is out of range 0..7"},
      {"0 0 * FOO *", "month at position 7: \"FOO\" is not a number or a name (JAN..DEC)"},
      {"0 0 * * MONDAY", "day-of-week at position 9: \"MONDAY\" is not a number or a name (SUN..SAT)"},
      {"x * * * *", "minute at position 1: \"x\" is not a number"},
      {"1,,2 * * * *", "minute at position 3: empty list item"},
      {"1, * * * *", "minute at position 3: empty list item"},
      {"5-3 * * * *", "minute at position 1: range 5-3 is reversed (5 > 3)"},
      {"0 0 * * SAT-SUN", "day-of-week at position 9: range SAT-SUN is reversed (6 > 0)"},
      {"1-70 * * * *", "minute at position 3: 70 is out of range 0..59"},
      {"*/0 * * * *", "minute at position 3: step must be 1..59, got \"0\""},
      {"*/60 * * * *", "minute at position 3: step must be 1..59"},
      {"* */24 * * *", "hour at position 5: step must be 1..23"},
      {"*/ * * * *", "minute at position 3: step must be 1..59, got \"\""},
      {"-5 * * * *", "minute at position 1: a value is missing"},
      {"0 0 30 2 *", "day-of-month at position 5: no selected month has a selected day"},
      {"0 0 31 4,6,9,11 *", "never fires"},
      {"@often", "unknown shorthand"},
  };
  for (const Case& c : cases) {
    auto s = CronSchedule::Parse(c.spec);
    ASSERT_FALSE(s.ok()) << c.spec;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_NE(s.status().message().find(c.message), std::string::npos)
        << c.spec << " -> " << s.status().message();
  }
  // Feb 30 with a restricted day-of-week fires on those weekdays (either field matches).
  EXPECT_TRUE(CronSchedule::Parse("0 0 30 2 1").ok());
}

TEST(CronScheduleTest, SpecLengthLimit) {
  std::string at_limit = "0 0 * * *";
  at_limit.append(kMaxCronSpecBytes - at_limit.size(), ' ');
  EXPECT_TRUE(CronSchedule::Parse(at_limit).ok());
  auto over = CronSchedule::Parse(at_limit + " ");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("at most 256 bytes, got 257"), std::string::npos)
      << over.status().message();
}

TEST(CronScheduleTest, ListItemLimit) {
  std::string minutes;
  for (size_t i = 0; i < kMaxCronListItems; ++i) minutes += (i ? "," : "") + std::to_string(i);
  EXPECT_TRUE(CronSchedule::Parse(minutes + " * * * *").ok());
  auto over = CronSchedule::Parse(minutes + ",0 * * * *");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("minute at position 1: at most 60 list items, got 61"),
            std::string::npos)
      << over.status().message();
}

}  // namespace
}  // namespace grid::mas::backup
