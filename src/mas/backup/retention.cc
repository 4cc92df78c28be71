#include "mas/backup/retention.h"

#include <algorithm>
#include <functional>
#include <map>

#include "common/check.h"

namespace grid::mas::backup {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::system_clock;

void CheckRange(int value, int min, const std::string& path, std::vector<std::string>* errors) {
  if (value < min || value > kMaxRetentionCount) {
    errors->push_back(path + ": must be " + std::to_string(min) + ".." +
                      std::to_string(kMaxRetentionCount) + ", got " + std::to_string(value));
  }
}

int64_t HourOf(system_clock::time_point t) {
  return std::chrono::floor<std::chrono::hours>(t).time_since_epoch().count();
}

int64_t DayOf(system_clock::time_point t) {
  return std::chrono::floor<days>(t).time_since_epoch().count();
}

// The ISO 8601 week as year * 100 + week: weeks start on Monday; week 1 holds the year's
// first Thursday.
int64_t IsoWeekOf(system_clock::time_point t) {
  const sys_days day = std::chrono::floor<days>(t);
  const unsigned iso_weekday = std::chrono::weekday(day).iso_encoding();  // Monday 1 .. Sunday 7
  const sys_days thursday = day + days(4 - static_cast<int>(iso_weekday));
  const std::chrono::year year = std::chrono::year_month_day(thursday).year();
  const sys_days jan1 = sys_days(year / std::chrono::January / 1);
  const int64_t week = (thursday - jan1).count() / 7 + 1;
  return static_cast<int64_t>(static_cast<int>(year)) * 100 + week;
}

}  // namespace

Status ValidateRetention(const RetentionPolicy& policy, const std::string& field_prefix) {
  std::vector<std::string> errors;
  CheckRange(policy.keep_last, kMinKeepLast, field_prefix + ".keepLast", &errors);
  CheckRange(policy.hourly, 0, field_prefix + ".hourly", &errors);
  CheckRange(policy.daily, 0, field_prefix + ".daily", &errors);
  CheckRange(policy.weekly, 0, field_prefix + ".weekly", &errors);
  if (errors.empty()) return Status::Ok();
  std::string joined;
  for (const auto& e : errors) joined += (joined.empty() ? "" : "; ") + e;
  return InvalidArgument(joined);
}

RetentionDecision ApplyRetention(const std::vector<RetainedBackup>& backups,
                                 const RetentionPolicy& policy, system_clock::time_point now) {
  GRID_CHECK(ValidateRetention(policy).ok()) << "ApplyRetention with an invalid policy";
  std::vector<const RetainedBackup*> sorted;
  for (const auto& b : backups) {
    if (b.verified) sorted.push_back(&b);
  }
  std::sort(sorted.begin(), sorted.end(), [](const RetainedBackup* a, const RetainedBackup* b) {
    if (a->created != b->created) return a->created > b->created;
    return a->name > b->name;
  });

  std::map<const RetainedBackup*, std::vector<std::string>> reasons;
  std::vector<const RetainedBackup*> past;
  for (const RetainedBackup* b : sorted) {
    if (b->created > now) {
      reasons[b].push_back("future");
    } else {
      past.push_back(b);
    }
  }
  if (!sorted.empty()) reasons[sorted.front()].push_back("newest");

  auto keep_periods = [&](int count, const char* reason,
                          const std::function<int64_t(system_clock::time_point)>& period) {
    bool have_last = false;
    int64_t last = 0;
    int kept = 0;
    for (const RetainedBackup* b : past) {
      if (kept >= count) break;
      const int64_t p = period(b->created);
      if (have_last && p == last) continue;
      have_last = true;
      last = p;
      ++kept;
      reasons[b].push_back(reason);
    }
  };
  for (size_t i = 0; i < past.size() && i < static_cast<size_t>(policy.keep_last); ++i) {
    reasons[past[i]].push_back("last");
  }
  keep_periods(policy.hourly, "hourly", HourOf);
  keep_periods(policy.daily, "daily", DayOf);
  keep_periods(policy.weekly, "weekly", IsoWeekOf);

  RetentionDecision decision;
  for (const RetainedBackup* b : sorted) {
    auto it = reasons.find(b);
    if (it != reasons.end()) {
      decision.kept.emplace_back(b->name, it->second);
    } else {
      decision.delete_names.push_back(b->name);
    }
  }
  std::reverse(decision.delete_names.begin(), decision.delete_names.end());
  return decision;
}

}  // namespace grid::mas::backup
