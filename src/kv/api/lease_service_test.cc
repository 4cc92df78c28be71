#include "kv/api/lease_service.h"

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>

#include "etcd/rpc.grpc.pb.h"
#include "kv/lease/fake_batch_for_test.h"
#include "kv/lease/lease_apply.h"

namespace grid::kv::api {
namespace {

using lease::testing::FakeBatch;

// Applies every proposal to the lessor at once, on the proposing thread, the way the applier
// would; or refuses everything with `refusal`.
class ApplyingProposer : public Proposer {
 public:
  explicit ApplyingProposer(lease::Lessor& lessor) : lessor_(lessor) {}

  void Propose(kvpb::InternalRequest request, ApplyCallback done) override {
    if (!refusal.ok()) return done(refusal, kvpb::InternalResponse());
    kvpb::InternalResponse response;
    Status status;
    {
      std::lock_guard lock(mu);
      if (request.has_lease_grant()) {
        auto r = lease::ApplyLeaseGrant(lessor_, batch, request.lease_grant());
        if (r.ok()) *response.mutable_lease_grant() = *r;
        status = r.status();
      } else if (request.has_lease_revoke()) {
        auto r = lease::ApplyLeaseRevoke(lessor_, batch, request.lease_revoke());
        if (r.ok()) *response.mutable_lease_revoke() = *r;
        status = r.status();
      } else {
        status = Internal("unexpected proposal");
      }
    }
    done(status, std::move(response));
  }
  void ReadBarrier(ReadyCallback ready) override { ready(refusal); }

  std::mutex mu;
  FakeBatch batch;
  Status refusal;

