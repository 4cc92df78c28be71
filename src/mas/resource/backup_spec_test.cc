// KVCluster spec.backup: strict decoding, defaults, validation at every limit (schedule,
// bucket URL, retention counts), JSON round trip, and a spec without it unchanged.
#include <string>

#include <gtest/gtest.h>

#include "common/check.h"
#include "mas/backup/retention.h"
#include "mas/backup/schedule.h"
#include "mas/resource/resource.h"

namespace grid::mas {
namespace {

std::string Cluster(const std::string& backup) {
  return "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: c}\n"
         "spec:\n  version: v1\n  members: 1\n  backup: " +
         backup + "\n";
}

// The parse or validation message of `yaml` after Defaults; "" when valid.
std::string Problems(const std::string& yaml) {
  auto r = ParseResource(yaml);
  if (!r.ok()) return r.status().message();
  Defaults(&r.value());
  return Validate(*r).message();
}

KVClusterSpec MustParseSpec(const std::string& yaml) {
  auto r = ParseResource(yaml);
  GRID_CHECK(r.ok()) << r.status().ToString();
  return std::get<KVClusterSpec>(r->spec);
}

TEST(BackupSpec, DecodesEveryField) {
  const KVClusterSpec spec = MustParseSpec(Cluster(
      "{schedule: '0 */6 * * *', bucket: 's3://b/p', "
      "retention: {keepLast: 2, hourly: 3, daily: 4, weekly: 5}}"));
  ASSERT_TRUE(spec.backup);
  EXPECT_EQ(spec.backup->schedule, "0 */6 * * *");
  EXPECT_EQ(spec.backup->bucket, "s3://b/p");
  ASSERT_TRUE(spec.backup->retention);
  EXPECT_EQ(spec.backup->retention->keep_last, 2);
  EXPECT_EQ(spec.backup->retention->hourly, 3);
  EXPECT_EQ(spec.backup->retention->daily, 4);
  EXPECT_EQ(spec.backup->retention->weekly, 5);
}

TEST(BackupSpec, StrictDecoding) {
  EXPECT_EQ(Problems(Cluster("{bucket: /b, every: 3}")), "spec.backup.every: unknown field");
  EXPECT_EQ(Problems(Cluster("{schedule: '* * * * *'}")), "spec.backup.bucket: required");
  EXPECT_EQ(Problems(Cluster("{bucket: /b, retention: {keepLast: '2', monthly: 1}}")),
            "spec.backup.retention.keepLast: must be an integer, got string; "
            "spec.backup.retention.monthly: unknown field");
  EXPECT_EQ(Problems(Cluster("{bucket: 7}")), "spec.backup.bucket: must be a string, got number");
  EXPECT_EQ(Problems(Cluster("true")), "spec.backup: must be an object, got boolean");
}

TEST(BackupSpec, ScheduleIsParsedAndNamed) {
  EXPECT_EQ(Problems(Cluster("{schedule: '* * * * *', bucket: /b}")), "");
  EXPECT_EQ(Problems(Cluster("{schedule: '@daily', bucket: /b}")), "");
  EXPECT_EQ(Problems(Cluster("{schedule: '0 24 * * *', bucket: /b}")),
            "spec.backup.schedule: schedule \"0 24 * * *\": hour at position 3: 24 is out of "
            "range 0..23");
  // Never fires.
  EXPECT_NE(Problems(Cluster("{schedule: '0 0 30 2 *', bucket: /b}"))
                .find("spec.backup.schedule: "),
            std::string::npos);
  // At the length limit the parser decides on the text; one byte over is refused by length.
  const std::string at_limit = "* * * * *" + std::string(backup::kMaxCronSpecBytes - 9, ' ');
  EXPECT_EQ(Problems(Cluster("{schedule: '" + at_limit + "', bucket: /b}")).find("long"),
            std::string::npos);
  EXPECT_NE(Problems(Cluster("{schedule: '" + at_limit + " ', bucket: /b}"))
                .find("spec.backup.schedule: "),
            std::string::npos);
  // "" (absent) = on-demand backups only.
  EXPECT_EQ(Problems(Cluster("{bucket: /b}")), "");
}

TEST(BackupSpec, BucketUrls) {
  EXPECT_EQ(Problems(Cluster("{bucket: /var/backups}")), "");
  EXPECT_EQ(Problems(Cluster("{bucket: 'dir:///var/backups'}")), "");
  EXPECT_EQ(Problems(Cluster("{bucket: 's3://b'}")), "");
  EXPECT_EQ(Problems(Cluster("{bucket: 's3://b/some/prefix'}")), "");
  EXPECT_EQ(Problems(Cluster("{bucket: relative/dir}")),
            "spec.backup.bucket: must be an absolute directory path, dir:///path or "
            "s3://bucket[/prefix], got \"relative/dir\"");
  EXPECT_EQ(Problems(Cluster("{bucket: 'dir://rel'}")),
            "spec.backup.bucket: dir:// needs an absolute path (dir:///path), got \"dir://rel\"");
  EXPECT_EQ(Problems(Cluster("{bucket: 's3://'}")),
            "spec.backup.bucket: s3:// needs a bucket name (s3://bucket[/prefix]), got \"s3://\"");
  EXPECT_EQ(Problems(Cluster("{bucket: ''}")), "spec.backup.bucket: required");
  const std::string at_limit = "/" + std::string(kMaxBackupBucketBytes - 1, 'a');
  EXPECT_EQ(Problems(Cluster("{bucket: '" + at_limit + "'}")), "");
  EXPECT_EQ(Problems(Cluster("{bucket: '" + at_limit + "a'}")),
            "spec.backup.bucket: must be at most 1024 bytes, got 1025");
}

TEST(BackupSpec, RetentionLimits) {
  const int max = backup::kMaxRetentionCount;
  auto with = [](const std::string& retention) {
    return Problems(Cluster("{bucket: /b, retention: " + retention + "}"));
  };
  EXPECT_EQ(with("{keepLast: 1, hourly: 0, daily: 0, weekly: 0}"), "");
  const std::string m = std::to_string(max);
  EXPECT_EQ(with("{keepLast: " + m + ", hourly: " + m + ", daily: " + m + ", weekly: " + m + "}"),
            "");
  EXPECT_EQ(with("{keepLast: 0}"), "spec.backup.retention.keepLast: must be 1..1000, got 0");
  const std::string over = std::to_string(max + 1);
  EXPECT_EQ(with("{keepLast: 2, hourly: " + over + ", daily: -1, weekly: " + over + "}"),
            "spec.backup.retention.hourly: must be 0..1000, got 1001; "
            "spec.backup.retention.daily: must be 0..1000, got -1; "
            "spec.backup.retention.weekly: must be 0..1000, got 1001");
  // Beyond int: still a range error, not a wrap-around.
  EXPECT_EQ(with("{keepLast: 4294967297}"),
            "spec.backup.retention.keepLast: must be 1..1000, got 4294967297");
}

TEST(BackupSpec, DefaultsFillRetention) {
  auto r = ParseResource(Cluster("{bucket: /b, retention: {keepLast: 2}}"));
  ASSERT_TRUE(r.ok());
  Defaults(&r.value());
  const KVClusterSpec& spec = std::get<KVClusterSpec>(r->spec);
  const backup::RetentionPolicy defaults;
  ASSERT_TRUE(spec.backup && spec.backup->retention);
  // A given section keeps what it says: unset tiers are 0.
  EXPECT_EQ(*spec.backup->retention, (BackupRetention{2, 0, 0, 0}));

  auto unset_last = ParseResource(Cluster("{bucket: /b, retention: {daily: 3}}"));
  ASSERT_TRUE(unset_last.ok());
  Defaults(&unset_last.value());
  EXPECT_EQ(*std::get<KVClusterSpec>(unset_last->spec).backup->retention,
            (BackupRetention{defaults.keep_last, 0, 3, 0}));

  // No section: RetentionPolicy's defaults.
  auto none = ParseResource(Cluster("{bucket: /b}"));
  ASSERT_TRUE(none.ok());
  Defaults(&none.value());
  EXPECT_EQ(*std::get<KVClusterSpec>(none->spec).backup->retention,
            (BackupRetention{defaults.keep_last, defaults.hourly, defaults.daily,
                             defaults.weekly}));
}

TEST(BackupSpec, JsonRoundTrip) {
  KVClusterSpec spec = MustParseSpec(Cluster(
      "{schedule: '@hourly', bucket: 'dir:///b', retention: {keepLast: 2, weekly: 1}}"));
  FieldErrors errors;
  EXPECT_EQ(DecodeKVClusterSpec(ToJson(spec), "spec", &errors), spec);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(ToJson(spec)["backup"],
            nlohmann::json::parse(
                R"({"schedule":"@hourly","bucket":"dir:///b","retention":{"keepLast":2,"weekly":1}})"));
  Defaults(&spec);
  EXPECT_EQ(DecodeKVClusterSpec(ToJson(spec), "spec", &errors), spec);
  EXPECT_TRUE(errors.empty());
}

TEST(BackupSpec, AbsentChangesNothing) {
  auto r = ParseResource(
      "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: c}\nspec: {version: v1}\n");
  ASSERT_TRUE(r.ok());
  Defaults(&r.value());
  const KVClusterSpec& spec = std::get<KVClusterSpec>(r->spec);
  EXPECT_FALSE(spec.backup);
  EXPECT_FALSE(ToJson(spec).contains("backup"));
  EXPECT_TRUE(Validate(*r).ok());
}

}  // namespace
}  // namespace grid::mas
