// The relay over socketpairs: bytes both ways, half-close, back-pressure against a peer that
// does not read, idle timeout, and a failed side closing both.
#include "router/l4/relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "router/net/socket.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace grid::router::l4 {
namespace {

class Recorder : public Relay::Observer {
 public:
  void OnRelayBytes(bool to_backend, size_t bytes) override { (to_backend ? up : down) += bytes; }
  void OnRelayEnd(Relay::End e) override {
    EXPECT_FALSE(end.has_value()) << "ended twice";
    end = e;
  }
  size_t up = 0;
  size_t down = 0;
  std::optional<Relay::End> end;
};

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

class RelayTest : public ::testing::Test {
 protected:
  void Build(size_t buffer_bytes, uint64_t idle_timeout_ms, int socket_buffer_bytes = 0) {
    int c[2];
    int b[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    client_app_ = c[0];
    backend_app_ = b[1];
    for (int fd : {c[0], c[1], b[0], b[1]}) {
      SetNonBlocking(fd);
      if (socket_buffer_bytes > 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &socket_buffer_bytes, sizeof socket_buffer_bytes);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &socket_buffer_bytes, sizeof socket_buffer_bytes);
      }
    }
    ASSERT_TRUE(loop_.init_status().ok());
    auto client = std::make_unique<net::Stream>(&loop_, c[1], nullptr, false);
    auto backend = std::make_unique<net::Stream>(&loop_, b[0], nullptr, false);
    // Registered before the relay takes them (it becomes their owner before any event runs).
    ASSERT_TRUE(client->Register().ok());
    ASSERT_TRUE(backend->Register().ok());
    Relay::Options options;
    options.buffer_bytes = buffer_bytes;
    options.idle_timeout_ms = idle_timeout_ms;
    relay_ =
        std::make_unique<Relay>(&loop_, std::move(client), std::move(backend), options, &recorder_);
    relay_->Start();
  }

  void TearDown() override {
    relay_.reset();
    if (client_app_ >= 0) close(client_app_);
    if (backend_app_ >= 0) close(backend_app_);
  }

  // Runs the loop until `done` or a 5 s deadline; false on the deadline.
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop_.RunOnce(5);
    }
    return true;
  }

  // Reads what is available on a blocking-free fd; returns -1 on EOF, else bytes read.
  static ssize_t Drain(int fd, std::string* into) {
    char buf[65536];
    ssize_t total = 0;
    while (true) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        into->append(buf, static_cast<size_t>(n));
        total += n;
        continue;
      }
      if (n == 0) return -1;
      return total;
    }
  }

  net::EventLoop loop_;
  Recorder recorder_;
  std::unique_ptr<Relay> relay_;
  int client_app_ = -1;
  int backend_app_ = -1;
};

TEST_F(RelayTest, BytesFlowBothWays) {
  Build(4096, 10000);
  ASSERT_EQ(write(client_app_, "hello", 5), 5);
  std::string at_backend;
  ASSERT_TRUE(RunUntil([&] {
    Drain(backend_app_, &at_backend);
    return at_backend.size() == 5;
  }));
  EXPECT_EQ(at_backend, "hello");
  ASSERT_EQ(write(backend_app_, "world!", 6), 6);
  std::string at_client;
  ASSERT_TRUE(RunUntil([&] {
    Drain(client_app_, &at_client);
    return at_client.size() == 6;
  }));
  EXPECT_EQ(at_client, "world!");
  EXPECT_EQ(recorder_.up, 5u);
  EXPECT_EQ(recorder_.down, 6u);
  EXPECT_FALSE(recorder_.end.has_value());
  // Idle: no buffer storage kept.
  EXPECT_EQ(relay_->buffer_capacity_bytes(), 0u);
}

TEST_F(RelayTest, HalfClosePassesOnAndTheOtherWayKeepsFlowing) {
  Build(4096, 10000);
  ASSERT_EQ(write(client_app_, "request", 7), 7);
  ASSERT_EQ(shutdown(client_app_, SHUT_WR), 0);
  std::string at_backend;
  bool backend_eof = false;
  ASSERT_TRUE(RunUntil([&] { return backend_eof = Drain(backend_app_, &at_backend) < 0; }));
  EXPECT_EQ(at_backend, "request");
  // The backend still answers after the client's end of input.
  EXPECT_FALSE(relay_->finished());
  ASSERT_EQ(write(backend_app_, "response", 8), 8);
  std::string at_client;
  ASSERT_TRUE(RunUntil([&] {
    Drain(client_app_, &at_client);
    return at_client.size() == 8;
  }));
  EXPECT_EQ(at_client, "response");
  EXPECT_FALSE(relay_->finished());
  ASSERT_EQ(shutdown(backend_app_, SHUT_WR), 0);
  ASSERT_TRUE(RunUntil([&] { return recorder_.end.has_value(); }));
  EXPECT_EQ(*recorder_.end, Relay::End::kDone);
  std::string rest;
  EXPECT_EQ(Drain(client_app_, &rest), -1);
}

