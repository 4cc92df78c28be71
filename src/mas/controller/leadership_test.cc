#include "mas/controller/leadership.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "client/ops.h"
#include "client/testing/etcd_fixture.h"

namespace grid::mas::controller {
namespace {

using client::testing::EtcdFixture;
using client::testing::WaitFor;

constexpr char kPrefix[] = "/gridmas/leader";

class LeadershipTest : public EtcdFixture {
 protected:
  struct Replica {
    // Declared so that `leadership` (whose callback uses mu and changes) goes first.
    std::unique_ptr<client::Client> client;
    std::mutex mu;
    std::vector<std::pair<bool, int64_t>> changes;  // guarded by mu
    std::unique_ptr<Leadership> leadership;
  };

  std::unique_ptr<Replica> StartReplica(const std::string& name) {
    auto r = std::make_unique<Replica>();
    r->client = Connect();
    if (r->client == nullptr) return nullptr;
    LeadershipOptions o;
    o.election_prefix = kPrefix;
    o.identity = name;
    o.session_ttl_seconds = 5;
    o.retry_backoff = std::chrono::milliseconds(50);
    Replica* raw = r.get();
    o.on_change = [raw](bool leader, const Fence& fence) {
      EXPECT_TRUE(fence.key.starts_with(kPrefix)) << fence.key;
      std::lock_guard<std::mutex> lock(raw->mu);
      raw->changes.emplace_back(leader, fence.token);
    };
    auto l = Leadership::Start(r->client.get(), o);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (!l.ok()) return nullptr;
    r->leadership = std::move(l).value();
    return r;
  }

  static int Leaders(const std::vector<Replica*>& rs) {
    int n = 0;
    for (auto* r : rs) n += r->leadership->IsLeader() ? 1 : 0;
    return n;
  }
};

TEST_F(LeadershipTest, RejectsEmptyPrefix) {
  auto l = Leadership::Start(client_.get(), LeadershipOptions{});
  EXPECT_EQ(l.status().code(), Code::kInvalidArgument);
}

TEST_F(LeadershipTest, TwoCandidatesExactlyOneLeaderAndFailoverFencesTheDeposed) {
  auto a = StartReplica("replica-a");
  auto b = StartReplica("replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::vector<Replica*> all = {a.get(), b.get()};
  ASSERT_TRUE(WaitFor([&] { return Leaders(all) == 1; }));
  // Still exactly one a while later: the other stays a candidate.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Leaders(all), 1);
    ASSERT_TRUE(client_->Get("/probe").ok());
  }
  Replica* old_leader = a->leadership->IsLeader() ? a.get() : b.get();
  Replica* other = old_leader == a.get() ? b.get() : a.get();

  auto old_fence = old_leader->leadership->fence();
  ASSERT_TRUE(old_fence.has_value());
  EXPECT_EQ(old_fence->token, old_leader->leadership->token());
  auto kv = client_->Get(old_fence->key);
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->kvs_size(), 1);
  EXPECT_EQ(kv->kvs(0).create_revision(), old_fence->token);
  EXPECT_EQ(kv->kvs(0).value(), old_leader->leadership->identity());

  // A fenced write while leader succeeds.
  auto write = client::TxnBuilder().Then(client::OpPut("/gridmas/status", "by-old"));
  auto ok_write = old_leader->leadership->FencedTxn(write.request());
  ASSERT_TRUE(ok_write.ok()) << ok_write.status().ToString();
  EXPECT_TRUE(ok_write->succeeded());

  // The leader's session ends (its lease is revoked): it is deposed, the other takes over.
  const int64_t old_lease = old_leader->leadership->lease_id();
  ASSERT_NE(old_lease, 0);
  ASSERT_TRUE(client_->Revoke(old_lease).ok());
  ASSERT_TRUE(WaitFor([&] { return !old_leader->leadership->IsLeader(); }));
  ASSERT_TRUE(WaitFor([&] { return other->leadership->IsLeader(); }));
  auto new_fence = other->leadership->fence();
  ASSERT_TRUE(new_fence.has_value());
  EXPECT_GT(new_fence->token, old_fence->token);

  // A late write of the deposed leader, fenced with its old token, fails ...
  auto late = client::TxnBuilder()
                  .If(old_fence->Compare())
                  .Then(client::OpPut("/gridmas/status", "late-by-old"));
  auto late_resp = client_->Txn(late.request());
  ASSERT_TRUE(late_resp.ok());
  EXPECT_FALSE(late_resp->succeeded());
  // ... while the new leader's fenced write succeeds.
  auto new_write = client::TxnBuilder().Then(client::OpPut("/gridmas/status", "by-new"));
  auto new_resp = other->leadership->FencedTxn(new_write.request());
  ASSERT_TRUE(new_resp.ok()) << new_resp.status().ToString();
  EXPECT_TRUE(new_resp->succeeded());
  auto status = client_->Get("/gridmas/status");
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->kvs_size(), 1);
  EXPECT_EQ(status->kvs(0).value(), "by-new");

  // The deposed replica campaigns again but does not lead while the other holds it.
  ASSERT_TRUE(WaitFor([&] { return old_leader->leadership->lease_id() != 0; }));
  EXPECT_EQ(Leaders(all), 1);
  auto refused = old_leader->leadership->FencedTxn(new_write.request());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);

  // Callbacks: the old leader saw gain then loss with the same token.
  {
    std::lock_guard<std::mutex> lock(old_leader->mu);
    ASSERT_GE(old_leader->changes.size(), 2u);
    EXPECT_EQ(old_leader->changes[0], std::make_pair(true, old_fence->token));
    EXPECT_EQ(old_leader->changes[1], std::make_pair(false, old_fence->token));
  }
  {
    std::lock_guard<std::mutex> lock(other->mu);
    ASSERT_GE(other->changes.size(), 1u);
    EXPECT_EQ(other->changes.back(), std::make_pair(true, new_fence->token));
  }
}

TEST_F(LeadershipTest, StopResignsAndHandsOver) {
  auto a = StartReplica("replica-a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(WaitFor([&] { return a->leadership->IsLeader(); }));
  auto b = StartReplica("replica-b");
  ASSERT_NE(b, nullptr);
  a->leadership->Stop();
  EXPECT_FALSE(a->leadership->IsLeader());
  ASSERT_TRUE(WaitFor([&] { return b->leadership->IsLeader(); }));
  EXPECT_EQ(b->leadership->terms(), 1);
}

TEST_F(LeadershipTest, DeletedElectionKeyDeposesAtOnce) {
  auto a = StartReplica("replica-a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(WaitFor([&] { return a->leadership->IsLeader(); }));
  auto fence = a->leadership->fence();
  ASSERT_TRUE(fence.has_value());
  ASSERT_TRUE(client_->Delete(fence->key).ok());
  ASSERT_TRUE(WaitFor([&] { return !a->leadership->IsLeader(); }));
  // It campaigns again with a new session and wins a new term with a larger token.
  ASSERT_TRUE(WaitFor([&] { return a->leadership->terms() == 2 && a->leadership->IsLeader(); }));
  EXPECT_GT(a->leadership->token(), fence->token);
}

}  // namespace
}  // namespace grid::mas::controller
