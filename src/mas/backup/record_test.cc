#include "mas/backup/record.h"

#include <functional>

#include <gtest/gtest.h>

namespace grid::mas::backup {
namespace {

BackupRecord Sample() {
  BackupRecord r;
  r.cluster = "main";
  r.created = "2026-01-02T03:04:05Z";
  r.name = "main-20260102T030405Z";
  r.engine = "gridkv";
  r.version = "0.1.0";
  r.revision = 42;
  r.size_bytes = 8224;
  r.sha256 = std::string(64, 'a');
  r.member = "8e9e05c52164694d";
  r.endpoint = "http://127.0.0.1:2379";
  r.hash_kv = 4294967295u;
  r.verified = true;
  return r;
}

TEST(RecordTest, JsonRoundTrip) {
  const BackupRecord r = Sample();
  auto back = ParseRecord(ToJson(r).dump());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  BackupRecord no_hash = r;
  no_hash.hash_kv.reset();
  EXPECT_TRUE(ToJson(no_hash)["hashKv"].is_null());
  back = ParseRecord(ToJson(no_hash).dump());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, no_hash);
}

TEST(RecordTest, StrictDecoding) {
  struct Case {
    std::function<void(nlohmann::json*)> edit;
    const char* message;
  };
  const Case cases[] = {
      {[](auto* j) { j->erase("revision"); }, "revision: missing"},
      {[](auto* j) { (*j)["extra"] = 1; }, "unknown field \"extra\""},
      {[](auto* j) { (*j)["revision"] = "42"; }, "revision: must be a non-negative integer"},
      {[](auto* j) { (*j)["sizeBytes"] = -1; }, "sizeBytes: must be a non-negative integer"},
      {[](auto* j) { (*j)["verified"] = 1; }, "verified: must be a boolean"},
      {[](auto* j) { (*j)["hashKv"] = -1; }, "hashKv: must be null or an unsigned 32-bit"},
      {[](auto* j) { (*j)["hashKv"] = 4294967296; }, "hashKv: must be null or an unsigned 32-bit"},
      {[](auto* j) { (*j)["sha256"] = std::string(63, 'a'); }, "sha256: must be 64 lowercase hex"},
      {[](auto* j) { (*j)["sha256"] = std::string(64, 'A'); }, "sha256: must be 64 lowercase hex"},
      {[](auto* j) { (*j)["created"] = "2026-01-02 03:04:05"; }, "created: \"2026-01-02 03:04:05\" is not an RFC 3339"},
      {[](auto* j) { (*j)["created"] = "2026-02-30T03:04:05Z"; }, "is not a valid date"},
      {[](auto* j) { (*j)["name"] = "other-20260102T030405Z"; }, "name: must be \"main-20260102T030405Z\""},
      {[](auto* j) { (*j)["cluster"] = "Main"; }, "cluster: cluster name \"Main\" may hold only"},
      {[](auto* j) { (*j)["engine"] = 1; }, "engine: must be a string"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = ToJson(Sample());
    c.edit(&j);
    auto r = RecordFromJson(j);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(ParseRecord("{").ok());
  EXPECT_FALSE(ParseRecord("[]").ok());
}

TEST(RecordTest, RecordSizeLimit) {
  std::string text = ToJson(Sample()).dump();
  text.append(kMaxRecordBytes - text.size(), ' ');
  EXPECT_TRUE(ParseRecord(text).ok());
  auto over = ParseRecord(text + " ");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("at most 65536 bytes, got 65537"), std::string::npos);
}

TEST(RecordTest, NamesTimesAndKeys) {
  auto t = ParseRfc3339("2026-01-02T03:04:05Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2026-01-02T03:04:05Z");
  EXPECT_EQ(FormatRfc3339(*t + std::chrono::milliseconds(999)), "2026-01-02T03:04:05Z");
  EXPECT_EQ(BackupName("main", *t), "main-20260102T030405Z");
  EXPECT_EQ(SnapshotKey("main", "main-20260102T030405Z"), "main/main-20260102T030405Z/snapshot.db");
  EXPECT_EQ(RecordKey("main", "main-20260102T030405Z"), "main/main-20260102T030405Z/backup.json");
  for (const char* bad : {"", "2026-01-02T03:04:05", "2026-01-02T24:00:00Z", "2026-13-01T00:00:00Z",
                          "2026-01-02T03:04:05+00:00", "x026-01-02T03:04:05Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(RecordTest, ClusterNameLimit) {
  EXPECT_TRUE(ValidateClusterName(std::string(kMaxClusterNameBytes, 'a')).ok());
  auto over = ValidateClusterName(std::string(kMaxClusterNameBytes + 1, 'a'));
  EXPECT_NE(over.message().find("must be 1..63 bytes, got 64"), std::string::npos);
  EXPECT_FALSE(ValidateClusterName("").ok());
  EXPECT_FALSE(ValidateClusterName("-a").ok());
  EXPECT_FALSE(ValidateClusterName("a/b").ok());
  EXPECT_TRUE(ValidateClusterName("main-2").ok());
}

}  // namespace
}  // namespace grid::mas::backup
