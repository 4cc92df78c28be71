#include "mas/backup/catalog.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "mas/backup/snapshot.h"
#include "mas/backup/testing/fake_bucket.h"
#include "mas/backup/testing/snapshot_files.h"

namespace grid::mas::backup {
namespace {

namespace fs = std::filesystem;
using testing::FakeDirBucket;
using testing::FlipByte;
using testing::WriteFakeSnapshot;

class CatalogTest : public ::testing::Test {
 protected:
  CatalogTest() : bucket_(dir_.path() + "/bucket") { fs::create_directories(scratch()); }

  std::string scratch() const { return dir_.path() + "/scratch"; }

  // A snapshot file and the record describing it, created at `created`.
  BackupRecord Prepare(const std::string& created, char seed = 1, std::string cluster = "main") {
    const std::string path = dir_.path() + "/" + created + ".db";
    WriteFakeSnapshot(path, 4096, seed);
    auto info = VerifySnapshotFile(path);
    EXPECT_TRUE(info.ok());
    BackupRecord r;
    r.cluster = cluster;
    r.created = created;
    r.name = BackupName(cluster, ParseRfc3339(created).value());
    r.engine = "etcd";
    r.version = "3.4.0";
    r.revision = 7;
    r.size_bytes = info->size_bytes;
    r.sha256 = info->sha256;
    r.member = "0000000000000001";
    r.endpoint = "http://127.0.0.1:1";
    snapshot_path_ = path;
    return r;
  }

  Result<BackupRecord> Upload(const BackupRecord& r) {
    return UploadBackup(&bucket_, r, snapshot_path_, scratch());
  }

  std::vector<std::string> Names(const std::string& cluster = "main",
                                 std::vector<std::string>* skipped = nullptr) {
    auto list = ListBackups(&bucket_, cluster, skipped);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::string> out;
    if (list.ok()) {
      for (const auto& r : *list) out.push_back(r.name);
    }
    return out;
  }

  grid::testing::TempDir dir_;
  FakeDirBucket bucket_;
  std::string snapshot_path_;
};

TEST_F(CatalogTest, UploadVerifiesByDownloadAndListsNewestFirst) {
  auto a = Upload(Prepare("2026-01-01T00:00:00Z", 1));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->verified);
  EXPECT_EQ(bucket_.get_file_calls, 1) << "no digest etag: read back by downloading";
  auto b = Upload(Prepare("2026-01-02T00:00:00Z", 2));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(Names(), (std::vector<std::string>{"main-20260102T000000Z", "main-20260101T000000Z"}));
  auto list = ListBackups(&bucket_, "main");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0], *b);
  EXPECT_TRUE(fs::is_empty(scratch())) << "scratch files are removed";
  // Another cluster's backups are apart.
  EXPECT_TRUE(Names("other").empty());
  auto dup = Upload(Prepare("2026-01-02T00:00:00Z", 2));
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
}

TEST_F(CatalogTest, UploadVerifiesByDigestEtag) {
  bucket_.etag_is_sha256 = true;
  ASSERT_TRUE(Upload(Prepare("2026-01-01T00:00:00Z")).ok());
  EXPECT_EQ(bucket_.get_file_calls, 0);
}

TEST_F(CatalogTest, CorruptUploadLeavesNothing) {
  for (bool etag : {false, true}) {
    bucket_.etag_is_sha256 = etag;
    bucket_.corrupt_next_put_file = true;
    auto r = Upload(Prepare("2026-01-01T00:00:00Z"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().message().find("main/main-20260101T000000Z/snapshot.db"),
              std::string::npos) << r.status().message();
    auto objects = bucket_.List("");
    ASSERT_TRUE(objects.ok());
    EXPECT_TRUE(objects->empty()) << "the uploaded snapshot is deleted";
  }
}

TEST_F(CatalogTest, FailedRecordWriteLeavesNothingThatCounts) {
  BackupRecord r = Prepare("2026-01-01T00:00:00Z");
  bucket_.fail_puts_of.insert(RecordKey("main", r.name));
  auto up = Upload(r);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().code(), Code::kIOError);
  EXPECT_TRUE(Names().empty());
  EXPECT_TRUE(bucket_.List("")->empty());
}