TEST_F(RelayTest, BackPressureBoundsMemoryWhenThePeerDoesNotRead) {
  constexpr size_t kBuffer = 4096;  // the relay's buffer_bytes limit
  Build(kBuffer, 10000, /*socket_buffer_bytes=*/4096);
  std::string sent;
  const std::string chunk(8192, 'x');  // larger than one read may take
  size_t counter = 0;
  size_t max_buffered = 0;
  size_t max_capacity = 0;
  int idle_rounds = 0;
  // Write until neither the writer nor the relay make progress: the backend never reads.
  while (idle_rounds < 50) {
    std::string data = chunk;
    for (char& ch : data) ch = static_cast<char>('a' + (counter++ % 26));
    const ssize_t n = write(client_app_, data.data(), data.size());
    if (n > 0) {
      sent.append(data.data(), static_cast<size_t>(n));
      counter -= data.size() - static_cast<size_t>(n);
      idle_rounds = 0;
    } else {
      ASSERT_EQ(errno, EAGAIN);
      counter -= data.size();
      ++idle_rounds;
    }
    loop_.RunOnce(1);
    max_buffered = std::max(max_buffered, relay_->buffered_bytes());
    max_capacity = std::max(max_capacity, relay_->buffer_capacity_bytes());
    ASSERT_LT(sent.size(), 64u * 1024 * 1024) << "the writer was never stopped";
  }
  // The relay holds at most one read's worth of unsent output; the writer was pushed back.
  EXPECT_LE(max_buffered, kBuffer);
  EXPECT_GT(max_buffered, 0u);
  // The documented bound: a read buffer and unsent output per direction.
  EXPECT_LE(max_capacity, 2 * 2 * kBuffer);
  std::printf("buffer_bytes %zu: held at most %zu bytes, storage at most %zu bytes\n", kBuffer,
              max_buffered, max_capacity);
  // Now the backend reads: everything arrives, in order.
  std::string received;
  ASSERT_TRUE(RunUntil([&] {
    Drain(backend_app_, &received);
    return received.size() == sent.size();
  }));
  EXPECT_EQ(received, sent);
  EXPECT_EQ(recorder_.up, sent.size());
  // Idle again: no storage kept.
  ASSERT_TRUE(RunUntil([&] { return relay_->buffer_capacity_bytes() == 0; }));
}

TEST_F(RelayTest, IdleTimeoutClosesBothSides) {
  Build(4096, 30);
  ASSERT_TRUE(RunUntil([&] { return recorder_.end.has_value(); }));
  EXPECT_EQ(*recorder_.end, Relay::End::kIdleTimeout);
  std::string s;
  EXPECT_EQ(Drain(client_app_, &s), -1);
  EXPECT_EQ(Drain(backend_app_, &s), -1);
}

TEST_F(RelayTest, TrafficPostponesTheIdleTimeout) {
  Build(4096, 200);
  const auto start = std::chrono::steady_clock::now();
  std::string at_backend;
  // Keep talking for longer than the idle timeout: the relay stays open.
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(600)) {
    ASSERT_EQ(write(client_app_, "p", 1), 1);
    for (int i = 0; i < 10; ++i) loop_.RunOnce(5);
    Drain(backend_app_, &at_backend);
    ASSERT_FALSE(recorder_.end.has_value());
  }
  ASSERT_TRUE(RunUntil([&] { return recorder_.end.has_value(); }));
  EXPECT_EQ(*recorder_.end, Relay::End::kIdleTimeout);
}

TEST_F(RelayTest, AFailedSideClosesBoth) {
  Build(4096, 10000);
  close(client_app_);
  client_app_ = -1;
  // The backend keeps sending to a client that is gone: the write fails and both close.
  ASSERT_TRUE(RunUntil([&] {
    if (!recorder_.end) {
      [[maybe_unused]] ssize_t n = send(backend_app_, "data", 4, MSG_NOSIGNAL);
    }
    return recorder_.end.has_value();
  }));
  EXPECT_EQ(*recorder_.end, Relay::End::kError);
  std::string s;
  EXPECT_TRUE(RunUntil([&] { return Drain(backend_app_, &s) == -1; }));
}

// Loopback TCP: a backend that resets makes the relay reset the client too.
TEST(RelayTcpTest, ABackendResetIsPassedOnToTheClient) {
  net::EventLoop loop;
  ASSERT_TRUE(loop.init_status().ok());
  auto pair = [] {
    const int l = net::Listen(net::ParseSocketAddress("127.0.0.1:0").value(), false).value();
    const net::SocketAddress a = net::LocalAddress(l).value();
    const int c = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(connect(c, a.get(), a.length), 0);
    int s = -1;
    while (s < 0) s = accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    close(l);
    return std::pair<int, int>(c, s);  // blocking app end, non-blocking relay end
  };
  auto [client_app, client_relay] = pair();
  auto [backend_app, backend_relay] = pair();
  auto client = std::make_unique<net::Stream>(&loop, client_relay, nullptr, false);
  auto backend = std::make_unique<net::Stream>(&loop, backend_relay, nullptr, false);
  ASSERT_TRUE(client->Register().ok());
  ASSERT_TRUE(backend->Register().ok());
  Recorder recorder;
  Relay relay(&loop, std::move(client), std::move(backend), Relay::Options{}, &recorder);
  relay.Start();
  const linger abort{1, 0};
  setsockopt(backend_app, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  close(backend_app);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!recorder.end && std::chrono::steady_clock::now() < deadline) loop.RunOnce(5);
  ASSERT_TRUE(recorder.end.has_value());
  EXPECT_EQ(*recorder.end, Relay::End::kError);
  char buf[16];
  EXPECT_EQ(read(client_app, buf, sizeof buf), -1);
  EXPECT_EQ(errno, ECONNRESET);
  close(client_app);
}

}  // namespace
}  // namespace grid::router::l4
