// UnaryServer against the real gRPC client library (etcd's generated KV stub): answers,
// errors, limits, answers from other threads, clients that go away.
#include "h2/unary_server.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/worker_pool.h"
#include "etcd/rpc.grpc.pb.h"

namespace grid::h2 {
namespace {

using std::chrono::milliseconds;

constexpr size_t kSmallMaxRequestBytes = 64 * 1024;

// Range answers at once on the loop: count = the key's size, the key echoed in kvs[0].
void AnswerRange(UnaryCall call, Responder responder) {
  etcdserverpb::RangeRequest req;
  ASSERT_TRUE(req.ParseFromArray(call.message().data(), static_cast<int>(call.message().size())));
  etcdserverpb::RangeResponse resp;
  resp.set_count(static_cast<int64_t>(req.key().size()));
  resp.add_kvs()->set_key(req.key());
  for (const auto& [name, value] : call.metadata) {
    if (name == "token") resp.add_kvs()->set_key("token=" + value);
  }
  if (call.timeout) resp.mutable_header()->set_revision(1);  // a grpc-timeout arrived
  responder.Finish(FrameMessage(resp));
}

class UnaryServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    MethodTable methods;
    methods["/etcdserverpb.KV/Range"] = &AnswerRange;
    // Put answers from another thread: revision = the value's size. Key "on-loop": that thread
    // hands the answer back to the call's loop (RunOnLoop): revision 7 when it ran there.
    methods["/etcdserverpb.KV/Put"] = [this](UnaryCall call, Responder responder) {
      auto shared = std::make_shared<Responder>(std::move(responder));
      auto message = std::make_shared<std::string>(call.message());
      const std::thread::id loop_thread = std::this_thread::get_id();
      ASSERT_TRUE(pool_.Post([shared, message, loop_thread] {
        etcdserverpb::PutRequest req;
        ASSERT_TRUE(req.ParseFromString(*message));
        if (req.key() == "on-loop") {
          shared->RunOnLoop([shared, loop_thread] {
            etcdserverpb::PutResponse resp;
            resp.mutable_header()->set_revision(std::this_thread::get_id() == loop_thread ? 7 : -7);
            shared->Finish(FrameMessage(resp));
          });
          return;
        }
        etcdserverpb::PutResponse resp;
        resp.mutable_header()->set_revision(static_cast<int64_t>(req.value().size()));
        shared->Finish(FrameMessage(resp));
      }));
    };
    // Txn fails with a message that needs percent-encoding.
    methods["/etcdserverpb.KV/Txn"] = [](UnaryCall, Responder responder) {
      responder.Fail(GrpcCode::kFailedPrecondition, "100% failed: \xc3\xa9tat\n");
    };
    // DeleteRange drops its responder unanswered.
    methods["/etcdserverpb.KV/DeleteRange"] = [](UnaryCall, Responder) {};
    // Compact keeps its responder until the test answers it.
    methods["/etcdserverpb.KV/Compact"] = [this](UnaryCall, Responder responder) {
      std::lock_guard<std::mutex> lock(held_mu_);
      held_.push_back(std::move(responder));
      held_count_.fetch_add(1);
    };
    Result<std::unique_ptr<UnaryServer>> server = UnaryServer::Start(options, std::move(methods));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    Result<router::net::SocketAddress> address = router::net::ParseSocketAddress("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    Result<uint16_t> port = server_->Listen(*address);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    target_ = "127.0.0.1:" + std::to_string(*port);
  }

  std::unique_ptr<etcdserverpb::KV::Stub> NewStub() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    return etcdserverpb::KV::NewStub(
        grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args));
  }

  static void SetDeadline(grpc::ClientContext* ctx, milliseconds after = milliseconds(10000)) {
    ctx->set_deadline(std::chrono::system_clock::now() + after);
  }

  // Polls (up to 10 s) until a Compact call has reached its handler.
  void WaitForHeldCall() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (held_count_.load() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
  }

  WorkerPool pool_{2, 10000};
  std::unique_ptr<UnaryServer> server_;
  std::string target_;
  std::mutex held_mu_;
  std::vector<Responder> held_;
  std::atomic<int> held_count_{0};
};

