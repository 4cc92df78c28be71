#include <atomic>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include "client/mutex.h"
#include "client/services/election_service.h"
#include "client/services/lock_service.h"
#include "client/testing/etcd_fixture.h"

namespace grid::client::services {
namespace {

using testing::EtcdFixture;
using testing::WaitFor;

std::unique_ptr<grpc::ClientContext> CallContext(
    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

// Hosts LockService and ElectionService on 127.0.0.1:0, talking to the test's etcd.
class ServicesTest : public EtcdFixture {
 protected:
  void SetUp() override {
    EtcdFixture::SetUp();
    if (HasFatalFailure()) return;
    auto backend = grpc::CreateChannel(etcd_->endpoint(), grpc::InsecureChannelCredentials());
    lock_service_ = std::make_unique<LockService>(backend);
    election_service_ = std::make_unique<ElectionService>(backend);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(lock_service_.get());
    builder.RegisterService(election_service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    auto ours = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                    grpc::InsecureChannelCredentials());
    lock_ = v3lockpb::Lock::NewStub(ours);
    election_ = v3electionpb::Election::NewStub(ours);
    // etcd hosts the same services itself: the reference for error parity.
    etcd_lock_ = v3lockpb::Lock::NewStub(backend);
    etcd_election_ = v3electionpb::Election::NewStub(backend);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_.reset();
    lock_service_.reset();
    election_service_.reset();
    EtcdFixture::TearDown();
  }

  int64_t Grant() {
    auto g = client_->Grant(30);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? g->id() : 0;
  }
  int64_t CountKeys(std::string_view prefix) {
    GetOptions o;
    o.prefix = true;
    o.count_only = true;
    auto r = client_->Get(prefix, o);
    return r.ok() ? r->count() : -1;
  }

  std::unique_ptr<LockService> lock_service_;
  std::unique_ptr<ElectionService> election_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v3lockpb::Lock::Stub> lock_, etcd_lock_;
  std::unique_ptr<v3electionpb::Election::Stub> election_, etcd_election_;
};

TEST_F(ServicesTest, LockWaitsForUnlock) {
  const int64_t l1 = Grant(), l2 = Grant();
  v3lockpb::LockRequest req;
  req.set_name("svc");
  req.set_lease(l1);
  v3lockpb::LockResponse first;
  ASSERT_TRUE(lock_->Lock(CallContext().get(), req, &first).ok());
  EXPECT_EQ(first.key(), LeaseKey("svc/", l1));
  EXPECT_GT(first.header().revision(), 0);

  req.set_lease(l2);
  v3lockpb::LockResponse second;
  grpc::Status timed_out =
      lock_->Lock(CallContext(std::chrono::milliseconds(300)).get(), req, &second);
  EXPECT_EQ(timed_out.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The abandoned waiter's key is deleted.
  EXPECT_TRUE(WaitFor([&] { return CountKeys("svc/") == 1; }));

  std::atomic<bool> locked{false};
  std::thread waiter([&] {
    v3lockpb::LockResponse resp;
    ASSERT_TRUE(lock_->Lock(CallContext().get(), req, &resp).ok());
    EXPECT_EQ(resp.key(), LeaseKey("svc/", l2));
    locked = true;
  });
  ASSERT_TRUE(WaitFor([&] { return CountKeys("svc/") == 2; }));
  EXPECT_FALSE(locked);
  v3lockpb::UnlockRequest unlock;
  unlock.set_key(first.key());
  v3lockpb::UnlockResponse unlocked;
  ASSERT_TRUE(lock_->Unlock(CallContext().get(), unlock, &unlocked).ok());
  EXPECT_GT(unlocked.header().revision(), first.header().revision());
  waiter.join();
  EXPECT_TRUE(locked);
}

TEST_F(ServicesTest, CancelledLockDeletesItsKey) {
  const int64_t l1 = Grant(), l2 = Grant();
  v3lockpb::LockRequest req;
  req.set_name("cx");
  req.set_lease(l1);
  v3lockpb::LockResponse resp;
  ASSERT_TRUE(lock_->Lock(CallContext().get(), req, &resp).ok());
  req.set_lease(l2);
  grpc::ClientContext ctx;
  grpc::Status result;
  std::thread waiter([&] {
    v3lockpb::LockResponse r;
    result = lock_->Lock(&ctx, req, &r);
  });
  ASSERT_TRUE(WaitFor([&] { return CountKeys("cx/") == 2; }));
  ctx.TryCancel();
  waiter.join();
  EXPECT_EQ(result.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return CountKeys("cx/") == 1; }));
}

TEST_F(ServicesTest, LockErrorsMatchEtcd) {
  v3lockpb::LockRequest req;
  req.set_name("bad");
  req.set_lease(0x7777);
  v3lockpb::LockResponse resp;
  grpc::Status ours = lock_->Lock(CallContext().get(), req, &resp);
  grpc::Status theirs = etcd_lock_->Lock(CallContext().get(), req, &resp);
  EXPECT_FALSE(theirs.ok());
  EXPECT_EQ(ours.error_code(), theirs.error_code());
  EXPECT_EQ(ours.error_message(), theirs.error_message());
  EXPECT_EQ(ours.error_message(), "etcdserver: requested lease not found");
}

TEST_F(ServicesTest, ElectionLifecycle) {
  const int64_t lease = Grant();
  v3electionpb::CampaignRequest campaign;
  campaign.set_name("svc-e");
  campaign.set_lease(lease);
  campaign.set_value("v1");
  v3electionpb::CampaignResponse won;
  ASSERT_TRUE(election_->Campaign(CallContext().get(), campaign, &won).ok());
  EXPECT_EQ(won.leader().name(), "svc-e");
  EXPECT_EQ(won.leader().key(), LeaseKey("svc-e/", lease));
  EXPECT_EQ(won.leader().lease(), lease);
  EXPECT_GT(won.leader().rev(), 0);

  v3electionpb::LeaderRequest leader_req;
  leader_req.set_name("svc-e");
  v3electionpb::LeaderResponse leader;
  ASSERT_TRUE(election_->Leader(CallContext().get(), leader_req, &leader).ok());
  EXPECT_EQ(leader.kv().value(), "v1");

  grpc::ClientContext observe_ctx;
  auto stream = election_->Observe(&observe_ctx, leader_req);
  v3electionpb::LeaderResponse observed;
  ASSERT_TRUE(stream->Read(&observed));
  EXPECT_EQ(observed.kv().value(), "v1");

  v3electionpb::ProclaimRequest proclaim;
  *proclaim.mutable_leader() = won.leader();
  proclaim.set_value("v2");
  v3electionpb::ProclaimResponse proclaimed;
  ASSERT_TRUE(election_->Proclaim(CallContext().get(), proclaim, &proclaimed).ok());
  ASSERT_TRUE(stream->Read(&observed));
  EXPECT_EQ(observed.kv().value(), "v2");

  v3electionpb::ResignRequest resign;
  *resign.mutable_leader() = won.leader();
  v3electionpb::ResignResponse resigned;
  ASSERT_TRUE(election_->Resign(CallContext().get(), resign, &resigned).ok());
  EXPECT_EQ(CountKeys("svc-e/"), 0);

  observe_ctx.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(ServicesTest, CampaignWaitsAndCancelDeletesKey) {
  const int64_t l1 = Grant(), l2 = Grant();
  v3electionpb::CampaignRequest campaign;
  campaign.set_name("ce");
  campaign.set_lease(l1);
  campaign.set_value("a");
  v3electionpb::CampaignResponse won;
  ASSERT_TRUE(election_->Campaign(CallContext().get(), campaign, &won).ok());
  campaign.set_lease(l2);
  campaign.set_value("b");
  grpc::ClientContext ctx;
  grpc::Status result;
  std::thread waiter([&] {
    v3electionpb::CampaignResponse r;
    result = election_->Campaign(&ctx, campaign, &r);
  });
  ASSERT_TRUE(WaitFor([&] { return CountKeys("ce/") == 2; }));
  ctx.TryCancel();
  waiter.join();
  EXPECT_EQ(result.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return CountKeys("ce/") == 1; }));
}

TEST_F(ServicesTest, ElectionErrorsMatchEtcd) {
  auto expect_same = [](const grpc::Status& ours, const grpc::Status& theirs,
                        const std::string& message) {
    EXPECT_FALSE(theirs.ok());
    EXPECT_EQ(ours.error_code(), theirs.error_code()) << message;
    EXPECT_EQ(ours.error_message(), theirs.error_message());
    EXPECT_EQ(ours.error_message(), message);
  };
  v3electionpb::LeaderRequest leader_req;
  leader_req.set_name("nobody");
  v3electionpb::LeaderResponse leader;
  expect_same(election_->Leader(CallContext().get(), leader_req, &leader),
              etcd_election_->Leader(CallContext().get(), leader_req, &leader),
              "election: no leader");

  v3electionpb::ProclaimRequest proclaim;
  proclaim.mutable_leader()->set_name("nobody");
  proclaim.mutable_leader()->set_key("nobody/1");
  proclaim.mutable_leader()->set_rev(1);
  proclaim.mutable_leader()->set_lease(Grant());
  proclaim.set_value("x");
  v3electionpb::ProclaimResponse proclaimed;
  expect_same(election_->Proclaim(CallContext().get(), proclaim, &proclaimed),
              etcd_election_->Proclaim(CallContext().get(), proclaim, &proclaimed),
              "election: not leader");

  v3electionpb::ResignRequest resign;
  v3electionpb::ResignResponse resigned;
  expect_same(election_->Resign(CallContext().get(), resign, &resigned),
              etcd_election_->Resign(CallContext().get(), resign, &resigned),
              "\"leader\" field must be provided");
}

}  // namespace
}  // namespace grid::client::services
