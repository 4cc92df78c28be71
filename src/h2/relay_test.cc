// Calls the method table does not hold, relayed to a fallback gRPC server (the gRPC library's,
// as in gridkv) through UnaryServer: unary and streaming calls, errors, metadata, flow control
// over many windows in both directions, cancellation, a fallback that cannot be reached or
// goes away. The client is the real gRPC client with etcd's generated stubs.
#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "etcd/rpc.grpc.pb.h"
#include "h2/unary_server.h"

namespace grid::h2 {
namespace {

using std::chrono::milliseconds;

// Snapshot streams this many chunks of kChunkBytes: several connection windows (16 MiB).
constexpr int kSnapshotChunks = 160;
constexpr size_t kChunkBytes = 256 * 1024;

char ChunkByte(int chunk) { return static_cast<char>('a' + chunk % 26); }

class FallbackLease final : public etcdserverpb::Lease::Service {
 public:
  grpc::Status LeaseGrant(grpc::ServerContext* ctx, const etcdserverpb::LeaseGrantRequest* req,
                          etcdserverpb::LeaseGrantResponse* resp) override {
    resp->set_id(req->ttl() * 2);
    auto token = ctx->client_metadata().find("token");
    if (token != ctx->client_metadata().end()) {
      resp->set_error(std::string(token->second.data(), token->second.size()));
    }
    return grpc::Status::OK;
  }
  grpc::Status LeaseRevoke(grpc::ServerContext*, const etcdserverpb::LeaseRevokeRequest*,
                           etcdserverpb::LeaseRevokeResponse*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "etcdserver: requested lease not found");
  }
};

class FallbackWatch final : public etcdserverpb::Watch::Service {
 public:
  // One answer per request (watch_id = the key's size); key "hold": waits for cancellation.
  grpc::Status Watch(grpc::ServerContext* ctx,
                     grpc::ServerReaderWriter<etcdserverpb::WatchResponse,
                                              etcdserverpb::WatchRequest>* stream) override {
    etcdserverpb::WatchRequest req;
    while (stream->Read(&req)) {
      if (req.create_request().key() == "hold") {
        holding.store(true);
        while (!ctx->IsCancelled()) std::this_thread::sleep_for(milliseconds(5));
        cancelled.store(true);
        return grpc::Status::CANCELLED;
      }
      etcdserverpb::WatchResponse resp;
      resp.set_watch_id(static_cast<int64_t>(req.create_request().key().size()));
      resp.set_created(true);
      if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
  }
  std::atomic<bool> holding{false};
  std::atomic<bool> cancelled{false};
};

class FallbackMaintenance final : public etcdserverpb::Maintenance::Service {
 public:
  grpc::Status Snapshot(grpc::ServerContext*, const etcdserverpb::SnapshotRequest*,
                        grpc::ServerWriter<etcdserverpb::SnapshotResponse>* writer) override {
    for (int i = 0; i < kSnapshotChunks; ++i) {
      etcdserverpb::SnapshotResponse resp;
      resp.set_blob(std::string(kChunkBytes, ChunkByte(i)));
      resp.set_remaining_bytes(static_cast<uint64_t>(kSnapshotChunks - 1 - i) * kChunkBytes);
      if (!writer->Write(resp)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
    }
    return grpc::Status::OK;
  }
};

class FallbackCluster final : public etcdserverpb::Cluster::Service {
 public:
  // Answers with the request's byte count (as the member's ID): proof the body came whole.
  grpc::Status MemberAdd(grpc::ServerContext*, const etcdserverpb::MemberAddRequest* req,
                         etcdserverpb::MemberAddResponse* resp) override {
    uint64_t bytes = 0;
    for (const std::string& url : req->peerurls()) {
      for (char c : url) {
        if (c != 'u') return grpc::Status(grpc::StatusCode::DATA_LOSS, "corrupted body");
      }
      bytes += url.size();
    }
    resp->mutable_member()->set_id(bytes);
    return grpc::Status::OK;
  }
};

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(8 * 1024 * 1024);
    builder.RegisterService(&lease_);
    builder.RegisterService(&watch_);
    builder.RegisterService(&maintenance_);
    builder.RegisterService(&cluster_);
    fallback_ = builder.BuildAndStart();
    ASSERT_NE(fallback_, nullptr);
  }

