#include "kv/lease/keeper.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace grid::kv::lease {
namespace {

// Records proposals; the test decides when (and how) each one is answered.
class FakeProposer : public Proposer {
 public:
  struct Proposal {
    kvpb::InternalRequest request;
    ApplyCallback done;
  };

  void Propose(kvpb::InternalRequest request, ApplyCallback done) override {
    std::lock_guard lock(mu_);
    proposals_.push_back({std::move(request), std::move(done)});
  }
  void ReadBarrier(ReadyCallback ready) override { ready(Status::Ok()); }

  std::vector<Proposal> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(proposals_, {});
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return proposals_.size();
  }

 private:
  std::mutex mu_;
  std::vector<Proposal> proposals_;
};

std::vector<int64_t> RevokedIds(const std::vector<FakeProposer::Proposal>& proposals) {
  std::vector<int64_t> ids;
  for (const auto& p : proposals) {
    EXPECT_TRUE(p.request.has_lease_revoke());
    ids.push_back(p.request.lease_revoke().id());
  }
  return ids;
}

class KeeperTest : public ::testing::Test {
 protected:
  void Grant(int64_t id, int64_t ttl_seconds) {
    kvpb::LeaseRecord record;
    ASSERT_TRUE(lessor_.Grant(id, ttl_seconds, &record).ok());
  }
  // Applies a revoke proposal the way the applier would.
  void Apply(FakeProposer::Proposal& p) {
    Status s = lessor_.Revoke(p.request.lease_revoke().id()).status();
    p.done(s, kvpb::InternalResponse());
  }

  ManualClock clock_;
  Lessor lessor_{clock_, LessorOptions{}};
  FakeProposer proposer_;
};

