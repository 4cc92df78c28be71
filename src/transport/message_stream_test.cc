// The message stream of plain-text peers: its wire format, the peer port that sorts and
// serves connections, and the sender's stream, each at its limits and failures. (Transport
// tests run every http:// exchange through them as well.)
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "router/net/socket.h"
#include "transport/codec.h"
#include "transport/message_stream.h"
#include "transport/peer_listener.h"
#include "transport/stream_wire.h"
#include "transport/transport_test_util.h"

namespace grid::transport {
namespace {

using namespace std::chrono_literals;
using testutil::Eventually;

CallHeader Header() { return CallHeader{7, raft::MemberId(1), raft::MemberId(2)}; }

TEST(StreamWireTest, HelloRoundTrips) {
  const std::string hello = EncodeHello(CallHeader{0xfeedULL, raft::MemberId(3), raft::MemberId(9)});
  ASSERT_EQ(hello.size(), kStreamHelloBytes);
  Result<CallHeader> h = DecodeHello(hello);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->cluster_id, 0xfeedULL);
  EXPECT_EQ(h->from, raft::MemberId(3));
  EXPECT_EQ(h->to, raft::MemberId(9));
  std::string bad = hello;
  bad[0] = 'X';
  EXPECT_EQ(DecodeHello(bad).status().code(), Code::kInvalidArgument);
}

TEST(StreamWireTest, FramesArrivingByteByByteComeOutWhole) {
  std::string wire = EncodeFrame(FrameType::kBatch, "first") + EncodeFrame(FrameType::kKeepalive, "") +
                     EncodeFrame(FrameType::kBatch, std::string(1000, 'z'));
  FrameReader reader(1000);
  std::vector<std::pair<FrameType, std::string>> got;
  for (char c : wire) {
    reader.Append(&c, 1);
    for (;;) {
      Result<std::optional<FrameView>> f = reader.Next();
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      if (!f->has_value()) break;
      got.emplace_back((*f)->type, std::string((*f)->payload));
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(FrameType::kBatch, std::string("first")));
  EXPECT_EQ(got[1], std::make_pair(FrameType::kKeepalive, std::string()));
  EXPECT_EQ(got[2].second, std::string(1000, 'z'));
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(StreamWireTest, PayloadOneOverTheLimitAndUnknownTypesAreRefused) {
  FrameReader at_limit(16);
  const std::string sixteen = EncodeFrame(FrameType::kBatch, std::string(16, 'a'));
  at_limit.Append(sixteen.data(), sixteen.size());
  ASSERT_TRUE(at_limit.Next().ok());

  FrameReader over(16);
  const std::string seventeen = EncodeFrame(FrameType::kBatch, std::string(17, 'a'));
  over.Append(seventeen.data(), kFrameHeadBytes);  // the head alone is enough to refuse
  EXPECT_EQ(over.Next().status().code(), Code::kResourceExhausted);

  FrameReader unknown(16);
  std::string bad = EncodeFrame(FrameType::kBatch, "x");
  bad[0] = 99;
  unknown.Append(bad.data(), bad.size());
  EXPECT_EQ(unknown.Next().status().code(), Code::kInvalidArgument);
}

TEST(StreamWireTest, EndCarriesCodeAndMessage) {
  const std::string end = EncodeEnd(FailedPrecondition("member 1 was removed from the cluster"));
  FrameReader reader(1024);
  reader.Append(end.data(), end.size());
  Result<std::optional<FrameView>> f = reader.Next();
  ASSERT_TRUE(f.ok() && f->has_value());
  Status s = DecodeEnd((*f)->payload);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "member 1 was removed from the cluster");
  EXPECT_EQ(DecodeEnd(std::string(1, char(200)) + "x").code(), Code::kInternal);
}

// A peer port with recorded handlers.
class PeerListenerTest : public ::testing::Test {
 protected:
  void StartListener(PeerListenerOptions lo = {}) {
    Result<std::unique_ptr<PeerListener>> l =
        PeerListener::Bind({ParsePeerUrl("http://127.0.0.1:0").value()}, lo);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    listener_ = std::move(l).value();
    url_ = ParsePeerUrl("http://127.0.0.1:" + std::to_string(listener_->ports()[0])).value();
    ASSERT_TRUE(listener_
                    ->Start(PeerListenerHandlers{
                        .adopt_http2 =
                            [this](int fd) {
                              std::lock_guard l(mu_);
                              adopted_.push_back(fd);
                            },
                        .admit = [this](const CallHeader& h) { return admit_(h); },
                        .deliver =
                            [this](raft::MemberId from, const peerpb::MessageBatch& b) {
                              std::lock_guard l(mu_);
                              for (const peerpb::Message& m : b.messages()) {
                                delivered_.push_back(m.index());
                              }
                              EXPECT_EQ(from, raft::MemberId(1));
                              return deliver_status_;
                            }})
                    .ok());
  }

  void TearDown() override {
    if (listener_) listener_->Stop();
    for (int fd : adopted_) close(fd);
  }

  // A raw TCP connection to the port.
  int Dial() {
    auto address = router::net::ParseSocketAddress("127.0.0.1:" + std::to_string(url_.port));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(connect(fd, address->get(), address->length), 0);
    return fd;
  }

  // True when the port closes `fd` within 5 s (a reset when it left bytes unread).
  static bool ClosedByPeer(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return false;
    char c;
    const ssize_t n = recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  std::unique_ptr<MessageStream> NewStream(const TransportOptions& o) {
    return NewSocketMessageStream(url_, Header(), &o);
  }

  static peerpb::MessageBatch Batch(uint64_t index, size_t payload = 8) {
    peerpb::MessageBatch b;
    EncodeMessage(testutil::App(1, 2, index, payload), b.add_messages());
    return b;
  }

  std::unique_ptr<PeerListener> listener_;
  PeerUrl url_;
  std::function<Status(const CallHeader&)> admit_ = [](const CallHeader&) { return Status::Ok(); };
  std::mutex mu_;
  std::vector<int> adopted_;
  std::vector<uint64_t> delivered_;
  Status deliver_status_;
  TransportOptions options_ = testutil::TestOptions(7, 1, "/nonexistent");
};

TEST_F(PeerListenerTest, BatchesArriveInTheOrderWritten) {
  StartListener();
  auto stream = NewStream(options_);
  ASSERT_TRUE(stream->Open().ok());
  for (uint64_t i = 1; i <= 500; ++i) ASSERT_TRUE(stream->Write(Batch(i, i * 10)));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard l(mu_);
    return delivered_.size() == 500;
  }));
  for (uint64_t i = 1; i <= 500; ++i) EXPECT_EQ(delivered_[i - 1], i);
  std::thread watcher([&] { stream->WaitForEnd(); });
  stream->Cancel();
  watcher.join();
  EXPECT_EQ(stream->Finish().code(), Code::kCancelled);
  EXPECT_TRUE(Eventually([&] { return listener_->connections() == 0; }));
}