  void TearDown() override {
    server_.reset();  // closes the relays first: the fallback's calls end
    if (fallback_) fallback_->Shutdown(std::chrono::system_clock::now() + milliseconds(2000));
    for (int fd : peer_ends_) close(fd);
  }

  // The dialer gridkv uses: a socket pair whose other end the fallback serves.
  Result<int> DialFallback() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
      return Unavailable("socketpair failed");
    }
    dials_.fetch_add(1);
    grpc::AddInsecureChannelFromFd(fallback_.get(), sv[1]);
    return sv[0];
  }

  void StartServer(std::function<Result<int>()> dial, const std::string& authority = "") {
    MethodTable methods;
    methods["/etcdserverpb.KV/Range"] = [](UnaryCall call, Responder responder) {
      etcdserverpb::RangeRequest req;
      ASSERT_TRUE(req.ParseFromArray(call.message().data(),
                                     static_cast<int>(call.message().size())));
      etcdserverpb::RangeResponse resp;
      resp.set_count(static_cast<int64_t>(req.key().size()));
      responder.Finish(FrameMessage(resp));
    };
    ServerOptions options;
    options.dial_fallback = std::move(dial);
    auto server = UnaryServer::Start(options, std::move(methods));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    auto address = router::net::ParseSocketAddress("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    auto port = server_->Listen(*address);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(8 * 1024 * 1024);
    if (!authority.empty()) args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, authority);
    channel_ = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(*port),
                                         grpc::InsecureChannelCredentials(), args);
  }

  static void SetDeadline(grpc::ClientContext* ctx, milliseconds after = milliseconds(20000)) {
    ctx->set_deadline(std::chrono::system_clock::now() + after);
  }

  template <typename Pred>
  static bool WaitFor(Pred pred, milliseconds limit = milliseconds(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(2));
    }
    return true;
  }

  FallbackLease lease_;
  FallbackWatch watch_;
  FallbackMaintenance maintenance_;
  FallbackCluster cluster_;
  std::unique_ptr<grpc::Server> fallback_;
  std::atomic<int> dials_{0};
  std::vector<int> peer_ends_;
  std::unique_ptr<UnaryServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(RelayTest, RelaysUnaryCallsWithMetadataAndErrorsBesideTableCalls) {
  StartServer([this] { return DialFallback(); });
  auto lease = etcdserverpb::Lease::NewStub(channel_);
  auto kv = etcdserverpb::KV::NewStub(channel_);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    ctx.AddMetadata("token", "tok-" + std::to_string(i));
    etcdserverpb::LeaseGrantRequest req;
    req.set_ttl(10 + i);
    etcdserverpb::LeaseGrantResponse resp;
    grpc::Status s = lease->LeaseGrant(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    EXPECT_EQ(resp.id(), 2 * (10 + i));
    EXPECT_EQ(resp.error(), "tok-" + std::to_string(i));

    grpc::ClientContext range_ctx;
    SetDeadline(&range_ctx);
    etcdserverpb::RangeRequest range;
    range.set_key("abcd");
    etcdserverpb::RangeResponse range_resp;
    ASSERT_TRUE(kv->Range(&range_ctx, range, &range_resp).ok());
    EXPECT_EQ(range_resp.count(), 4);  // served by the table, not relayed
  }
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  etcdserverpb::LeaseRevokeResponse resp;
  grpc::Status s = lease->LeaseRevoke(&ctx, etcdserverpb::LeaseRevokeRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "etcdserver: requested lease not found");
  EXPECT_EQ(dials_.load(), 1);  // one fallback connection per client connection
}

// etcd's Go client dials one member (Maintenance.Status on an endpoint) with the endpoint
// URL as :authority, which is not a valid HTTP authority; gRPC servers take it.
TEST_F(RelayTest, AnAuthorityThatIsAUrlIsServedAndRelayed) {
  StartServer([this] { return DialFallback(); }, "http://localhost:20000");
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(3);
  etcdserverpb::LeaseGrantResponse resp;
  grpc::Status s = etcdserverpb::Lease::NewStub(channel_)->LeaseGrant(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(resp.id(), 6);
  grpc::ClientContext range_ctx;
  SetDeadline(&range_ctx);
  etcdserverpb::RangeRequest range;
  range.set_key("xy");
  etcdserverpb::RangeResponse range_resp;
  s = etcdserverpb::KV::NewStub(channel_)->Range(&range_ctx, range, &range_resp);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(range_resp.count(), 2);
}

TEST_F(RelayTest, RelaysABidirectionalStreamToItsEnd) {
  StartServer([this] { return DialFallback(); });
  auto watch = etcdserverpb::Watch::NewStub(channel_);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  auto stream = watch->Watch(&ctx);
  for (const std::string key : {"a", "bb", "ccc"}) {
    etcdserverpb::WatchRequest req;
    req.mutable_create_request()->set_key(key);
    ASSERT_TRUE(stream->Write(req));
    etcdserverpb::WatchResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.watch_id(), static_cast<int64_t>(key.size()));
    EXPECT_TRUE(resp.created());
  }
  ASSERT_TRUE(stream->WritesDone());
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
}