TEST_F(CatalogTest, ListSkipsWhatDoesNotCount) {
  ASSERT_TRUE(Upload(Prepare("2026-01-01T00:00:00Z")).ok());
  // A snapshot without its record (an interrupted upload): not listed, not reported.
  ASSERT_TRUE(bucket_.PutFile("main/main-20260105T000000Z/snapshot.db", snapshot_path_).ok());
  // A record without its snapshot.
  BackupRecord lost = Prepare("2026-01-02T00:00:00Z");
  lost.verified = true;
  ASSERT_TRUE(bucket_.PutBytes(RecordKey("main", lost.name), ToJson(lost).dump()).ok());
  // An unverified record.
  BackupRecord unverified = Prepare("2026-01-03T00:00:00Z");
  ASSERT_TRUE(bucket_.PutFile(SnapshotKey("main", unverified.name), snapshot_path_).ok());
  ASSERT_TRUE(bucket_.PutBytes(RecordKey("main", unverified.name), ToJson(unverified).dump()).ok());
  // Not JSON; and a record under another backup's name.
  ASSERT_TRUE(bucket_.PutFile("main/main-20260104T000000Z/snapshot.db", snapshot_path_).ok());
  ASSERT_TRUE(bucket_.PutBytes("main/main-20260104T000000Z/backup.json", "{").ok());
  ASSERT_TRUE(bucket_.PutFile("main/copy/snapshot.db", snapshot_path_).ok());
  ASSERT_TRUE(bucket_.PutBytes("main/copy/backup.json", ToJson(unverified).dump()).ok());
  // A snapshot whose size differs from its record.
  BackupRecord resized = Prepare("2026-01-06T00:00:00Z");
  resized.verified = true;
  resized.size_bytes += 1;
  ASSERT_TRUE(bucket_.PutFile(SnapshotKey("main", resized.name), snapshot_path_).ok());
  ASSERT_TRUE(bucket_.PutBytes(RecordKey("main", resized.name), ToJson(resized).dump()).ok());

  std::vector<std::string> skipped;
  EXPECT_EQ(Names("main", &skipped), std::vector<std::string>{"main-20260101T000000Z"});
  ASSERT_EQ(skipped.size(), 5u);
  const std::string all = ::testing::PrintToString(skipped);
  for (const char* why : {"snapshot missing", "not verified", "not valid JSON",
                          "record of main/main-20260103T000000Z", "snapshot size differs"}) {
    EXPECT_NE(all.find(why), std::string::npos) << why << " in " << all;
  }
}