TEST_F(UnaryServerTest, AnswersOnTheLoopAndPassesMetadataAndTimeout) {
  StartServer();
  auto stub = NewStub();
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  ctx.AddMetadata("token", "abc");
  etcdserverpb::RangeRequest req;
  req.set_key("hello");
  etcdserverpb::RangeResponse resp;
  grpc::Status s = stub->Range(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(resp.count(), 5);
  ASSERT_EQ(resp.kvs_size(), 2);
  EXPECT_EQ(resp.kvs(0).key(), "hello");
  EXPECT_EQ(resp.kvs(1).key(), "token=abc");
  EXPECT_EQ(resp.header().revision(), 1);
}

TEST_F(UnaryServerTest, AnswersFromAnotherThread) {
  StartServer();
  auto stub = NewStub();
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  etcdserverpb::PutRequest req;
  req.set_key("k");
  req.set_value(std::string(1000, 'v'));
  etcdserverpb::PutResponse resp;
  grpc::Status s = stub->Put(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(resp.header().revision(), 1000);
}

TEST_F(UnaryServerTest, RunOnLoopRunsOnTheLoopOfTheCall) {
  ServerOptions options;
  options.threads = 2;
  StartServer(options);
  for (int i = 0; i < 4; ++i) {  // new connections, spread over both loops
    auto stub = NewStub();
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    etcdserverpb::PutRequest req;
    req.set_key("on-loop");
    etcdserverpb::PutResponse resp;
    grpc::Status s = stub->Put(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    EXPECT_EQ(resp.header().revision(), 7);
  }
}

TEST_F(UnaryServerTest, FailureCarriesCodeAndDecodedMessage) {
  StartServer();
  auto stub = NewStub();
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  etcdserverpb::TxnRequest req;
  etcdserverpb::TxnResponse resp;
  grpc::Status s = stub->Txn(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "100% failed: \xc3\xa9tat\n");
}

TEST_F(UnaryServerTest, UnknownMethodAndStreamingMethodAreUnimplemented) {
  StartServer();
  auto stub = NewStub();
  {
    grpc::ClientContext ctx;  // a unary method the table does not hold
    SetDeadline(&ctx);
    etcdserverpb::Lease::Stub lease(
        grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
    etcdserverpb::LeaseGrantRequest grant;
    etcdserverpb::LeaseGrantResponse granted;
    grpc::Status s = lease.LeaseGrant(&ctx, grant, &granted);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_EQ(s.error_message(), "unknown method /etcdserverpb.Lease/LeaseGrant");
  }
  {
    grpc::ClientContext ctx;  // a streaming call gets the same answer
    SetDeadline(&ctx);
    etcdserverpb::Watch::Stub watch(
        grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
    auto stream = watch.Watch(&ctx);
    etcdserverpb::WatchResponse resp;
    EXPECT_FALSE(stream->Read(&resp));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
}

TEST_F(UnaryServerTest, RequestAtTheLimitIsServedAndOneByteOverIsRefused) {
  ServerOptions options;
  options.max_request_bytes = kSmallMaxRequestBytes;
  StartServer(options);
  auto stub = NewStub();
  etcdserverpb::PutRequest req;
  req.set_key("k");
  req.set_value("");
  // Body = prefix + message; grow the value until the body is exactly at the limit.
  const size_t overhead = kMessagePrefixBytes + req.ByteSizeLong();
  req.set_value(std::string(kSmallMaxRequestBytes - overhead, 'v'));
  while (kMessagePrefixBytes + req.ByteSizeLong() > kSmallMaxRequestBytes) {
    req.mutable_value()->pop_back();  // the length varint grew
  }
  ASSERT_EQ(kMessagePrefixBytes + req.ByteSizeLong(), kSmallMaxRequestBytes);
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    etcdserverpb::PutResponse resp;
    grpc::Status s = stub->Put(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    EXPECT_EQ(resp.header().revision(), static_cast<int64_t>(req.value().size()));
  }
  req.mutable_value()->push_back('v');
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    etcdserverpb::PutResponse resp;
    grpc::Status s = stub->Put(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  }
  {
    grpc::ClientContext ctx;  // the connection still serves
    SetDeadline(&ctx);
    etcdserverpb::RangeRequest range;
    range.set_key("after");
    etcdserverpb::RangeResponse resp;
    ASSERT_TRUE(stub->Range(&ctx, range, &resp).ok());
    EXPECT_EQ(resp.count(), 5);
  }
}

TEST_F(UnaryServerTest, DroppedResponderAnswersInternal) {
  StartServer();
  auto stub = NewStub();
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  etcdserverpb::DeleteRangeRequest req;
  etcdserverpb::DeleteRangeResponse resp;
  grpc::Status s = stub->DeleteRange(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message(), "call dropped by the server");
}

TEST_F(UnaryServerTest, AnswerAfterTheClientGaveUpGoesNowhere) {
  StartServer();
  auto stub = NewStub();
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    grpc::Status status;
    std::thread call([&] {
      etcdserverpb::CompactionRequest req;
      etcdserverpb::CompactionResponse resp;
      status = stub->Compact(&ctx, req, &resp);
    });
    WaitForHeldCall();
    ctx.TryCancel();  // the client resets the stream
    call.join();
    ASSERT_EQ(held_count_.load(), 1);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  }
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    etcdserverpb::CompactionResponse late;
    held_[0].Finish(FrameMessage(late));  // its stream is gone: dropped
  }
  grpc::ClientContext ctx;  // the connection still serves
  SetDeadline(&ctx);
  etcdserverpb::RangeRequest req;
  req.set_key("still");
  etcdserverpb::RangeResponse resp;
  ASSERT_TRUE(stub->Range(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.count(), 5);
}

// A closed stream is freed at once: nghttp2 would otherwise keep up to
// max_concurrent_streams closed ones per connection.
TEST_F(UnaryServerTest, KeepsNoRecordOfClosedStreams) {
  ServerOptions options;
  options.max_concurrent_streams = 16;
  StartServer(options);
  auto stub = NewStub();
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    etcdserverpb::RangeRequest req;
    req.set_key("k");
    etcdserverpb::RangeResponse resp;
    ASSERT_TRUE(stub->Range(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(server_->StreamsHeld(), 0u);

  // A call waiting for its answer is held, and freed once answered.
  grpc::Status status;
  std::thread call([&] {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    etcdserverpb::CompactionRequest req;
    etcdserverpb::CompactionResponse resp;
    status = stub->Compact(&ctx, req, &resp);
  });
  WaitForHeldCall();
  ASSERT_EQ(held_count_.load(), 1);
  EXPECT_EQ(server_->StreamsHeld(), 1u);
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    held_[0].Finish(FrameMessage(etcdserverpb::CompactionResponse()));
  }
  call.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(server_->StreamsHeld(), 0u);
}

TEST_F(UnaryServerTest, ManyClientsOnSeveralLoopsGetTheirOwnAnswers) {
  ServerOptions options;
  options.threads = 2;
  StartServer(options);
  constexpr int kClients = 8;
  constexpr int kCallsPerClient = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([this, c, &wrong] {
      auto stub = NewStub();
      for (int i = 0; i < kCallsPerClient; ++i) {
        grpc::ClientContext ctx;
        SetDeadline(&ctx);
        etcdserverpb::PutRequest req;
        req.set_key("k");
        req.set_value(std::string(static_cast<size_t>(c * 1000 + i), 'v'));
        etcdserverpb::PutResponse resp;
        grpc::Status s = stub->Put(&ctx, req, &resp);
        if (!s.ok() || resp.header().revision() != c * 1000 + i) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(GrpcWireTest, FramesAndUnframes) {
  const std::string framed = Frame("abc");
  ASSERT_EQ(framed.size(), kMessagePrefixBytes + 3);
  EXPECT_EQ(framed.substr(0, 5), std::string("\0\0\0\0\x03", 5));
  Result<std::string_view> m = UnframeOne(framed);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, "abc");
  EXPECT_EQ(UnframeOne(Frame("")).value(), "");
}

TEST(GrpcWireTest, RefusesShortCompressedAndMismatchedBodies) {
  EXPECT_FALSE(UnframeOne(std::string("\0\0\0", 3)).ok());
  EXPECT_FALSE(UnframeOne(std::string("\1\0\0\0\0", 5)).ok());  // compressed flag
  EXPECT_FALSE(UnframeOne(std::string("\0\0\0\0\x02" "a", 6)).ok());  // says 2, holds 1
  EXPECT_FALSE(UnframeOne(Frame("ab") + Frame("c")).ok());  // two messages
  EXPECT_EQ(UnframeOne(std::string("\0\0\0\0\x02" "a", 6)).status().message(),
            "grpc: message prefix says 2 bytes, the body holds 1 (a unary request carries "
            "exactly one message)");
}

TEST(GrpcWireTest, ParsesEveryTimeoutUnitAndRefusesMalformedOnes) {
  using namespace std::chrono;
  EXPECT_EQ(ParseTimeout("1H"), nanoseconds(hours(1)));
  EXPECT_EQ(ParseTimeout("2M"), nanoseconds(minutes(2)));
  EXPECT_EQ(ParseTimeout("3S"), nanoseconds(seconds(3)));
  EXPECT_EQ(ParseTimeout("4m"), nanoseconds(milliseconds(4)));
  EXPECT_EQ(ParseTimeout("5u"), nanoseconds(microseconds(5)));
  EXPECT_EQ(ParseTimeout("99999999n"), nanoseconds(99999999));
  EXPECT_EQ(ParseTimeout("99999999H"), nanoseconds(hours(99999999)));  // 8 digits: the limit
  EXPECT_EQ(ParseTimeout("123456789S"), std::nullopt);                // 9 digits
  EXPECT_EQ(ParseTimeout("S"), std::nullopt);
  EXPECT_EQ(ParseTimeout("1"), std::nullopt);
  EXPECT_EQ(ParseTimeout("1x"), std::nullopt);
  EXPECT_EQ(ParseTimeout("-1S"), std::nullopt);
}

TEST(GrpcWireTest, PercentEncodesWhatGrpcMessageCannotCarry) {
  EXPECT_EQ(PercentEncode("plain text"), "plain text");
  EXPECT_EQ(PercentEncode("100%"), "100%25");
  EXPECT_EQ(PercentEncode("a\nb\xc3\xa9"), "a%0Ab%C3%A9");
  EXPECT_EQ(std::string(StatusText(GrpcCode::kUnauthenticated)), "16");
  EXPECT_EQ(std::string(StatusText(GrpcCode::kOk)), "0");
}

}  // namespace
}  // namespace grid::h2
