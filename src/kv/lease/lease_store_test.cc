// Lease apply and recovery against the real multi-version store.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "common/testing/temp_dir.h"
#include "kv/lease/lease_apply.h"
#include "storage/mvcc/store.h"

namespace grid::kv::lease {
namespace {

class TempDir : public ::grid::testing::TempDir {
 public:
  TempDir() : ::grid::testing::TempDir("lease_store_test") {}
};

std::unique_ptr<mvcc::Store> Open(const std::string& dir) {
  mvcc::Options options;
  options.dir = dir;
  auto store = mvcc::Store::Open(options);
  GRID_CHECK(store.ok()) << store.status().ToString();
  return std::move(store).value();
}

class LeaseStoreTest : public ::testing::Test {
 protected:
  void Grant(int64_t id, int64_t ttl_seconds) {
    auto batch = store_->BeginBatch();
    etcdserverpb::LeaseGrantRequest request;
    request.set_id(id);
    request.set_ttl(ttl_seconds);
    ASSERT_TRUE(ApplyLeaseGrant(lessor_, *batch, request).ok());
    ASSERT_TRUE(batch->Commit().ok());
  }
  // A Put with a lease, as the KV applier does it.
  void Put(const std::string& key, int64_t lease) {
    auto batch = store_->BeginBatch();
    batch->BeginTxn().Put(key, "v", lease);
    batch->EndTxn();
    if (lease != 0) lessor_.Attach(lease, key);
    ASSERT_TRUE(batch->Commit().ok());
  }

  TempDir dir_;
  std::unique_ptr<mvcc::Store> store_ = Open(dir_.path() + "/db");
  ManualClock clock_;
  Lessor lessor_{clock_, LessorOptions{}};
};

TEST_F(LeaseStoreTest, RevokeDeletesKeysInOneRevision) {
  Grant(1, 100);
  Put("a", 1);
  Put("b", 1);
  Put("c", 0);
  const int64_t before = store_->CurrentRevision();

  auto batch = store_->BeginBatch();
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(1);
  auto response = ApplyLeaseRevoke(lessor_, *batch, request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  auto events = batch->Commit();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  for (const auto& event : *events) {
    EXPECT_EQ(event.type(), mvccpb::Event::DELETE);
    EXPECT_EQ(event.kv().mod_revision(), before + 1);
  }
  EXPECT_EQ(store_->CurrentRevision(), before + 1);
  EXPECT_EQ(response->header().revision(), before + 1);
  EXPECT_TRUE(store_->ReadMeta(kLeaseTable)->empty());
  auto left = store_->Range("a", std::string(1, '\0'), mvcc::RangeOptions{});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->kvs.size(), 1u);
  EXPECT_EQ(left->kvs[0].key(), "c");
}

TEST_F(LeaseStoreTest, RestartRecoversRemainingTtlAndKeys) {
  Grant(1, 100);
  Grant(2, 50);
  Put("k1", 1);
  Put("k2", 2);
  Put("k3", 2);
  clock_.AdvanceMs(40'000);
  {
    auto batch = store_->BeginBatch();
    kvpb::LeaseCheckpointRequest request;
    for (const auto& c : lessor_.CollectCheckpoints()) *request.add_checkpoints() = c;
    ApplyLeaseCheckpoint(lessor_, *batch, request);
    ASSERT_TRUE(batch->Commit().ok());
  }
  store_.reset();
  store_ = Open(dir_.path() + "/db");

  Lessor restarted(clock_, LessorOptions{});
  auto orphans = RecoverLessor(restarted, *store_);
  ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
  EXPECT_EQ(*orphans, 0u);
  auto one = restarted.TimeToLive(1, true);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->granted_ttl_seconds, 100);
  EXPECT_EQ(one->remaining_ttl_seconds, 60);
  EXPECT_EQ(one->keys, std::vector<std::string>{"k1"});
  auto two = restarted.TimeToLive(2, true);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->remaining_ttl_seconds, 10);
  EXPECT_EQ(two->keys, (std::vector<std::string>{"k2", "k3"}));
}

}  // namespace
}  // namespace grid::kv::lease