TEST_F(RelayTest, ServerStreamOfManyWindowsArrivesWhole) {
  StartServer([this] { return DialFallback(); });
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  for (int round = 0; round < 2; ++round) {  // twice: the windows must come back each time
    grpc::ClientContext ctx;
    SetDeadline(&ctx, milliseconds(60000));
    auto reader = maintenance->Snapshot(&ctx, etcdserverpb::SnapshotRequest());
    etcdserverpb::SnapshotResponse resp;
    int chunks = 0;
    while (reader->Read(&resp)) {
      ASSERT_EQ(resp.blob(), std::string(kChunkBytes, ChunkByte(chunks))) << "chunk " << chunks;
      ++chunks;
    }
    grpc::Status s = reader->Finish();
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    EXPECT_EQ(chunks, kSnapshotChunks);
  }
}

TEST_F(RelayTest, RequestBodiesOfManyWindowsArriveWhole) {
  StartServer([this] { return DialFallback(); });
  auto cluster = etcdserverpb::Cluster::NewStub(channel_);
  constexpr size_t kUrlBytes = 1024 * 1024;
  for (int i = 0; i < 24; ++i) {  // 24 MiB through a 16 MiB connection window
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    etcdserverpb::MemberAddRequest req;
    req.add_peerurls(std::string(kUrlBytes, 'u'));
    etcdserverpb::MemberAddResponse resp;
    grpc::Status s = cluster->MemberAdd(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << "call " << i << ": " << s.error_code() << " " << s.error_message();
    EXPECT_EQ(resp.member().id(), kUrlBytes);
  }
}

TEST_F(RelayTest, ClientCancellationReachesTheFallback) {
  StartServer([this] { return DialFallback(); });
  auto watch = etcdserverpb::Watch::NewStub(channel_);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  auto stream = watch->Watch(&ctx);
  etcdserverpb::WatchRequest req;
  req.mutable_create_request()->set_key("hold");
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(WaitFor([this] { return watch_.holding.load(); }));
  ctx.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([this] { return watch_.cancelled.load(); }));
}

TEST_F(RelayTest, UnreachableFallbackIsUnavailable) {
  StartServer([] { return Result<int>(Unavailable("no fallback here")); });
  auto lease = etcdserverpb::Lease::NewStub(channel_);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  etcdserverpb::LeaseGrantResponse resp;
  grpc::Status s = lease->LeaseGrant(&ctx, etcdserverpb::LeaseGrantRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "cannot reach the fallback server: no fallback here");
}

TEST_F(RelayTest, LostFallbackConnectionEndsItsCallsUnavailableAndIsDialedAgain) {
  // The first dial gets a socket whose other end nobody serves; the test closes it.
  std::atomic<int> silent_end{-1};
  StartServer([this, &silent_end]() -> Result<int> {
    if (silent_end.load() != -1) return DialFallback();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
      return Unavailable("socketpair failed");
    }
    silent_end.store(sv[1]);
    return sv[0];
  });
  auto lease = etcdserverpb::Lease::NewStub(channel_);
  std::thread closer([&silent_end] {
    while (silent_end.load() == -1) std::this_thread::sleep_for(milliseconds(2));
    close(silent_end.load());
  });
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  etcdserverpb::LeaseGrantResponse resp;
  grpc::Status s = lease->LeaseGrant(&ctx, etcdserverpb::LeaseGrantRequest(), &resp);
  closer.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.error_message(), "connection to the fallback server lost");

  grpc::ClientContext again;
  SetDeadline(&again);
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(7);
  s = lease->LeaseGrant(&again, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(resp.id(), 14);
}

}  // namespace
}  // namespace grid::h2