// TryWrite never blocks: with the receiver not reading it stops where the connection is full,
// and CompleteWrite (or Write, when nothing of the batch went) delivers the rest, in order.
TEST_F(PeerListenerTest, TryWriteStopsWhereTheConnectionIsFull) {
  StartListener();
  auto stream = NewStream(options_);
  ASSERT_TRUE(stream->Open().ok());
  constexpr size_t kPayloadBytes = 256 * 1024;
  // 512 batches of 256 KiB are far more than loopback's socket buffers hold.
  constexpr uint64_t kMaxBatches = 512;
  std::unique_lock hold(mu_);  // the receiver's deliver waits for it: nothing more is read
  uint64_t written = 0;
  MessageStream::TryWriteResult last = MessageStream::TryWriteResult::kWritten;
  while (written < kMaxBatches) {
    last = stream->TryWrite(Batch(written + 1, kPayloadBytes));
    if (last != MessageStream::TryWriteResult::kWritten) break;
    ++written;
  }
  ASSERT_NE(last, MessageStream::TryWriteResult::kWritten) << "the connection never filled";
  ASSERT_GE(written, 1u);
  bool rest_sent = false;
  std::thread rest([&] {
    rest_sent = last == MessageStream::TryWriteResult::kPartial
                    ? stream->CompleteWrite()
                    : stream->Write(Batch(written + 1, kPayloadBytes));
  });
  hold.unlock();
  rest.join();
  EXPECT_TRUE(rest_sent);
  ASSERT_TRUE(stream->Write(Batch(written + 2)));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard l(mu_);
    return delivered_.size() == written + 2;
  }));
  for (uint64_t i = 1; i <= written + 2; ++i) EXPECT_EQ(delivered_[i - 1], i);
  std::thread watcher([&] { stream->WaitForEnd(); });
  stream->Cancel();
  watcher.join();
}

