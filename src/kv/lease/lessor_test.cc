#include "kv/lease/lessor.h"

#include <gtest/gtest.h>

namespace grid::kv::lease {
namespace {

class LessorTest : public ::testing::Test {
 protected:
  kvpb::LeaseRecord MustGrant(int64_t id, int64_t ttl_seconds) {
    kvpb::LeaseRecord record;
    Status s = lessor_.Grant(id, ttl_seconds, &record);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return record;
  }

  ManualClock clock_;
  Lessor lessor_{clock_, LessorOptions{}};
};

TEST(MinLeaseTtlTest, MatchesEtcdFormula) {
  EXPECT_EQ(MinLeaseTtlSeconds(100, 1000), 2);  // etcd defaults: 15 ticks * 100 ms = 1.5 s
  EXPECT_EQ(MinLeaseTtlSeconds(100, 2000), 3);  // 30 ticks * 100 ms
  EXPECT_EQ(MinLeaseTtlSeconds(500, 5000), 8);  // 15 ticks * 500 ms = 7.5 s
}

TEST_F(LessorTest, GrantRecordsTtlAndPersists) {
  kvpb::LeaseRecord record = MustGrant(7, 10);
  EXPECT_EQ(record.id(), 7);
  EXPECT_EQ(record.ttl_seconds(), 10);
  EXPECT_EQ(record.remaining_ttl_seconds(), 0);
  EXPECT_TRUE(lessor_.LeaseExists(7));
  auto ttl = lessor_.TimeToLive(7, false);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->granted_ttl_seconds, 10);
  EXPECT_EQ(ttl->remaining_ttl_seconds, 10);
}

TEST_F(LessorTest, GrantRaisesToMinTtl) {
  EXPECT_EQ(MustGrant(1, 1).ttl_seconds(), 2);
  EXPECT_EQ(MustGrant(2, 0).ttl_seconds(), 2);
  EXPECT_EQ(MustGrant(3, -5).ttl_seconds(), 2);
  EXPECT_EQ(MustGrant(4, 2).ttl_seconds(), 2);
  EXPECT_EQ(MustGrant(5, 3).ttl_seconds(), 3);
}

TEST_F(LessorTest, GrantMaxTtlIsTheLimit) {
  EXPECT_EQ(MustGrant(1, kMaxLeaseTtlSeconds).ttl_seconds(), kMaxLeaseTtlSeconds);
  kvpb::LeaseRecord record;
  Status s = lessor_.Grant(2, kMaxLeaseTtlSeconds + 1, &record);
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_EQ(s.message(), "etcdserver: too large lease TTL");
  EXPECT_FALSE(lessor_.LeaseExists(2));
}

TEST_F(LessorTest, GrantDuplicateAndZeroId) {
  MustGrant(1, 10);
  kvpb::LeaseRecord record;
  Status s = lessor_.Grant(1, 20, &record);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "etcdserver: lease already exists");
  EXPECT_EQ(lessor_.TimeToLive(1, false)->granted_ttl_seconds, 10);

  s = lessor_.Grant(0, 10, &record);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "etcdserver: requested lease not found");
}

TEST(LessorLimitTest, MaxLeasesIsTheLimit) {
  ManualClock clock;
  LessorOptions options;
  options.max_leases = 3;
  Lessor lessor(clock, options);
  kvpb::LeaseRecord record;
  for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE(lessor.Grant(id, 10, &record).ok());
  Status s = lessor.Grant(4, 10, &record);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.message(), kErrTooManyLeases);
  ASSERT_TRUE(lessor.Revoke(1).ok());
  EXPECT_TRUE(lessor.Grant(4, 10, &record).ok());
}

