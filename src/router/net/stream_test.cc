#include "router/net/stream.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "router/net/clock.h"
#include "router/net/socket.h"

namespace grid::router::net {
namespace {

// Records what a stream reports.
struct Recorder : StreamOwner {
  IoBuffer in;
  size_t max_capacity = 1 << 20;
  bool eof = false;
  int drained = 0;
  int connected = -1;
  bool paused = false;

  void OnStreamReadable(Stream* s) override {
    while (!paused && s->readable()) {
      Stream::ReadResult r = s->ReadInto(&in, max_capacity);
      if (r.status == Stream::ReadStatus::kEof) {
        eof = true;
        return;
      }
      if (r.status != Stream::ReadStatus::kData) return;
    }
  }
  void OnStreamDrained(Stream*) override { ++drained; }
  void OnStreamConnected(Stream*, int error) override { connected = error; }
};

// Runs the loop until `done` or 5 s pass.
bool RunUntil(EventLoop& loop, const std::function<bool()>& done) {
  const uint64_t deadline = MonotonicMs() + 5000;
  while (!done()) {
    if (MonotonicMs() > deadline) return false;
    loop.RunOnce(10);
  }
  return true;
}

class StreamPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    a_ = std::make_unique<Stream>(&loop_, fds[0], &ra_, false);
    b_ = std::make_unique<Stream>(&loop_, fds[1], &rb_, false);
    ASSERT_TRUE(a_->Register().ok());
    ASSERT_TRUE(b_->Register().ok());
  }

  EventLoop loop_;
  Recorder ra_, rb_;
  std::unique_ptr<Stream> a_, b_;
};

TEST_F(StreamPairTest, BytesArriveAndEofIsSeen) {
  ASSERT_TRUE(a_->Write("hello ", "world"));
  a_->ShutdownWriteWhenDrained();
  ASSERT_TRUE(RunUntil(loop_, [&] { return rb_.eof; }));
  EXPECT_EQ(rb_.in.readable(), "hello world");
}

TEST_F(StreamPairTest, UnsentBytesArePendingAndDrainLater) {
  // The reader is paused: the writer's socket buffer fills and the rest stays pending.
  rb_.paused = true;
  const std::string chunk(1 << 20, 'x');
  ASSERT_TRUE(a_->Write(chunk));
  ASSERT_TRUE(a_->Write(chunk));
  EXPECT_GT(a_->pending_write_bytes(), 0u);
  const size_t total = 2 * chunk.size();
  rb_.paused = false;
  rb_.OnStreamReadable(b_.get());
  ASSERT_TRUE(RunUntil(loop_, [&] {
    rb_.in.Consume(rb_.in.size());  // the reader consumes as it goes
    return a_->pending_write_bytes() == 0;
  }));
  EXPECT_GE(ra_.drained, 1);
  (void)total;
}

TEST_F(StreamPairTest, PausedReaderKeepsReadableAndResumesWithoutAnEvent) {
  rb_.paused = true;
  ASSERT_TRUE(a_->Write("abc"));
  ASSERT_TRUE(RunUntil(loop_, [&] { return b_->readable(); }));
  loop_.RunOnce(0);
  rb_.paused = false;
  rb_.OnStreamReadable(b_.get());  // what an owner does when it resumes
  EXPECT_EQ(rb_.in.readable(), "abc");
}

TEST_F(StreamPairTest, FullBufferStopsReadingAtItsLimit) {
  rb_.max_capacity = 4096;
  ASSERT_TRUE(a_->Write(std::string(10000, 'y')));
  ASSERT_TRUE(RunUntil(loop_, [&] { return rb_.in.size() == 4096; }));
  EXPECT_EQ(b_->ReadInto(&rb_.in, 4096).status, Stream::ReadStatus::kFull);
}

