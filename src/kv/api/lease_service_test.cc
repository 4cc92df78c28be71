#include "kv/api/lease_service.h"

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// A leader elsewhere: renewals and reads wait until the test answers them (or are answered at
// once with `answer_inline`), unless `leader` says this member leads.
class FakeForwarder : public LeaseForwarder {
 public:
  std::atomic<bool> leader{false};
  std::atomic<bool> answer_inline{false};

  bool IsLeader() const override { return leader; }
  void Renew(int64_t id, std::function<void(Result<int64_t>)> done) override {
    if (answer_inline) return done(id * 10);
    std::lock_guard lock(mu_);
    ++renew_calls_;
    renewals_.emplace(id, std::move(done));
    max_outstanding_ = std::max(max_outstanding_, renewals_.size());
  }
  void TimeToLive(int64_t id, bool keys,
                  std::function<void(Result<lease::TimeToLiveResult>)> done) override {
    std::lock_guard lock(mu_);
    reads_.emplace(id, std::make_pair(keys, std::move(done)));
  }

  // Answers the pending renewal of lease `id`; false when there is none.
  bool AnswerRenew(int64_t id, Result<int64_t> ttl) {
    std::function<void(Result<int64_t>)> done;
    {
      std::lock_guard lock(mu_);
      auto it = renewals_.find(id);
      if (it == renewals_.end()) return false;
      done = std::move(it->second);
      renewals_.erase(it);
    }
    done(std::move(ttl));
    return true;
  }
  // The `keys` flag of the pending read of lease `id` is returned through `keys`.
  bool AnswerRead(int64_t id, Result<lease::TimeToLiveResult> ttl, bool* keys = nullptr) {
    std::function<void(Result<lease::TimeToLiveResult>)> done;
    {
      std::lock_guard lock(mu_);
      auto it = reads_.find(id);
      if (it == reads_.end()) return false;
      if (keys != nullptr) *keys = it->second.first;
      done = std::move(it->second.second);
      reads_.erase(it);
    }
    done(std::move(ttl));
    return true;
  }
  size_t pending_renewals() {
    std::lock_guard lock(mu_);
    return renewals_.size();
  }
  size_t pending_reads() {
    std::lock_guard lock(mu_);
    return reads_.size();
  }
  size_t renew_calls() {
    std::lock_guard lock(mu_);
    return renew_calls_;
  }
  size_t max_outstanding() {
    std::lock_guard lock(mu_);
    return max_outstanding_;
  }
  void FailAll() {
    std::vector<int64_t> ids, read_ids;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, done] : renewals_) ids.push_back(id);
      for (auto& [id, read] : reads_) read_ids.push_back(id);
    }
    for (int64_t id : ids) AnswerRenew(id, Unavailable("etcdserver: server stopped"));
    for (int64_t id : read_ids) AnswerRead(id, Unavailable("etcdserver: server stopped"));
  }

 private:
  std::mutex mu_;
  std::map<int64_t, std::function<void(Result<int64_t>)>> renewals_;
  std::map<int64_t, std::pair<bool, std::function<void(Result<lease::TimeToLiveResult>)>>>
      reads_;
  size_t renew_calls_ = 0;
  size_t max_outstanding_ = 0;
};

template <typename Pred>
bool Eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class LeaseServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(LeaseServiceOptions{}); }
  void TearDown() override {
    forwarder_.FailAll();
    if (server_) server_->Shutdown();
  }

  void StartServer(LeaseServiceOptions options, LeaseForwarder* forwarder = nullptr) {
    if (server_) server_->Shutdown();
    member_.cluster_id = 11;
    member_.member_id = 22;
    service_ = std::make_unique<LeaseService>(
        lessor_, proposer_, member_,
        [this] {
          std::lock_guard lock(proposer_.mu);
          return proposer_.batch.revision();
        },
        options, forwarder);
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

  FakeForwarder forwarder_;
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

// ---- With a forwarder: this member does not lead ----

using KeepAliveStream = grpc::ClientReaderWriter<etcdserverpb::LeaseKeepAliveRequest,
                                                 etcdserverpb::LeaseKeepAliveResponse>;

void WriteKeepAlive(KeepAliveStream* stream, int64_t id) {
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(id);
  ASSERT_TRUE(stream->Write(request));
}

TEST_F(LeaseServiceTest, ForwardedKeepAlivesAnswerInRequestOrder) {
  StartServer(LeaseServiceOptions{}, &forwarder_);
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6};
  for (int64_t id : ids) WriteKeepAlive(stream.get(), id);
  ASSERT_TRUE(Eventually([&] { return forwarder_.pending_renewals() == ids.size(); }));
  // The leader answers out of order; lease 4 is missing there.
  for (int64_t id : {6, 2, 4, 1, 5, 3}) {
    Result<int64_t> ttl = id == 4 ? Result<int64_t>(NotFound(lease::kErrLeaseNotFound))
                                  : Result<int64_t>(id * 10);
    ASSERT_TRUE(forwarder_.AnswerRenew(id, std::move(ttl)));
  }
  for (int64_t id : ids) {
    etcdserverpb::LeaseKeepAliveResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.id(), id);
    EXPECT_EQ(response.ttl(), id == 4 ? 0 : id * 10);
    EXPECT_EQ(response.header().member_id(), 22u);
  }
  ASSERT_TRUE(stream->WritesDone());
  etcdserverpb::LeaseKeepAliveResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(LeaseServiceTest, ForwardedKeepAliveAnsweredAtOnce) {
  forwarder_.answer_inline = true;
  StartServer(LeaseServiceOptions{}, &forwarder_);
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  for (int64_t id = 1; id <= 50; ++id) WriteKeepAlive(stream.get(), id);
  ASSERT_TRUE(stream->WritesDone());
  for (int64_t id = 1; id <= 50; ++id) {
    etcdserverpb::LeaseKeepAliveResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.id(), id);
    EXPECT_EQ(response.ttl(), id * 10);
  }
  EXPECT_TRUE(stream->Finish().ok());
}