TEST_F(LessorTest, RenewExtendsExpiry) {
  MustGrant(1, 10);
  clock_.AdvanceMs(6'000);
  EXPECT_EQ(lessor_.TimeToLive(1, false)->remaining_ttl_seconds, 4);
  auto ttl = lessor_.Renew(1);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 10);
  EXPECT_EQ(lessor_.TimeToLive(1, false)->remaining_ttl_seconds, 10);
  clock_.AdvanceMs(9'999);
  EXPECT_TRUE(lessor_.FindExpired(10, {}).empty());
  clock_.AdvanceMs(1);
  EXPECT_EQ(lessor_.FindExpired(10, {}), std::vector<int64_t>{1});
}

TEST_F(LessorTest, RenewUnknownOrExpiredIsNotFound) {
  auto missing = lessor_.Renew(42);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "etcdserver: requested lease not found");

  MustGrant(1, 5);
  clock_.AdvanceMs(5'000);
  EXPECT_EQ(lessor_.Renew(1).status().code(), Code::kNotFound);
  // Still present until its revoke is applied.
  EXPECT_TRUE(lessor_.LeaseExists(1));
  EXPECT_EQ(lessor_.TimeToLive(1, false)->remaining_ttl_seconds, 0);
}

TEST_F(LessorTest, FindExpiredOrderLimitAndExclude) {
  MustGrant(1, 30);
  MustGrant(2, 10);
  MustGrant(3, 20);
  MustGrant(4, 100);
  clock_.AdvanceMs(30'000);
  EXPECT_EQ(lessor_.FindExpired(10, {}), (std::vector<int64_t>{2, 3, 1}));
  EXPECT_EQ(lessor_.FindExpired(2, {}), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(lessor_.FindExpired(2, {2}), (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(lessor_.FindExpired(0, {}).empty());
  EXPECT_EQ(lessor_.Leases(), (std::vector<int64_t>{2, 3, 1, 4}));
}

TEST_F(LessorTest, AttachDetachAndRevokeReturnsSortedKeys) {
  MustGrant(1, 10);
  MustGrant(2, 10);
  lessor_.Attach(1, "b");
  lessor_.Attach(1, "a");
  lessor_.Attach(1, "c");
  lessor_.Attach(1, "a");  // twice: still one
  lessor_.Attach(2, "z");
  lessor_.Detach(1, "c");
  lessor_.Detach(1, "missing");
  lessor_.Detach(99, "a");  // unknown lease: no-op

  auto ttl = lessor_.TimeToLive(1, true);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(lessor_.TimeToLive(1, false)->keys.empty());

  auto keys = lessor_.Revoke(1);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(lessor_.LeaseExists(1));
  EXPECT_EQ(lessor_.TimeToLive(1, false).status().code(), Code::kNotFound);
  EXPECT_EQ(lessor_.Revoke(1).status().message(), "etcdserver: requested lease not found");
  EXPECT_EQ(lessor_.Leases(), std::vector<int64_t>{2});
}

TEST_F(LessorTest, AttachToUnknownLeaseIsABug) {
  EXPECT_DEATH(lessor_.Attach(5, "k"), "unknown lease");
}

TEST_F(LessorTest, CheckpointIsPersistedButKeepsExpiry) {
  MustGrant(1, 100);
  clock_.AdvanceMs(40'000);
  kvpb::LeaseRecord record;
  ASSERT_TRUE(lessor_.Checkpoint(1, 60, &record));
  EXPECT_EQ(record.id(), 1);
  EXPECT_EQ(record.ttl_seconds(), 100);
  EXPECT_EQ(record.remaining_ttl_seconds(), 60);
  EXPECT_EQ(lessor_.TimeToLive(1, false)->remaining_ttl_seconds, 60);
  EXPECT_FALSE(lessor_.Checkpoint(2, 60, &record));
}

TEST_F(LessorTest, CollectCheckpointsSkipsFullAndExpired) {
  MustGrant(1, 100);
  MustGrant(2, 10);
  clock_.AdvanceMs(500);
  MustGrant(3, 50);  // granted now: remaining == ttl, nothing to checkpoint
  auto checkpoints = lessor_.CollectCheckpoints();
  ASSERT_EQ(checkpoints.size(), 0u);  // 99.5 s rounds up to 100

  clock_.AdvanceMs(9'700);  // lease 2 expired at 10 s
  checkpoints = lessor_.CollectCheckpoints();
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(checkpoints[0].id(), 1);
  EXPECT_EQ(checkpoints[0].remaining_ttl_seconds(), 90);  // 89.8 s rounded up
  EXPECT_EQ(checkpoints[1].id(), 3);
  EXPECT_EQ(checkpoints[1].remaining_ttl_seconds(), 41);  // 40.3 s rounded up
}

TEST_F(LessorTest, RenewAfterCheckpointAsksForAClear) {
  MustGrant(1, 100);
  MustGrant(2, 100);
  kvpb::LeaseRecord record;
  ASSERT_TRUE(lessor_.Checkpoint(1, 60, &record));
  ASSERT_TRUE(lessor_.Renew(2).ok());  // never checkpointed: nothing to clear
  ASSERT_TRUE(lessor_.Renew(1).ok());
  EXPECT_EQ(lessor_.TakeCheckpointClears(10), std::vector<int64_t>{1});
  EXPECT_TRUE(lessor_.TakeCheckpointClears(10).empty());

  ASSERT_TRUE(lessor_.Renew(1).ok());
  ASSERT_TRUE(lessor_.Checkpoint(1, 0, &record));  // the clear was applied
  EXPECT_EQ(record.remaining_ttl_seconds(), 0);
  EXPECT_TRUE(lessor_.TakeCheckpointClears(10).empty());
}

TEST_F(LessorTest, TakeCheckpointClearsLimit) {
  kvpb::LeaseRecord record;
  for (int64_t id = 1; id <= 5; ++id) {
    MustGrant(id, 100);
    ASSERT_TRUE(lessor_.Checkpoint(id, 50, &record));
    ASSERT_TRUE(lessor_.Renew(id).ok());
  }
  EXPECT_EQ(lessor_.TakeCheckpointClears(3), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(lessor_.TakeCheckpointClears(3), (std::vector<int64_t>{4, 5}));
}

TEST_F(LessorTest, RecoverGrantsRemainingTtl) {
  std::vector<kvpb::LeaseRecord> records(3);
  records[0].set_id(1);
  records[0].set_ttl_seconds(100);
  records[0].set_remaining_ttl_seconds(30);  // checkpointed
  records[1].set_id(2);
  records[1].set_ttl_seconds(50);  // never checkpointed
  records[2].set_id(3);
  records[2].set_ttl_seconds(1);  // below the minimum
  std::vector<LeasedKey> keys = {{"a", 1}, {"b", 1}, {"c", 2}, {"orphan", 9}};
  MustGrant(77, 10);  // replaced by Recover

  EXPECT_EQ(lessor_.Recover(records, keys), 1u);
  EXPECT_FALSE(lessor_.LeaseExists(77));
  auto one = lessor_.TimeToLive(1, true);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->granted_ttl_seconds, 100);
  EXPECT_EQ(one->remaining_ttl_seconds, 30);
  EXPECT_EQ(one->keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(lessor_.TimeToLive(2, false)->remaining_ttl_seconds, 50);
  EXPECT_EQ(lessor_.TimeToLive(3, false)->granted_ttl_seconds, 2);

  clock_.AdvanceMs(30'000);
  EXPECT_EQ(lessor_.FindExpired(10, {}), (std::vector<int64_t>{3, 1}));
  // A renew after restart grants the full TTL and asks to clear the stale checkpoint.
  clock_.AdvanceMs(-1);
  EXPECT_EQ(lessor_.Renew(1).value(), 100);
  EXPECT_EQ(lessor_.TakeCheckpointClears(10), std::vector<int64_t>{1});
}

TEST_F(LessorTest, CheckpointThenRecoverRoundTrip) {
  MustGrant(5, 60);
  lessor_.Attach(5, "k");
  clock_.AdvanceMs(25'000);
  auto checkpoints = lessor_.CollectCheckpoints();
  ASSERT_EQ(checkpoints.size(), 1u);
  kvpb::LeaseRecord record;
  ASSERT_TRUE(lessor_.Checkpoint(5, checkpoints[0].remaining_ttl_seconds(), &record));

  Lessor restarted(clock_, LessorOptions{});
  EXPECT_EQ(restarted.Recover({record}, {{"k", 5}}), 0u);
  auto ttl = restarted.TimeToLive(5, true);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->remaining_ttl_seconds, 35);
  EXPECT_EQ(ttl->keys, std::vector<std::string>{"k"});
}

}  // namespace
}  // namespace grid::kv::lease