TEST_F(PeerListenerTest, RefusalComesBackAsTheReceiversStatus) {
  admit_ = [](const CallHeader& h) {
    return FailedPrecondition("cluster ID mismatch: " + std::to_string(h.cluster_id));
  };
  StartListener();
  Status s = NewStream(options_)->Open();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("cluster ID mismatch: 7"), std::string::npos) << s.ToString();
}

TEST_F(PeerListenerTest, ABatchTheReceiverRefusesEndsTheStreamWithItsStatus) {
  StartListener();
  deliver_status_ = FailedPrecondition("member 1 was removed from the cluster");
  auto stream = NewStream(options_);
  ASSERT_TRUE(stream->Open().ok());
  ASSERT_TRUE(stream->Write(Batch(1)));
  stream->WaitForEnd();
  Status s = stream->Finish();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(s.message(), "member 1 was removed from the cluster");
}

TEST_F(PeerListenerTest, FrameAtTheLimitIsServedOnePastEndsTheStream) {
  const peerpb::MessageBatch fits = Batch(1, 4000);
  PeerListenerOptions lo;
  lo.max_frame_bytes = fits.ByteSizeLong();
  StartListener(lo);
  auto stream = NewStream(options_);
  ASSERT_TRUE(stream->Open().ok());
  ASSERT_TRUE(stream->Write(fits));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard l(mu_);
    return delivered_.size() == 1;
  }));
  ASSERT_TRUE(stream->Write(Batch(2, 4001)));
  stream->WaitForEnd();
  EXPECT_EQ(stream->Finish().code(), Code::kResourceExhausted);
  std::lock_guard l(mu_);
  EXPECT_EQ(delivered_.size(), 1u);
}

TEST_F(PeerListenerTest, GarbageAndSilenceAreClosed) {
  PeerListenerOptions lo;
  lo.handshake_timeout = 200ms;
  StartListener(lo);
  int garbage = Dial();
  ASSERT_EQ(send(garbage, "GET /members HTTP/1.1\r\n\r\n", 25, 0), 25);
  EXPECT_TRUE(ClosedByPeer(garbage));
  close(garbage);
  int silent = Dial();
  EXPECT_TRUE(ClosedByPeer(silent));  // after handshake_timeout
  close(silent);
  int half_hello = Dial();
  ASSERT_EQ(send(half_hello, kStreamMagic.data(), kStreamMagic.size(), 0),
            static_cast<ssize_t>(kStreamMagic.size()));
  EXPECT_TRUE(ClosedByPeer(half_hello));
  close(half_hello);
}

TEST_F(PeerListenerTest, Http2ConnectionsAreHandedOverWithTheirBytesUnread) {
  StartListener();
  int fd = Dial();
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  ASSERT_EQ(send(fd, preface.data(), preface.size(), 0), static_cast<ssize_t>(preface.size()));
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard l(mu_);
    return adopted_.size() == 1;
  }));
  std::string got(preface.size(), '\0');
  size_t have = 0;
  ASSERT_TRUE(Eventually([&] {
    ssize_t n = recv(adopted_[0], got.data() + have, got.size() - have, MSG_DONTWAIT);
    if (n > 0) have += static_cast<size_t>(n);
    return have == got.size();
  }));
  EXPECT_EQ(got, preface);
  close(fd);
}