// Reads that fill their region ask for twice as much next time, within the buffer's limit.
TEST_F(StreamPairTest, ReadsThatFillTheirRegionGrowWithinTheBufferLimit) {
  const std::string chunk(64 * 1024, 'r');
  std::vector<size_t> sizes;
  for (size_t want : {kReadChunkBytes, 2 * kReadChunkBytes, 4 * kReadChunkBytes}) {
    ASSERT_TRUE(a_->Write(std::string_view(chunk).substr(0, want)));
    ASSERT_EQ(a_->pending_write_bytes(), 0u);
    Stream::ReadResult r = b_->ReadInto(&rb_.in, 1 << 20);
    ASSERT_EQ(r.status, Stream::ReadStatus::kData);
    sizes.push_back(r.bytes);
    rb_.in.Consume(rb_.in.size());
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{kReadChunkBytes, 2 * kReadChunkBytes,
                                        4 * kReadChunkBytes}));
  // Small reads bring the size back down, a halving per read of a quarter or less: the three
  // full reads above left it at 128 KiB, so after three small reads a read asks for the first
  // size again.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a_->Write("small"));
    ASSERT_EQ(b_->ReadInto(&rb_.in, 1 << 20).bytes, 5u);
    rb_.in.Consume(rb_.in.size());
  }
  rb_.in.Release();
  ASSERT_TRUE(a_->Write(std::string_view(chunk).substr(0, 2 * kReadChunkBytes)));
  EXPECT_EQ(b_->ReadInto(&rb_.in, 1 << 20).bytes, kReadChunkBytes);
  rb_.in.Consume(rb_.in.size());
  ASSERT_EQ(b_->ReadInto(&rb_.in, 1 << 20).bytes, kReadChunkBytes);  // the rest
  rb_.in.Consume(rb_.in.size());
  // With a 24 KiB limit the buffer never grows past it, however much is waiting.
  const size_t limit = 24 * 1024;
  rb_.in.Release();
  ASSERT_TRUE(a_->Write(chunk));
  size_t got = 0;
  while (got < chunk.size()) {
    Stream::ReadResult r = b_->ReadInto(&rb_.in, limit);
    ASSERT_EQ(r.status, Stream::ReadStatus::kData) << "after " << got << " bytes";
    EXPECT_LE(r.bytes, limit);
    EXPECT_LE(rb_.in.capacity(), limit);
    got += r.bytes;
    rb_.in.Consume(rb_.in.size());
  }
}

TEST_F(StreamPairTest, WriteToAClosedPeerFails) {
  b_->Close();
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) ok = a_->Write(std::string(65536, 'z'));
  // Either a write failed at once or the pending output can not drain: reading shows EOF.
  if (ok) {
    ASSERT_TRUE(RunUntil(loop_, [&] { return ra_.eof || a_->error() != 0; }));
  } else {
    EXPECT_NE(a_->error(), 0);
  }
}

TEST(StreamConnectTest, ConnectsToALoopbackListener) {
  EventLoop loop;
  Result<SocketAddress> any = ParseSocketAddress("127.0.0.1:0");
  ASSERT_TRUE(any.ok());
  Result<int> listener = Listen(*any, true);
  ASSERT_TRUE(listener.ok());
  Result<SocketAddress> bound = LocalAddress(*listener);
  ASSERT_TRUE(bound.ok());
  ASSERT_NE(bound->port(), 0);
  Result<int> fd = StartConnect(*bound);
  ASSERT_TRUE(fd.ok());
  Recorder r;
  Stream s(&loop, *fd, &r, true);
  ASSERT_TRUE(s.Register().ok());
  ASSERT_TRUE(s.Write("queued while connecting"));
  ASSERT_TRUE(RunUntil(loop, [&] { return r.connected >= 0; }));
  EXPECT_EQ(r.connected, 0);
  const int accepted = accept4(*listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);
  ASSERT_TRUE(RunUntil(loop, [&] { return s.pending_write_bytes() == 0; }));
  char buf[64] = {0};
  EXPECT_EQ(read(accepted, buf, sizeof buf), 23);
  close(accepted);
  close(*listener);
}

TEST(StreamConnectTest, RefusedConnectReportsTheError) {
  EventLoop loop;
  // A port that was just free: bind, read the port, close.
  Result<int> listener = Listen(ParseSocketAddress("127.0.0.1:0").value(), false);
  ASSERT_TRUE(listener.ok());
  SocketAddress addr = LocalAddress(*listener).value();
  close(*listener);
  Result<int> fd = StartConnect(addr);
  if (!fd.ok()) return;  // refused synchronously: also a refusal
  Recorder r;
  Stream s(&loop, *fd, &r, true);
  ASSERT_TRUE(s.Register().ok());
  ASSERT_TRUE(RunUntil(loop, [&] { return r.connected >= 0; }));
  EXPECT_EQ(r.connected, ECONNREFUSED);
}

TEST(ListenTest, ReusePortLetsEachLoopBindItsOwnSocket) {
  Result<int> first = Listen(ParseSocketAddress("127.0.0.1:0").value(), true);
  ASSERT_TRUE(first.ok());
  SocketAddress addr = LocalAddress(*first).value();
  Result<int> second = Listen(addr, true);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(LocalAddress(*second)->port(), addr.port());
  close(*first);
  close(*second);
}

TEST(SocketAddressTest, ParsesAndFormats) {
  EXPECT_EQ(ParseSocketAddress("127.0.0.1:8080")->ToString(), "127.0.0.1:8080");
  EXPECT_EQ(ParseSocketAddress("[::1]:80")->ToString(), "[::1]:80");
  EXPECT_EQ(ParseSocketAddress("[::1]:80")->HostText(), "::1");
  EXPECT_FALSE(ParseSocketAddress("127.0.0.1").ok());
  EXPECT_FALSE(ParseSocketAddress("127.0.0.1:65536").ok());
  EXPECT_FALSE(ParseSocketAddress("localhost:80").ok());
  EXPECT_TRUE(ResolveSocketAddress("localhost:80").ok());
}

}  // namespace
}  // namespace grid::router::net
