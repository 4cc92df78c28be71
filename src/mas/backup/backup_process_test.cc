// Backups of a real single-member etcd 3.4 and a real single-member gridkv into a local
// directory bucket: the record matches the member and the stored bytes, a corrupted byte is
// found, retention prunes.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "client/client.h"
#include "client/testing/etcd_process.h"
#include "common/testing/temp_dir.h"
#include "etcd/rpc.grpc.pb.h"
#include "mas/backup/catalog.h"
#include "mas/backup/job.h"
#include "mas/backup/testing/snapshot_files.h"
#include "mas/bucket/local_dir_bucket.h"

#include <grpcpp/client_context.h>

namespace grid::mas::backup {
namespace {

namespace fs = std::filesystem;
using client::testing::EtcdProcess;
using client::testing::EtcdProcessOptions;
using std::chrono::system_clock;

class BackupProcessTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    EtcdProcessOptions o;
    if (GetParam() == "gridkv") o.binary = GRID_BACKUP_TEST_GRIDKV;
    auto member = EtcdProcess::Start(o);
    ASSERT_TRUE(member.ok()) << member.status().ToString();
    member_ = std::move(member).value();
    auto c = client::Client::Connect({member_->endpoint()}, client::ClientOptions{});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
    auto b = bucket::LocalDirBucket::Open(dir_.path() + "/bucket");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    bucket_ = std::move(b).value();
    fs::create_directories(scratch());
  }

  std::string scratch() const { return dir_.path() + "/scratch"; }

  BackupJob Job(system_clock::time_point* now) {
    BackupJobOptions o;
    o.scratch_dir = scratch();
    o.now = [now] { return *now; };
    return BackupJob(bucket_.get(), o);
  }

  BackupTarget Target() const {
    return BackupTarget{"main", GetParam(), "3.4.0", {member_->client_url()}};
  }

  uint32_t HashKV(int64_t revision) {
    auto stub = etcdserverpb::Maintenance::NewStub(client_->channel());
    grpc::ClientContext ctx;
    etcdserverpb::HashKVRequest req;
    req.set_revision(revision);
    etcdserverpb::HashKVResponse resp;
    EXPECT_TRUE(stub->HashKV(&ctx, req, &resp).ok());
    return resp.hash();
  }

  grid::testing::TempDir dir_;
  std::unique_ptr<EtcdProcess> member_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<bucket::Bucket> bucket_;
};

TEST_P(BackupProcessTest, BackUpVerifyCorruptAndRetain) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(client_->Put("key" + std::to_string(i), std::string(100, 'v')).ok());
  }
  auto get = client_->Get("key0");
  ASSERT_TRUE(get.ok());
  const int64_t revision = get->header().revision();
  ASSERT_GE(revision, 51);

  system_clock::time_point now = ParseRfc3339("2026-01-02T03:04:05Z").value();
  BackupJob job = Job(&now);
  const RetentionPolicy keep2{2, 0, 0, 0};
  auto first = job.Run(Target(), keep2);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const BackupRecord& r = first->record;
  EXPECT_EQ(r.name, "main-20260102T030405Z");
  EXPECT_EQ(r.cluster, "main");
  EXPECT_EQ(r.engine, GetParam());
  EXPECT_EQ(r.created, "2026-01-02T03:04:05Z");
  EXPECT_EQ(r.revision, revision) << "no writes during the backup: the exact revision";
  EXPECT_EQ(r.endpoint, member_->client_url());
  EXPECT_EQ(r.member.size(), 16u);
  EXPECT_TRUE(r.verified);
  ASSERT_TRUE(r.hash_kv.has_value()) << first->hash_kv_error;
  EXPECT_EQ(*r.hash_kv, HashKV(revision));
  EXPECT_TRUE(first->deleted.empty());

  // The stored bytes are what the record says.
  const std::string stored = dir_.path() + "/bucket/" + SnapshotKey("main", r.name);
  auto digest = DigestFile(stored);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->size_bytes, r.size_bytes);
  EXPECT_EQ(digest->sha256, r.sha256);
  EXPECT_EQ(r.size_bytes % kSnapshotAlignBytes, 32);
  auto listed = ListBackups(bucket_.get(), "main");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0], r);
  EXPECT_TRUE(VerifyStoredBackup(bucket_.get(), r, scratch()).ok());

  // A corrupted stored byte is found, with the object, the offset and what failed.
  testing::FlipByte(stored, r.size_bytes / 2);
  Status corrupt = VerifyStoredBackup(bucket_.get(), r, scratch());
  EXPECT_EQ(corrupt.code(), Code::kCorruption);
  EXPECT_NE(corrupt.message().find(SnapshotKey("main", r.name)), std::string::npos)
      << corrupt.message();
  EXPECT_NE(corrupt.message().find("offset " + std::to_string(r.size_bytes - 32) +
                                   ": trailing sha256"),
            std::string::npos)
      << corrupt.message();
  testing::FlipByte(stored, r.size_bytes / 2);  // repaired

  // Three more backups an hour apart, with writes between: keepLast 2 prunes the oldest.
  std::vector<std::string> names = {r.name};
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(client_->Put("more" + std::to_string(i), "x").ok());
    now += std::chrono::hours(1);
    auto next = job.Run(Target(), keep2);
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_EQ(next->record.revision, revision + i);
    EXPECT_TRUE(next->delete_errors.empty());
    names.push_back(next->record.name);
    if (i >= 2) {
      EXPECT_EQ(next->deleted, std::vector<std::string>{names[i - 2]});
    }
  }
  listed = ListBackups(bucket_.get(), "main");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, names[3]);
  EXPECT_EQ((*listed)[1].name, names[2]);
  auto objects = bucket_->List("main/");
  ASSERT_TRUE(objects.ok());
  EXPECT_EQ(objects->size(), 4u) << "deleted backups leave no objects";
  EXPECT_TRUE(fs::is_empty(scratch()));

  // The same second again: refused, nothing changes.
  auto again = job.Run(Target(), keep2);
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists) << again.status().ToString();
  EXPECT_EQ(ListBackups(bucket_.get(), "main")->size(), 2u);
}

// The snapshot stream limit stops a stream that grows past it and leaves no file.
TEST_P(BackupProcessTest, SnapshotSizeLimit) {
  ASSERT_TRUE(client_->Put("k", std::string(1000, 'v')).ok());
  const std::string path = scratch() + "/s.db";
  auto full = TakeSnapshot({member_->endpoint()}, path);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  const int64_t size = full->file.size_bytes;
  ASSERT_TRUE(fs::remove(path));
  TakeSnapshotOptions at_limit;
  at_limit.max_snapshot_bytes = size;
  at_limit.hash_kv = false;
  auto exact = TakeSnapshot({member_->endpoint()}, path, at_limit);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_FALSE(exact->hash_kv.has_value());
  ASSERT_TRUE(fs::remove(path));
  TakeSnapshotOptions over = at_limit;
  over.max_snapshot_bytes = size - 1;
  auto refused = TakeSnapshot({member_->endpoint()}, path, over);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status().ToString();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".part"));
  EXPECT_FALSE(full->server_version.empty());
  // A dead first endpoint is skipped.
  TakeSnapshotOptions quick;
  quick.dial_timeout = std::chrono::milliseconds(300);
  auto second = TakeSnapshot({"127.0.0.1:1", member_->endpoint()}, path, quick);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->endpoint, member_->endpoint());
}

INSTANTIATE_TEST_SUITE_P(Engines, BackupProcessTest, ::testing::Values("etcd", "gridkv"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace grid::mas::backup
