#include "mas/backup/retention.h"

#include <gtest/gtest.h>

#include "mas/backup/record.h"

namespace grid::mas::backup {
namespace {

using std::chrono::system_clock;

system_clock::time_point At(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : system_clock::time_point();
}

// Backups named by their time ("2026-01-02T03:04:05Z"), all verified.
std::vector<RetainedBackup> Backups(const std::vector<std::string>& times) {
  std::vector<RetainedBackup> out;
  for (const auto& t : times) out.push_back({t, At(t), true});
  return out;
}

RetentionPolicy Policy(int last, int hourly, int daily, int weekly) {
  return RetentionPolicy{last, hourly, daily, weekly};
}

TEST(RetentionTest, Table) {
  struct Case {
    const char* what;
    RetentionPolicy policy;
    std::vector<std::string> backups;
    std::string now;
    std::vector<std::string> deleted;  // oldest first
  };
  const std::vector<Case> cases = {
      {"empty list", Policy(1, 0, 0, 0), {}, "2026-01-10T00:00:00Z", {}},
      {"keepLast 1 keeps only the newest", Policy(1, 0, 0, 0),
       {"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"},
       "2026-01-10T00:00:00Z",
       {"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"}},
      {"keepLast 2, input order does not matter", Policy(2, 0, 0, 0),
       {"2026-01-03T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
       "2026-01-10T00:00:00Z",
       {"2026-01-01T00:00:00Z"}},
      {"keepLast larger than the list", Policy(10, 0, 0, 0),
       {"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"}, "2026-01-10T00:00:00Z", {}},
      {"hourly keeps the newest of each hour", Policy(1, 3, 0, 0),
       {"2026-01-01T10:05:00Z", "2026-01-01T10:45:00Z", "2026-01-01T11:10:00Z",
        "2026-01-01T11:50:00Z", "2026-01-01T12:30:00Z", "2026-01-01T13:00:00Z"},
       "2026-01-01T14:00:00Z",
       // kept: 13:00 (last + hourly), 12:30, 11:50; not 10:xx (4th hour)
       {"2026-01-01T10:05:00Z", "2026-01-01T10:45:00Z", "2026-01-01T11:10:00Z"}},
      {"hours without backups do not count", Policy(1, 2, 0, 0),
       {"2026-01-01T01:00:00Z", "2026-01-01T05:00:00Z", "2026-01-03T09:00:00Z"},
       "2026-01-05T00:00:00Z",
       {"2026-01-01T01:00:00Z"}},
      {"daily keeps the newest of each UTC day", Policy(1, 0, 2, 0),
       {"2026-01-01T01:00:00Z", "2026-01-01T23:59:59Z", "2026-01-02T00:00:00Z",
        "2026-01-02T12:00:00Z", "2026-01-03T06:00:00Z"},
       "2026-01-04T00:00:00Z",
       // kept: 01-03 (newest, day 1), 01-02T12 (day 2); 01-01 is a 3rd day
       {"2026-01-01T01:00:00Z", "2026-01-01T23:59:59Z", "2026-01-02T00:00:00Z"}},
      {"weekly uses ISO weeks (Monday first)", Policy(1, 0, 0, 2),
       // 2026-01-04 is a Sunday (ISO week 1), 2026-01-05 Monday (week 2)
       {"2025-12-28T12:00:00Z", "2025-12-29T12:00:00Z", "2026-01-04T12:00:00Z",
        "2026-01-05T12:00:00Z"},
       "2026-01-06T00:00:00Z",
       // kept: 01-05 (week 2), 01-04 (week 1, which began 2025-12-29)
       {"2025-12-28T12:00:00Z", "2025-12-29T12:00:00Z"}},
      {"ISO week across a year end (2020-12-31 and 2021-01-03 are both 2020-W53)",
       Policy(1, 0, 0, 5),
       {"2020-12-28T00:00:00Z", "2020-12-31T00:00:00Z", "2021-01-03T00:00:00Z"},
       "2021-01-04T00:00:00Z",
       {"2020-12-28T00:00:00Z", "2020-12-31T00:00:00Z"}},
      {"rules combine: a backup kept by any rule stays", Policy(2, 0, 3, 2),
       {"2026-01-01T12:00:00Z", "2026-01-05T12:00:00Z", "2026-01-06T12:00:00Z",
        "2026-01-07T06:00:00Z", "2026-01-07T18:00:00Z", "2026-01-08T06:00:00Z",
        "2026-01-08T18:00:00Z"},
       "2026-01-09T00:00:00Z",
       // last: 01-08T18, 01-08T06; daily: 01-08T18, 01-07T18, 01-06; weekly: 01-08T18
       // (week 2), 01-01 (week 1)
       {"2026-01-05T12:00:00Z", "2026-01-07T06:00:00Z"}},
      {"a backup after now is kept and counts for nothing", Policy(1, 0, 0, 0),
       {"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-20T00:00:00Z"},
       "2026-01-10T00:00:00Z",
       {"2026-01-01T00:00:00Z"}},
      {"same time: the name breaks the tie", Policy(1, 0, 0, 0),
       {"2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}, "2026-01-10T00:00:00Z",
       {"2026-01-01T00:00:00Z"}},  // the second is renamed "b", which sorts newer
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(ValidateRetention(c.policy).ok()) << c.what;
    auto backups = Backups(c.backups);
    if (std::string(c.what).starts_with("same time")) backups[1].name = "b";
    auto d = ApplyRetention(backups, c.policy, At(c.now));
    EXPECT_EQ(d.delete_names, c.deleted) << c.what;
    EXPECT_EQ(d.kept.size() + d.delete_names.size(), backups.size()) << c.what;
  }
}

TEST(RetentionTest, NewestVerifiedIsAlwaysKept) {
  // Unverified backups take no part (never deleted, never counted as the newest).
  std::vector<RetainedBackup> backups = Backups({"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"});
  backups.push_back({"unverified", At("2026-01-03T00:00:00Z"), false});
  auto d = ApplyRetention(backups, Policy(1, 0, 0, 0), At("2026-01-10T00:00:00Z"));
  EXPECT_EQ(d.delete_names, std::vector<std::string>{"2026-01-01T00:00:00Z"});
  ASSERT_EQ(d.kept.size(), 1u);
  EXPECT_EQ(d.kept[0].first, "2026-01-02T00:00:00Z");
  EXPECT_EQ(d.kept[0].second, (std::vector<std::string>{"newest", "last"}));
}

TEST(RetentionTest, ReasonsAreReported) {
  auto d = ApplyRetention(Backups({"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"}),
                          Policy(1, 0, 2, 1), At("2026-01-10T00:00:00Z"));
  ASSERT_EQ(d.kept.size(), 2u);
  EXPECT_EQ(d.kept[0].second, (std::vector<std::string>{"newest", "last", "daily", "weekly"}));
  EXPECT_EQ(d.kept[1].second, (std::vector<std::string>{"daily"}));
}

TEST(RetentionTest, LimitsAreValidatedWithFieldNames) {
  const std::string prefix = "spec.backup.retention";
  EXPECT_TRUE(ValidateRetention(Policy(1, 0, 0, 0), prefix).ok());
  EXPECT_TRUE(ValidateRetention(Policy(kMaxRetentionCount, kMaxRetentionCount,
                                       kMaxRetentionCount, kMaxRetentionCount), prefix).ok());
  struct Case {
    RetentionPolicy policy;
    const char* message;
  };
  const Case cases[] = {
      {Policy(0, 0, 0, 0), "spec.backup.retention.keepLast: must be 1..1000, got 0"},
      {Policy(1001, 0, 0, 0), "spec.backup.retention.keepLast: must be 1..1000, got 1001"},
      {Policy(1, -1, 0, 0), "spec.backup.retention.hourly: must be 0..1000, got -1"},
      {Policy(1, 1001, 0, 0), "spec.backup.retention.hourly: must be 0..1000, got 1001"},
      {Policy(1, 0, 1001, 0), "spec.backup.retention.daily: must be 0..1000, got 1001"},
      {Policy(1, 0, 0, 1001), "spec.backup.retention.weekly: must be 0..1000, got 1001"},
      {Policy(0, 0, -2, 0),
       "spec.backup.retention.keepLast: must be 1..1000, got 0; "
       "spec.backup.retention.daily: must be 0..1000, got -2"},
  };
  for (const Case& c : cases) {
    Status s = ValidateRetention(c.policy, prefix);
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_EQ(s.message(), c.message);
  }
  EXPECT_TRUE(ValidateRetention(RetentionPolicy{}).ok()) << "the defaults are valid";
}

TEST(RetentionTest, AtTheLimitEveryBackupIsKept) {
  std::vector<std::string> times;
  for (int i = 0; i < kMaxRetentionCount; ++i) {
    times.push_back(FormatRfc3339(At("2026-01-01T00:00:00Z") + std::chrono::hours(i)));
  }
  auto backups = Backups(times);
  auto d = ApplyRetention(backups, Policy(kMaxRetentionCount, 0, 0, 0), At("2027-01-01T00:00:00Z"));
  EXPECT_TRUE(d.delete_names.empty());
  backups.push_back({"older", At("2025-01-01T00:00:00Z"), true});
  d = ApplyRetention(backups, Policy(kMaxRetentionCount, 0, 0, 0), At("2027-01-01T00:00:00Z"));
  EXPECT_EQ(d.delete_names, std::vector<std::string>{"older"});
}

}  // namespace
}  // namespace grid::mas::backup