TEST_F(PeerListenerTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  PeerListenerOptions lo;
  lo.max_connections = 2;
  StartListener(lo);
  int a = Dial(), b = Dial();
  ASSERT_TRUE(Eventually([&] { return listener_->connections() == 2; }));
  int c = Dial();
  EXPECT_TRUE(ClosedByPeer(c));
  EXPECT_EQ(listener_->connections(), 2u);
  close(a);
  ASSERT_TRUE(Eventually([&] { return listener_->connections() == 1; }));
  auto stream = NewStream(options_);
  EXPECT_TRUE(stream->Open().ok());  // room again
  close(b);
  close(c);
}

TEST_F(PeerListenerTest, StopEndsOpenStreams) {
  StartListener();
  auto stream = NewStream(options_);
  ASSERT_TRUE(stream->Open().ok());
  std::thread watcher([&] { stream->WaitForEnd(); });
  listener_->Stop();
  watcher.join();
  EXPECT_EQ(stream->Finish().code(), Code::kUnavailable);
  EXPECT_FALSE(stream->Write(Batch(1)));
}

// A port that accepts and answers kAccepted, then says nothing: no keepalive ever comes.
TEST(SocketMessageStreamTest, SilenceLongerThanKeepaliveEndsTheStream) {
  auto address = router::net::ParseSocketAddress("127.0.0.1:0").value();
  int listen_fd = router::net::Listen(address, false).value();
  const int port = router::net::LocalAddress(listen_fd)->port();
  std::atomic<int> accepted{-1};
  std::thread peer([&] {
    pollfd p{listen_fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    char hello[kStreamHelloBytes];
    ASSERT_EQ(recv(fd, hello, sizeof hello, MSG_WAITALL), static_cast<ssize_t>(sizeof hello));
    const std::string ok = EncodeFrame(FrameType::kAccepted, {});
    ASSERT_EQ(send(fd, ok.data(), ok.size(), 0), static_cast<ssize_t>(ok.size()));
    accepted = fd;
  });
  TransportOptions o = testutil::TestOptions(7, 1, "/nonexistent");
  o.keepalive_interval = 100ms;
  o.keepalive_timeout = 100ms;
  auto stream = NewSocketMessageStream(
      ParsePeerUrl("http://127.0.0.1:" + std::to_string(port)).value(), Header(), &o);
  ASSERT_TRUE(stream->Open().ok());
  peer.join();
  stream->WaitForEnd();
  Status s = stream->Finish();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("keepalive"), std::string::npos) << s.ToString();
  close(accepted);
  close(listen_fd);
}

// A port that accepts and never answers the hello: Cancel() ends the wait for the answer.
TEST(SocketMessageStreamTest, CancelEndsAnOpenThatWaitsForAnswer) {
  auto address = router::net::ParseSocketAddress("127.0.0.1:0").value();
  int listen_fd = router::net::Listen(address, false).value();
  const int port = router::net::LocalAddress(listen_fd)->port();
  TransportOptions o = testutil::TestOptions(7, 1, "/nonexistent");
  o.dial_timeout = 60s;
  auto stream = NewSocketMessageStream(
      ParsePeerUrl("http://127.0.0.1:" + std::to_string(port)).value(), Header(), &o);
  Status opened;
  std::atomic<bool> done{false};
  std::thread opener([&] {
    opened = stream->Open();
    done = true;
  });
  std::this_thread::yield();
  stream->Cancel();
  opener.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(opened.code(), Code::kUnavailable) << opened.ToString();
  close(listen_fd);
}

TEST(SocketMessageStreamTest, NobodyListeningIsUnavailable) {
  auto address = router::net::ParseSocketAddress("127.0.0.1:0").value();
  int listen_fd = router::net::Listen(address, false).value();
  const int port = router::net::LocalAddress(listen_fd)->port();
  close(listen_fd);  // the port is free again: connections are refused
  TransportOptions o = testutil::TestOptions(7, 1, "/nonexistent");
  Status s = NewSocketMessageStream(ParsePeerUrl("http://127.0.0.1:" + std::to_string(port)).value(),
                                    Header(), &o)
                 ->Open();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("cannot connect to http://127.0.0.1:"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace grid::transport