 private:
  lease::Lessor& lessor_;
};

class LeaseServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(LeaseServiceOptions{}); }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  void StartServer(LeaseServiceOptions options) {
    if (server_) server_->Shutdown();
    member_.cluster_id = 11;
    member_.member_id = 22;
    service_ = std::make_unique<LeaseService>(
        lessor_, proposer_, member_,
        [this] {
          std::lock_guard lock(proposer_.mu);
          return proposer_.batch.revision();
        },
        options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = etcdserverpb::Lease::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Grant(int64_t id, int64_t ttl, etcdserverpb::LeaseGrantResponse* response) {
    grpc::ClientContext context;
    etcdserverpb::LeaseGrantRequest request;
    request.set_id(id);
    request.set_ttl(ttl);
    return stub_->LeaseGrant(&context, request, response);
  }
  etcdserverpb::LeaseTimeToLiveResponse TimeToLive(int64_t id, bool keys) {
    grpc::ClientContext context;
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(id);
    request.set_keys(keys);
    etcdserverpb::LeaseTimeToLiveResponse response;
    grpc::Status s = stub_->LeaseTimeToLive(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }
  void PutWithLease(const std::string& key, int64_t lease) {
    std::lock_guard lock(proposer_.mu);
    proposer_.batch.PutKey(key, lease);
    lessor_.Attach(lease, key);
  }

  lease::ManualClock clock_;
  lease::Lessor lessor_{clock_, lease::LessorOptions{}};
  ApplyingProposer proposer_{lessor_};
  MemberIdentity member_;
  std::unique_ptr<LeaseService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<etcdserverpb::Lease::Stub> stub_;
};

TEST_F(LeaseServiceTest, GrantChoosesIdAndAppliesMinTtl) {
  etcdserverpb::LeaseGrantResponse response;
  ASSERT_TRUE(Grant(0, 1, &response).ok());
  EXPECT_GT(response.id(), 0);
  EXPECT_EQ(response.ttl(), 2);
  EXPECT_EQ(response.header().cluster_id(), 11u);
  EXPECT_EQ(response.header().member_id(), 22u);
  EXPECT_EQ(response.header().raft_term(), 1u);
  EXPECT_TRUE(lessor_.LeaseExists(response.id()));

  ASSERT_TRUE(Grant(77, 30, &response).ok());
  EXPECT_EQ(response.id(), 77);
  EXPECT_EQ(response.ttl(), 30);
}

TEST_F(LeaseServiceTest, GrantErrorsAreEtcds) {
  etcdserverpb::LeaseGrantResponse response;
  ASSERT_TRUE(Grant(5, 10, &response).ok());
  grpc::Status s = Grant(5, 10, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "etcdserver: lease already exists");
  s = Grant(6, lease::kMaxLeaseTtlSeconds + 1, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(s.error_message(), "etcdserver: too large lease TTL");
}

TEST_F(LeaseServiceTest, RefusedProposalIsReported) {
  proposer_.refusal = Unavailable("etcdserver: server stopped");
  etcdserverpb::LeaseGrantResponse response;
  grpc::Status s = Grant(5, 10, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "etcdserver: server stopped");

  grpc::ClientContext context;
  etcdserverpb::LeaseTimeToLiveRequest request;
  etcdserverpb::LeaseTimeToLiveResponse ttl;
  EXPECT_EQ(stub_->LeaseTimeToLive(&context, request, &ttl).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(LeaseServiceTest, KeepAliveRenewsInOrderAndUnknownLeaseGetsZero) {
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(1, 10, &granted).ok());
  PutWithLease("k", 1);
  clock_.AdvanceMs(6'000);

  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  const int64_t ids[] = {1, 999, 1};
  for (int64_t id : ids) {
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(id);
    ASSERT_TRUE(stream->Write(request));
  }
  for (int64_t id : ids) {
    etcdserverpb::LeaseKeepAliveResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.id(), id);
    EXPECT_EQ(response.ttl(), id == 1 ? 10 : 0);
    EXPECT_EQ(response.header().member_id(), 22u);
    EXPECT_EQ(response.header().revision(), 1);
  }
  ASSERT_TRUE(stream->WritesDone());
  etcdserverpb::LeaseKeepAliveResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(lessor_.TimeToLive(1, false)->remaining_ttl_seconds, 10);
}

TEST_F(LeaseServiceTest, KeepAliveQueueAtTheLimit) {
  LeaseServiceOptions options;
  options.max_keepalive_responses_queued = 1;
  StartServer(options);
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(1, 10, &granted).ok());

  constexpr int kRequests = 200;
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  for (int i = 0; i < kRequests; ++i) {
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(i % 2 == 0 ? 1 : 1000 + i);
    ASSERT_TRUE(stream->Write(request));
  }
  ASSERT_TRUE(stream->WritesDone());
  for (int i = 0; i < kRequests; ++i) {
    etcdserverpb::LeaseKeepAliveResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.id(), i % 2 == 0 ? 1 : 1000 + i);
    EXPECT_EQ(response.ttl(), i % 2 == 0 ? 10 : 0);
  }
  etcdserverpb::LeaseKeepAliveResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(LeaseServiceTest, KeepAliveClientCancelEndsStream) {
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(1, 10, &granted).ok());
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(1);
  ASSERT_TRUE(stream->Write(request));
  etcdserverpb::LeaseKeepAliveResponse response;
  ASSERT_TRUE(stream->Read(&response));
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // Shutdown in TearDown waits for the reactor to finish.
}

TEST_F(LeaseServiceTest, TimeToLiveWithKeysAndMissingLease) {
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(3, 60, &granted).ok());
  PutWithLease("b", 3);
  PutWithLease("a", 3);
  clock_.AdvanceMs(20'500);

  etcdserverpb::LeaseTimeToLiveResponse response = TimeToLive(3, true);
  EXPECT_EQ(response.id(), 3);
  EXPECT_EQ(response.grantedttl(), 60);
  EXPECT_EQ(response.ttl(), 39);  // 39.5 s truncated, as etcd
  ASSERT_EQ(response.keys_size(), 2);
  EXPECT_EQ(response.keys(0), "a");
  EXPECT_EQ(response.keys(1), "b");
  EXPECT_EQ(response.header().revision(), 2);

  EXPECT_EQ(TimeToLive(3, false).keys_size(), 0);

  response = TimeToLive(404, true);
  EXPECT_EQ(response.id(), 404);
  EXPECT_EQ(response.ttl(), -1);
  EXPECT_EQ(response.grantedttl(), 0);
  EXPECT_EQ(response.header().member_id(), 22u);
}

TEST_F(LeaseServiceTest, LeasesListsAll) {
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(10, 100, &granted).ok());
  ASSERT_TRUE(Grant(20, 50, &granted).ok());
  grpc::ClientContext context;
  etcdserverpb::LeaseLeasesResponse response;
  ASSERT_TRUE(stub_->LeaseLeases(&context, etcdserverpb::LeaseLeasesRequest(), &response).ok());
  ASSERT_EQ(response.leases_size(), 2);
  EXPECT_EQ(response.leases(0).id(), 20);  // soonest expiry first
  EXPECT_EQ(response.leases(1).id(), 10);
  EXPECT_EQ(response.header().cluster_id(), 11u);
}

TEST_F(LeaseServiceTest, RevokeDeletesKeysAndThenNotFound) {
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(8, 100, &granted).ok());
  PutWithLease("x", 8);
  PutWithLease("y", 8);

  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(8);
  {
    grpc::ClientContext context;
    etcdserverpb::LeaseRevokeResponse response;
    ASSERT_TRUE(stub_->LeaseRevoke(&context, request, &response).ok());
    EXPECT_EQ(response.header().revision(), 3);  // two puts, then one revision for the revoke
    EXPECT_EQ(response.header().member_id(), 22u);
  }
  {
    std::lock_guard lock(proposer_.mu);
    EXPECT_TRUE(proposer_.batch.kvs().empty());
  }
  EXPECT_FALSE(lessor_.LeaseExists(8));
  {
    grpc::ClientContext context;
    etcdserverpb::LeaseRevokeResponse response;
    grpc::Status s = stub_->LeaseRevoke(&context, request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(s.error_message(), "etcdserver: requested lease not found");
  }
  EXPECT_EQ(TimeToLive(8, false).ttl(), -1);
}

}  // namespace
}  // namespace grid::kv::api
