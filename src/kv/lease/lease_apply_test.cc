#include "kv/lease/lease_apply.h"

#include <gtest/gtest.h>

#include "kv/lease/fake_batch_for_test.h"

namespace grid::kv::lease {
namespace {

using testing::FakeBatch;

class LeaseApplyTest : public ::testing::Test {
 protected:
  etcdserverpb::LeaseGrantResponse Grant(int64_t id, int64_t ttl_seconds) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_id(id);
    request.set_ttl(ttl_seconds);
    auto response = ApplyLeaseGrant(lessor_, batch_, request);
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    return response.ok() ? *response : etcdserverpb::LeaseGrantResponse();
  }
  kvpb::LeaseRecord StoredRecord(int64_t id) {
    kvpb::LeaseRecord record;
    auto& table = batch_.meta[kLeaseTable];
    auto it = table.find(LeaseTableKey(id));
    EXPECT_NE(it, table.end());
    if (it != table.end()) {
      EXPECT_TRUE(record.ParseFromString(it->second));
    }
    return record;
  }
  // A Put with a lease, as the KV applier does it.
  void PutWithLease(const std::string& key, int64_t lease) {
    batch_.PutKey(key, lease);
    lessor_.Attach(lease, key);
  }

  ManualClock clock_;
  Lessor lessor_{clock_, LessorOptions{}};
  FakeBatch batch_;
};

TEST(LeaseTableKeyTest, BigEndianEightBytes) {
  EXPECT_EQ(LeaseTableKey(0x0102030405060708), std::string("\x01\x02\x03\x04\x05\x06\x07\x08"));
  EXPECT_EQ(LeaseTableKey(1), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(LeaseTableKey(-1), std::string(8, '\xff'));
}

TEST_F(LeaseApplyTest, GrantPersistsRecord) {
  auto response = Grant(0x1234, 1);
  EXPECT_EQ(response.id(), 0x1234);
  EXPECT_EQ(response.ttl(), 2);  // raised to the minimum
  kvpb::LeaseRecord record = StoredRecord(0x1234);
  EXPECT_EQ(record.id(), 0x1234);
  EXPECT_EQ(record.ttl_seconds(), 2);
  EXPECT_EQ(record.remaining_ttl_seconds(), 0);
  EXPECT_EQ(batch_.revision(), 0);  // a grant does not change the key space
}

TEST_F(LeaseApplyTest, GrantErrorWritesNothing) {
  Grant(5, 10);
  etcdserverpb::LeaseGrantRequest request;
  request.set_id(5);
  request.set_ttl(10);
  batch_.meta.clear();
  auto response = ApplyLeaseGrant(lessor_, batch_, request);
  EXPECT_EQ(response.status().message(), "etcdserver: lease already exists");
  EXPECT_TRUE(batch_.meta.empty());
}

TEST_F(LeaseApplyTest, RevokeDeletesAllKeysInOneRevision) {
  Grant(1, 10);
  Grant(2, 10);
  PutWithLease("b", 1);
  PutWithLease("a", 1);
  PutWithLease("c", 1);
  PutWithLease("other", 2);
  batch_.PutKey("plain", 0);
  const int64_t before = batch_.revision();

  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(1);
  auto response = ApplyLeaseRevoke(lessor_, batch_, request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(batch_.revision(), before + 1);
  EXPECT_EQ(response->header().revision(), before + 1);
  EXPECT_EQ(batch_.txns_begun(), 1);
  EXPECT_FALSE(batch_.txn_open());
  EXPECT_EQ(batch_.kvs().size(), 2u);
  EXPECT_EQ(batch_.kvs().count("other"), 1u);
  EXPECT_EQ(batch_.kvs().count("plain"), 1u);
  EXPECT_EQ(batch_.meta[kLeaseTable].count(LeaseTableKey(1)), 0u);
  EXPECT_EQ(batch_.meta[kLeaseTable].count(LeaseTableKey(2)), 1u);
  EXPECT_FALSE(lessor_.LeaseExists(1));
}

TEST_F(LeaseApplyTest, RevokeWithoutKeysKeepsRevision) {
  Grant(1, 10);
  batch_.PutKey("plain", 0);
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(1);
  auto response = ApplyLeaseRevoke(lessor_, batch_, request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(batch_.revision(), 1);
  EXPECT_EQ(response->header().revision(), 1);
  EXPECT_FALSE(batch_.txn_open());
}

TEST_F(LeaseApplyTest, RevokeUnknownLease) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(9);
  auto response = ApplyLeaseRevoke(lessor_, batch_, request);
  EXPECT_EQ(response.status().code(), Code::kNotFound);
  EXPECT_EQ(response.status().message(), "etcdserver: requested lease not found");
  EXPECT_EQ(batch_.txns_begun(), 0);
}

TEST_F(LeaseApplyTest, CheckpointPersistsKnownLeasesOnly) {
  Grant(1, 100);
  kvpb::LeaseCheckpointRequest request;
  auto* c = request.add_checkpoints();
  c->set_id(1);
  c->set_remaining_ttl_seconds(42);
  c = request.add_checkpoints();
  c->set_id(2);  // unknown: skipped
  c->set_remaining_ttl_seconds(7);
  ApplyLeaseCheckpoint(lessor_, batch_, request);
  EXPECT_EQ(StoredRecord(1).remaining_ttl_seconds(), 42);
  EXPECT_EQ(StoredRecord(1).ttl_seconds(), 100);
  EXPECT_EQ(batch_.meta[kLeaseTable].size(), 1u);
}

TEST_F(LeaseApplyTest, RestartFromStoredStateKeepsRemainingTtl) {
  Grant(1, 100);
  Grant(2, 30);
  PutWithLease("k1", 1);
  PutWithLease("k2", 2);
  batch_.PutKey("plain", 0);
  clock_.AdvanceMs(70'000);
  kvpb::LeaseCheckpointRequest checkpoint;
  for (const auto& c : lessor_.CollectCheckpoints()) *checkpoint.add_checkpoints() = c;
  ApplyLeaseCheckpoint(lessor_, batch_, checkpoint);

  std::vector<std::pair<std::string, std::string>> rows(batch_.meta[kLeaseTable].begin(),
                                                         batch_.meta[kLeaseTable].end());
  auto records = DecodeLeaseRecords(rows);
  ASSERT_TRUE(records.ok());
  auto keys = KeysWithLeases(batch_.view());
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);

  Lessor restarted(clock_, LessorOptions{});
  EXPECT_EQ(restarted.Recover(*records, *keys), 0u);
  auto one = restarted.TimeToLive(1, true);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->remaining_ttl_seconds, 30);
  EXPECT_EQ(one->keys, std::vector<std::string>{"k1"});
  // Lease 2 had expired (revoke pending) so it was not checkpointed: full TTL again.
  EXPECT_EQ(restarted.TimeToLive(2, false)->remaining_ttl_seconds, 30);
}

TEST_F(LeaseApplyTest, DecodeRejectsMalformedRows) {
  EXPECT_EQ(DecodeLeaseRecords({{"short", ""}}).status().code(), Code::kCorruption);
  kvpb::LeaseRecord record;
  record.set_id(3);
  EXPECT_EQ(DecodeLeaseRecords({{LeaseTableKey(4), record.SerializeAsString()}}).status().code(),
            Code::kCorruption);
  EXPECT_EQ(DecodeLeaseRecords({{LeaseTableKey(3), "\xff\xff"}}).status().code(),
            Code::kCorruption);
  auto ok = DecodeLeaseRecords({{LeaseTableKey(3), record.SerializeAsString()}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].id(), 3);
}

TEST_F(LeaseApplyTest, KeysWithLeasesPagesAtTheLimit) {
  Grant(1, 10);
  for (int64_t i = 0; i < kRecoverRangePageKeys; ++i) {
    batch_.PutKey("k" + std::to_string(i), i % 2 == 0 ? 1 : 0);
  }
  auto keys = KeysWithLeases(batch_.view());
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), static_cast<size_t>(kRecoverRangePageKeys / 2));
  EXPECT_EQ(batch_.ranges(), 2);  // a full page, then an empty one

  batch_.PutKey("zz", 1);  // one past the page
  keys = KeysWithLeases(batch_.view());
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), static_cast<size_t>(kRecoverRangePageKeys / 2 + 1));
  EXPECT_EQ(keys->back().key, "zz");
  EXPECT_EQ(batch_.ranges(), 4);
}

}  // namespace
}  // namespace grid::kv::lease