TEST_F(CatalogTest, VerifyStoredBackupFindsACorruptByteWithItsOffset) {
  auto r = Upload(Prepare("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(VerifyStoredBackup(&bucket_, *r, scratch()).ok());
  FlipByte(bucket_.PathOf(SnapshotKey("main", r->name)), 1000);
  Status s = VerifyStoredBackup(&bucket_, *r, scratch());
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("main/main-20260101T000000Z/snapshot.db"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("offset 4096: trailing sha256"), std::string::npos) << s.message();
  EXPECT_TRUE(fs::is_empty(scratch()));

  // A valid snapshot that is not the recorded one: caught by the record's sha256.
  r = Upload(Prepare("2026-01-02T00:00:00Z", 1));
  ASSERT_TRUE(r.ok());
  WriteFakeSnapshot(bucket_.PathOf(SnapshotKey("main", r->name)), 4096, 9);
  s = VerifyStoredBackup(&bucket_, *r, scratch());
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("the record says"), std::string::npos) << s.message();
}

TEST_F(CatalogTest, DeleteRemovesTheRecordFirst) {
  auto r = Upload(Prepare("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(r.ok());
  bucket_.fail_deletes_of.insert(SnapshotKey("main", r->name));
  EXPECT_EQ(DeleteBackup(&bucket_, "main", r->name).code(), Code::kIOError);
  EXPECT_TRUE(Names().empty()) << "without its record the backup no longer counts";
  bucket_.fail_deletes_of.clear();
  EXPECT_TRUE(DeleteBackup(&bucket_, "main", r->name).ok()) << "a retried delete finishes";
  EXPECT_TRUE(bucket_.List("")->empty());
  EXPECT_TRUE(DeleteBackup(&bucket_, "main", r->name).ok()) << "deleting nothing is fine";
}

TEST_F(CatalogTest, OrphanedSnapshotsOlderThanTheGraceAreDeleted) {
  using std::chrono::seconds;
  const auto now = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  constexpr int64_t kGrace = 3600;
  auto age = [&](const std::string& key, int64_t seconds_ago) {
    fs::last_write_time(bucket_.PathOf(key),
                        std::chrono::file_clock::from_sys(now - seconds(seconds_ago)));
  };
  // A verified backup, old: kept.
  auto kept = Upload(Prepare("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(kept.ok());
  age(SnapshotKey("main", kept->name), 10 * kGrace);
  age(RecordKey("main", kept->name), 10 * kGrace);
  // A record that does not parse, old: never touched (it is not an orphan).
  ASSERT_TRUE(bucket_.PutBytes("main/bad/snapshot.db", "x").ok());
  ASSERT_TRUE(bucket_.PutBytes("main/bad/backup.json", "x").ok());
  age("main/bad/snapshot.db", 10 * kGrace);
  // Orphans: exactly the grace old (deleted), one second younger (kept), old (deleted), and
  // one whose delete fails (reported).
  for (const char* name : {"at-grace", "young", "old", "stuck"}) {
    ASSERT_TRUE(bucket_.PutBytes(std::string("main/") + name + "/snapshot.db", "x").ok());
  }
  age("main/at-grace/snapshot.db", kGrace);
  age("main/young/snapshot.db", kGrace - 1);
  age("main/old/snapshot.db", 10 * kGrace);
  age("main/stuck/snapshot.db", 10 * kGrace);
  bucket_.fail_deletes_of.insert("main/stuck/snapshot.db");
  // Another cluster's orphan is not this cluster's.
  ASSERT_TRUE(bucket_.PutBytes("other/x/snapshot.db", "x").ok());
  age("other/x/snapshot.db", 10 * kGrace);

  auto sweep = DeleteOrphanSnapshots(&bucket_, "main", now, kGrace);
  ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
  EXPECT_EQ(sweep->deleted,
            (std::vector<std::string>{"main/at-grace/snapshot.db", "main/old/snapshot.db"}));
  EXPECT_EQ(sweep->young, 1);
  ASSERT_EQ(sweep->errors.size(), 1u);
  EXPECT_NE(sweep->errors[0].find("main/stuck/snapshot.db"), std::string::npos)
      << sweep->errors[0];
  EXPECT_TRUE(fs::exists(bucket_.PathOf("main/young/snapshot.db")));
  EXPECT_TRUE(fs::exists(bucket_.PathOf("main/bad/snapshot.db")));
  EXPECT_TRUE(fs::exists(bucket_.PathOf("other/x/snapshot.db")));
  EXPECT_EQ(Names(), std::vector<std::string>{kept->name});
  EXPECT_TRUE(VerifyStoredBackup(&bucket_, *kept, scratch()).ok());

  // The next pass finishes what failed; the default grace is an hour.
  bucket_.fail_deletes_of.clear();
  sweep = DeleteOrphanSnapshots(&bucket_, "main", now);
  ASSERT_TRUE(sweep.ok());
  EXPECT_EQ(sweep->deleted, std::vector<std::string>{"main/stuck/snapshot.db"});
  EXPECT_EQ(sweep->young, 1);
  static_assert(kOrphanGraceSeconds == 3600);
}

TEST_F(CatalogTest, RecordsPerClusterLimit) {
  // The limit is a parameter (default kMaxBackupsPerCluster); tested at a small value. Records
  // that do not parse still count (they are counted before any is read).
  constexpr size_t kLimit = 50;
  for (size_t i = 0; i < kLimit; ++i) {
    ASSERT_TRUE(bucket_.PutBytes("main/b" + std::to_string(i) + "/backup.json", "x").ok());
  }
  std::vector<std::string> skipped;
  auto at_limit = ListBackups(&bucket_, "main", &skipped, kLimit);
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_TRUE(at_limit->empty());
  EXPECT_EQ(skipped.size(), kLimit);
  ASSERT_TRUE(bucket_.PutBytes("main/over/backup.json", "x").ok());
  auto over = ListBackups(&bucket_, "main", nullptr, kLimit);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), Code::kResourceExhausted);
  EXPECT_NE(over.status().message().find("51 backup records, at most 50"), std::string::npos)
      << over.status().message();
  EXPECT_TRUE(ListBackups(&bucket_, "main").ok()) << "the default limit is far higher";
  static_assert(kMaxBackupsPerCluster == 10000);
}

}  // namespace
}  // namespace grid::mas::backup