// etcd ends the stream with the renewal's error (clients retry on a new stream); the answers
// before it are still written, those after it never are.
TEST_F(LeaseServiceTest, ForwardingErrorEndsTheStreamAfterEarlierAnswers) {
  StartServer(LeaseServiceOptions{}, &forwarder_);
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  for (int64_t id : {1, 2, 3}) WriteKeepAlive(stream.get(), id);
  ASSERT_TRUE(Eventually([&] { return forwarder_.pending_renewals() == 3; }));
  ASSERT_TRUE(forwarder_.AnswerRenew(2, ErrNoLeader()));
  ASSERT_TRUE(forwarder_.AnswerRenew(3, Result<int64_t>(30)));
  ASSERT_TRUE(forwarder_.AnswerRenew(1, Result<int64_t>(10)));
  etcdserverpb::LeaseKeepAliveResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.id(), 1);
  EXPECT_EQ(response.ttl(), 10);
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "etcdserver: no leader");
}

// The client waits for its answers without sending more: the error still ends the stream
// while a read is outstanding.
TEST_F(LeaseServiceTest, ForwardingErrorEndsAnIdleStream) {
  StartServer(LeaseServiceOptions{}, &forwarder_);
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  WriteKeepAlive(stream.get(), 1);
  ASSERT_TRUE(Eventually([&] { return forwarder_.pending_renewals() == 1; }));
  ASSERT_TRUE(forwarder_.AnswerRenew(1, Unavailable("etcdserver: request timed out")));
  etcdserverpb::LeaseKeepAliveResponse response;
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "etcdserver: request timed out");
}

TEST_F(LeaseServiceTest, ForwardedKeepAlivesAtTheQueueLimit) {
  constexpr size_t kLimit = 2;
  constexpr int64_t kRequests = 7;
  LeaseServiceOptions options;
  options.max_keepalive_responses_queued = kLimit;
  StartServer(options, &forwarder_);
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  for (int64_t id = 1; id <= kRequests; ++id) WriteKeepAlive(stream.get(), id);
  ASSERT_TRUE(stream->WritesDone());
  for (int64_t id = 1; id <= kRequests; ++id) {
    // Exactly at the limit: the stream reads no further until an answer is written.
    ASSERT_TRUE(Eventually([&] {
      return forwarder_.pending_renewals() == std::min<size_t>(kLimit, kRequests - id + 1);
    }));
    EXPECT_EQ(forwarder_.renew_calls(), std::min<size_t>(kRequests, id + kLimit - 1));
    ASSERT_TRUE(forwarder_.AnswerRenew(id, Result<int64_t>(id)));
    etcdserverpb::LeaseKeepAliveResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.id(), id);
  }
  EXPECT_EQ(forwarder_.max_outstanding(), kLimit);
  etcdserverpb::LeaseKeepAliveResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(LeaseServiceTest, KeepAliveRenewsLocallyWhileLeading) {
  forwarder_.leader = true;
  StartServer(LeaseServiceOptions{}, &forwarder_);
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(1, 10, &granted).ok());
  clock_.AdvanceMs(6'000);
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  WriteKeepAlive(stream.get(), 1);
  etcdserverpb::LeaseKeepAliveResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.ttl(), 10);
  EXPECT_EQ(forwarder_.renew_calls(), 0u);
  EXPECT_EQ(lessor_.TimeToLive(1, false)->remaining_ttl_seconds, 10);

  // Leadership moves elsewhere: the next keepalive on the same stream is forwarded.
  forwarder_.leader = false;
  WriteKeepAlive(stream.get(), 1);
  ASSERT_TRUE(Eventually([&] { return forwarder_.pending_renewals() == 1; }));
  ASSERT_TRUE(forwarder_.AnswerRenew(1, Result<int64_t>(99)));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.ttl(), 99);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
}