TEST_F(KeeperTest, RevokeProposedOncePerExpiredLease) {
  KeeperOptions options;
  options.max_revokes_in_flight = 100;
  LeaseKeeper keeper(lessor_, proposer_, clock_, options);
  Grant(1, 10);
  Grant(2, 20);
  Grant(3, 100);

  keeper.TickForTest();
  EXPECT_EQ(proposer_.size(), 0u);

  clock_.AdvanceMs(20'000);
  keeper.TickForTest();
  auto proposals = proposer_.Take();
  EXPECT_EQ(RevokedIds(proposals), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(keeper.revokes_in_flight(), 2u);

  // In flight: not proposed again, however many ticks pass.
  clock_.AdvanceMs(5'000);
  keeper.TickForTest();
  keeper.TickForTest();
  EXPECT_EQ(proposer_.size(), 0u);

  // Lease 1 applied; lease 2's proposal was refused: only lease 2 is proposed again.
  Apply(proposals[0]);
  proposals[1].done(Unavailable("server stopping"), kvpb::InternalResponse());
  EXPECT_EQ(keeper.revokes_in_flight(), 0u);
  keeper.TickForTest();
  auto retry = proposer_.Take();
  EXPECT_EQ(RevokedIds(retry), std::vector<int64_t>{2});
  Apply(retry[0]);
  keeper.TickForTest();
  EXPECT_EQ(proposer_.size(), 0u);
  EXPECT_EQ(lessor_.Leases(), std::vector<int64_t>{3});
}

TEST_F(KeeperTest, RevokeRateLimitIsTheLimit) {
  KeeperOptions options;
  options.max_revokes_per_second = 10;
  options.max_revokes_in_flight = 1000;
  LeaseKeeper keeper(lessor_, proposer_, clock_, options);
  for (int64_t id = 1; id <= 40; ++id) Grant(id, 5);
  clock_.AdvanceMs(5'000);

  keeper.TickForTest();  // the bucket starts full: one second's worth
  auto first = proposer_.Take();
  EXPECT_EQ(first.size(), 10u);
  keeper.TickForTest();  // no time passed: nothing
  EXPECT_EQ(proposer_.size(), 0u);

  clock_.AdvanceMs(500);  // half a second: half the rate
  keeper.TickForTest();
  EXPECT_EQ(proposer_.Take().size(), 5u);

  clock_.AdvanceMs(60'000);  // a long pause refills at most one second's worth
  keeper.TickForTest();
  EXPECT_EQ(proposer_.Take().size(), 10u);
  EXPECT_EQ(keeper.revokes_in_flight(), 25u);
}

TEST_F(KeeperTest, RevokesInFlightIsTheLimit) {
  KeeperOptions options;
  options.max_revokes_in_flight = 3;
  LeaseKeeper keeper(lessor_, proposer_, clock_, options);
  for (int64_t id = 1; id <= 5; ++id) Grant(id, 5);
  clock_.AdvanceMs(5'000);

  keeper.TickForTest();
  auto first = proposer_.Take();
  EXPECT_EQ(first.size(), 3u);
  keeper.TickForTest();
  EXPECT_EQ(proposer_.size(), 0u);

  Apply(first[0]);
  keeper.TickForTest();
  EXPECT_EQ(RevokedIds(proposer_.Take()), std::vector<int64_t>{4});
}

TEST_F(KeeperTest, PeriodicCheckpointsBatchedAtTheMax) {
  KeeperOptions options;
  options.checkpoint_interval_ms = 60'000;
  options.max_checkpoints_per_proposal = 3;
  LeaseKeeper keeper(lessor_, proposer_, clock_, options);
  for (int64_t id = 1; id <= 7; ++id) Grant(id, 1000);

  clock_.AdvanceMs(59'999);
  keeper.TickForTest();
  EXPECT_EQ(proposer_.size(), 0u);

  clock_.AdvanceMs(1);
  keeper.TickForTest();
  auto proposals = proposer_.Take();
  ASSERT_EQ(proposals.size(), 3u);  // 3 + 3 + 1
  std::vector<size_t> sizes;
  int64_t next_id = 1;
  for (auto& p : proposals) {
    ASSERT_TRUE(p.request.has_lease_checkpoint());
    sizes.push_back(p.request.lease_checkpoint().checkpoints_size());
    for (const auto& c : p.request.lease_checkpoint().checkpoints()) {
      EXPECT_EQ(c.id(), next_id++);
      EXPECT_EQ(c.remaining_ttl_seconds(), 940);
    }
    p.done(Status::Ok(), kvpb::InternalResponse());
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 1}));

  // Not again before the next interval.
  clock_.AdvanceMs(30'000);
  keeper.TickForTest();
  EXPECT_EQ(proposer_.size(), 0u);
  clock_.AdvanceMs(30'000);
  keeper.TickForTest();
  EXPECT_EQ(proposer_.Take().size(), 3u);
}

TEST_F(KeeperTest, RenewAfterCheckpointProposesAClear) {
  KeeperOptions options;
  options.max_checkpoints_per_proposal = 2;
  LeaseKeeper keeper(lessor_, proposer_, clock_, options);
  kvpb::LeaseRecord record;
  for (int64_t id = 1; id <= 3; ++id) {
    Grant(id, 100);
    ASSERT_TRUE(lessor_.Checkpoint(id, 40, &record));
    ASSERT_TRUE(lessor_.Renew(id).ok());
  }
  keeper.TickForTest();
  auto proposals = proposer_.Take();
  ASSERT_EQ(proposals.size(), 2u);
  EXPECT_EQ(proposals[0].request.lease_checkpoint().checkpoints_size(), 2);
  EXPECT_EQ(proposals[1].request.lease_checkpoint().checkpoints_size(), 1);
  for (const auto& p : proposals) {
    for (const auto& c : p.request.lease_checkpoint().checkpoints()) {
      EXPECT_EQ(c.remaining_ttl_seconds(), 0);
    }
  }
  keeper.TickForTest();
  EXPECT_EQ(proposer_.size(), 0u);
}

TEST_F(KeeperTest, ThreadProposesAndStopJoins) {
  KeeperOptions options;
  options.tick_ms = 5;
  auto keeper = std::make_unique<LeaseKeeper>(lessor_, proposer_, clock_, options);
  Grant(1, 5);
  clock_.AdvanceMs(5'000);
  keeper->Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (proposer_.size() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  keeper->Stop();
  keeper->Stop();  // idempotent
  keeper.reset();
  auto proposals = proposer_.Take();
  EXPECT_EQ(RevokedIds(proposals), std::vector<int64_t>{1});
  // The callback may run after the keeper is gone.
  for (auto& p : proposals) Apply(p);
}

}  // namespace
}  // namespace grid::kv::lease
