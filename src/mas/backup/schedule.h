// Cron-style schedules for backups: five fields "minute hour day-of-month month day-of-week",
// evaluated in UTC (no time zones, so daylight saving time never applies: "0 2 * * *" is
// 02:00 UTC every day, never skipped or repeated).
//
// Each field is a comma-separated list (at most kMaxCronListItems items) of
//   *          every value
//   N          one value
//   A-B        a range, A <= B
//   */S, A-B/S, N/S   every S-th value of the range (N/S: from N to the field's maximum)
// Fields and their values:
//   minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN..DEC,
//   day-of-week 0-7 or SUN..SAT (0 and 7 are both Sunday); names are case-insensitive.
// Shorthands: @hourly "0 * * * *", @daily and @midnight "0 0 * * *", @weekly "0 0 * * 0",
// @monthly "0 0 1 * *", @yearly and @annually "0 0 1 1 *".
// As in Vixie cron, when both day-of-month and day-of-week are restricted (neither starts
// with '*'), a day matches when EITHER matches; otherwise both must.
//
// Errors are InvalidArgument naming the field and the 1-based character position in the
// spec, e.g. "schedule \"0 24 * * *\": hour at position 3: 24 is out of range 0..23".
// A schedule that can never fire ("0 0 30 2 *") is refused when parsed.
#pragma once

#include <bitset>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace grid::mas::backup {

inline constexpr size_t kMaxCronSpecBytes = 256;
inline constexpr size_t kMaxCronListItems = 60;

class CronSchedule {
 public:
  static Result<CronSchedule> Parse(std::string_view spec);

  // The first whole minute strictly after `t` (UTC) that matches. Always exists for a
  // parsed schedule (found within 8 years: every month/day pair recurs by then).
  std::chrono::system_clock::time_point NextAfter(std::chrono::system_clock::time_point t) const;

  // True when the minute containing `t` matches.
  bool Matches(std::chrono::system_clock::time_point t) const;

  const std::string& spec() const { return spec_; }

 private:
  CronSchedule() = default;
  bool DayMatches(std::chrono::year_month_day ymd) const;

  std::string spec_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 0 unused
  std::bitset<13> months_;         // bit 0 unused
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;
};

}  // namespace grid::mas::backup