// The client goes away while the leader has not answered: the late answer finds the stream's
// state still alive and is dropped.
TEST_F(LeaseServiceTest, ForwardedAnswerAfterTheClientCancelled) {
  StartServer(LeaseServiceOptions{}, &forwarder_);
  {
    grpc::ClientContext context;
    auto stream = stub_->LeaseKeepAlive(&context);
    WriteKeepAlive(stream.get(), 1);
    WriteKeepAlive(stream.get(), 2);
    ASSERT_TRUE(Eventually([&] { return forwarder_.pending_renewals() == 2; }));
    context.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ASSERT_TRUE(forwarder_.AnswerRenew(2, Result<int64_t>(20)));
  ASSERT_TRUE(forwarder_.AnswerRenew(1, Result<int64_t>(10)));
  // The service still works.
  forwarder_.answer_inline = true;
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  WriteKeepAlive(stream.get(), 3);
  etcdserverpb::LeaseKeepAliveResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.ttl(), 30);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(LeaseServiceTest, TimeToLiveIsForwarded) {
  StartServer(LeaseServiceOptions{}, &forwarder_);
  proposer_.refusal = Unavailable("no read barrier on a forwarded read");
  auto call = std::async(std::launch::async, [&] { return TimeToLive(5, true); });
  ASSERT_TRUE(Eventually([&] { return forwarder_.pending_reads() == 1; }));
  lease::TimeToLiveResult ttl;
  ttl.remaining_ttl_seconds = 7;
  ttl.granted_ttl_seconds = 30;
  ttl.keys = {"a", "b"};
  bool keys = false;
  ASSERT_TRUE(forwarder_.AnswerRead(5, ttl, &keys));
  EXPECT_TRUE(keys);
  etcdserverpb::LeaseTimeToLiveResponse response = call.get();
  EXPECT_EQ(response.id(), 5);
  EXPECT_EQ(response.ttl(), 7);
  EXPECT_EQ(response.grantedttl(), 30);
  ASSERT_EQ(response.keys_size(), 2);
  EXPECT_EQ(response.keys(1), "b");
  EXPECT_EQ(response.header().member_id(), 22u);

  // Missing on the leader: ttl -1, as etcd.
  call = std::async(std::launch::async, [&] { return TimeToLive(6, false); });
  ASSERT_TRUE(Eventually([&] { return forwarder_.pending_reads() == 1; }));
  ASSERT_TRUE(forwarder_.AnswerRead(6, NotFound(lease::kErrLeaseNotFound)));
  response = call.get();
  EXPECT_EQ(response.id(), 6);
  EXPECT_EQ(response.ttl(), -1);
}

TEST_F(LeaseServiceTest, ForwardedTimeToLiveError) {
  StartServer(LeaseServiceOptions{}, &forwarder_);
  auto call = std::async(std::launch::async, [&] {
    grpc::ClientContext context;
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(5);
    etcdserverpb::LeaseTimeToLiveResponse response;
    return stub_->LeaseTimeToLive(&context, request, &response);
  });
  ASSERT_TRUE(Eventually([&] { return forwarder_.pending_reads() == 1; }));
  ASSERT_TRUE(forwarder_.AnswerRead(5, Unavailable("etcdserver: request timed out")));
  grpc::Status s = call.get();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "etcdserver: request timed out");
}

TEST_F(LeaseServiceTest, TimeToLiveIsLocalWhileLeading) {
  forwarder_.leader = true;
  StartServer(LeaseServiceOptions{}, &forwarder_);
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(3, 60, &granted).ok());
  EXPECT_EQ(TimeToLive(3, false).ttl(), 60);
  EXPECT_EQ(forwarder_.pending_reads(), 0u);
}

// etcd refuses every Lease call on a learner (unary and stream) with Unavailable "etcdserver:
// rpc not supported for learner"; it turns on and off with the member's role.
TEST_F(LeaseServiceTest, LearnerRefusesTimeToLiveLeasesAndKeepAlive) {
  std::atomic<bool> learner{true};
  StartServer(LeaseServiceOptions{.is_learner = [&learner] { return learner.load(); }});
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(Grant(9, 30, &granted).ok());  // the proposer refuses grants on a real learner

  auto expect_refused = [](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(s.error_message(), "etcdserver: rpc not supported for learner");
  };
  {
    grpc::ClientContext context;
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(9);
    etcdserverpb::LeaseTimeToLiveResponse response;
    expect_refused(stub_->LeaseTimeToLive(&context, request, &response));
  }
  {
    grpc::ClientContext context;
    etcdserverpb::LeaseLeasesResponse response;
    expect_refused(stub_->LeaseLeases(&context, etcdserverpb::LeaseLeasesRequest(), &response));
  }
  {
    grpc::ClientContext context;
    auto stream = stub_->LeaseKeepAlive(&context);
    // The server may refuse the stream before this write reaches it (the write then fails);
    // either way no response comes and the stream ends with the refusal.
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(9);
    (void)stream->Write(request);
    etcdserverpb::LeaseKeepAliveResponse response;
    EXPECT_FALSE(stream->Read(&response));
    expect_refused(stream->Finish());
  }

  learner = false;  // promoted
  EXPECT_EQ(TimeToLive(9, false).grantedttl(), 30);
  grpc::ClientContext context;
  auto stream = stub_->LeaseKeepAlive(&context);
  WriteKeepAlive(stream.get(), 9);
  etcdserverpb::LeaseKeepAliveResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.ttl(), 30);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

}  // namespace
}  // namespace grid::kv::api
