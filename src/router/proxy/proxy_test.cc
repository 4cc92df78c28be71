// The proxy's pieces in one process: local answers, cookie lookup, the upstream pool's idle
// limit, and a ProxyServer on loopback in front of a small blocking backend, for the limits
// a black-box test can not see (connections per loop, back-pressure).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "router/http/message.h"
#include "router/net/clock.h"
#include "router/proxy/local_answer.h"
#include "router/proxy/proxy_server.h"
#include "router/proxy/route.h"
#include "router/table/yaml_source.h"

namespace grid::router::proxy {
namespace {

bool PollUntil(const std::function<bool()>& done, uint64_t timeout_ms = 5000) {
  const uint64_t deadline = net::MonotonicMs() + timeout_ms;
  while (!done()) {
    if (net::MonotonicMs() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST(LocalAnswerTest, Format) {
  std::string out;
  AppendLocalAnswer(503, "no backend\n", 7, false, "abc", &out);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
            "Retry-After: 7\r\nX-Request-Id: abc\r\nConnection: close\r\n\r\nno backend\n");
  out.clear();
  AppendLocalAnswer(421, "", 0, true, "", &out);
  EXPECT_EQ(out,
            "HTTP/1.1 421 Misdirected Request\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"
            "Connection: keep-alive\r\n\r\n");
}

TEST(CookieLookupTest, FindsExactNamesAcrossFields) {
  http::HeaderField fields[] = {{"Cookie", "a=1; tenant=acme"}, {"cookie", "x=\"quoted\" ;y=2"}};
  CookieLookup cookies(fields);
  EXPECT_EQ(cookies.Get("tenant"), "acme");
  EXPECT_EQ(cookies.Get("x"), "quoted");
  EXPECT_EQ(cookies.Get("y"), "2");
  EXPECT_EQ(cookies.Get("Tenant"), std::nullopt);
  EXPECT_EQ(cookies.Get("b"), std::nullopt);
}

class NullUser : public UpstreamUser {
 public:
  void OnUpstreamConnected(UpstreamConn*, int e) override { connected += e == 0 ? 1 : 0; }
  void OnUpstreamReadable(UpstreamConn*) override {}
  void OnUpstreamDrained(UpstreamConn*) override {}
  int connected = 0;
};

TEST(UpstreamPoolTest, KeepsAtMostTheIdleLimitPerBackend) {
  net::EventLoop loop;
  const int listener = net::Listen(net::ParseSocketAddress("127.0.0.1:0").value(), false).value();
  const net::SocketAddress addr = net::LocalAddress(listener).value();
  const size_t kLimit = 2;
  UpstreamPool pool(&loop, kLimit);
  BackendSlot* slot = pool.Slot(addr.ToString(), nullptr);
  NullUser user;
  std::vector<UpstreamConn*> conns;
  for (size_t i = 0; i < kLimit + 1; ++i) conns.push_back(pool.Connect(slot, &user).value());
  ASSERT_TRUE(PollUntil([&] {
    loop.RunOnce(5);
    return user.connected == static_cast<int>(kLimit + 1);
  }));
  EXPECT_EQ(slot->active, kLimit + 1);
  for (UpstreamConn* c : conns) pool.Release(c, 60000);
  EXPECT_EQ(pool.idle_count(), kLimit);  // the one over the limit was closed
  EXPECT_EQ(slot->active, 0u);
  UpstreamConn* again = pool.TakeIdle(slot, &user);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->reuse_count(), 1u);
  pool.Discard(again);
  pool.CloseIdle();
  EXPECT_EQ(pool.idle_count(), 0u);
  loop.RunOnce(0);
  close(listener);
}

// Accepts waiting connections on a non-blocking listener; returns how many.
int AcceptAll(int listener) {
  int n = 0;
  for (int fd; (fd = accept4(listener, nullptr, nullptr, 0)) >= 0; ++n) close(fd);
  return n;
}

TEST(UpstreamPoolTest, ASlotFollowsItsNameInTheAddressBookAndDropsIdleConnectionsWhenItMoves) {
  net::EventLoop loop;
  const int first = net::Listen(net::ParseSocketAddress("127.0.0.1:0").value(), false).value();
  const int second = net::Listen(net::ParseSocketAddress("127.0.0.1:0").value(), false).value();
  std::string target = net::LocalAddress(first).value().ToString();
  int lookups = 0;
  const net::ResolveFn dns = [&](std::string_view) {
    ++lookups;
    return net::ParseSocketAddress(target);
  };
  auto book = net::AddressBook::Build({"backend.test:1"}, dns);
  UpstreamPool pool(&loop, 4);
  BackendSlot* slot = pool.Slot("backend.test:1", book.get());
  ASSERT_TRUE(slot->resolve_status.ok()) << slot->resolve_status.ToString();
  EXPECT_EQ(slot->resolved.ToString(), target);
  NullUser user;
  UpstreamConn* conn = pool.Connect(slot, &user).value();
  ASSERT_TRUE(PollUntil([&] {
    loop.RunOnce(5);
    return user.connected == 1;
  }));
  pool.Release(conn, 60000);
  EXPECT_EQ(pool.Slot("backend.test:1", book.get()), slot);
  EXPECT_EQ(pool.idle_count(), 1u);  // same book: kept
  EXPECT_EQ(lookups, 1);             // the pool itself never resolves

  target = net::LocalAddress(second).value().ToString();
  auto moved = book->Refreshed(dns);
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(pool.Slot("backend.test:1", moved.get()), slot);
  EXPECT_EQ(slot->resolved.ToString(), target);
  EXPECT_EQ(pool.idle_count(), 0u);  // it led to the old address
  conn = pool.Connect(slot, &user).value();
  ASSERT_TRUE(PollUntil([&] {
    loop.RunOnce(5);
    return user.connected == 2;
  }));
  EXPECT_EQ(AcceptAll(second), 1);
  EXPECT_EQ(AcceptAll(first), 1);  // only the first connection went there
  pool.Discard(conn);
  loop.RunOnce(0);
  close(first);
  close(second);
}

TEST(UpstreamPoolTest, ANameTheBookDoesNotHoldIsAnErrorNotALookup) {
  net::EventLoop loop;
  UpstreamPool pool(&loop, 4);
  auto book = net::AddressBook::Build({"127.0.0.1:9"}, [](std::string_view) -> Result<net::SocketAddress> {
    ADD_FAILURE() << "numeric addresses need no resolver";
    return Unavailable("no");
  });
  BackendSlot* slot = pool.Slot("localhost:9", book.get());
  EXPECT_FALSE(slot->resolve_status.ok());
  EXPECT_NE(slot->resolve_status.message().find("not a numeric IP"), std::string::npos)
      << slot->resolve_status.message();
  NullUser user;
  EXPECT_FALSE(pool.Connect(slot, &user).ok());
  EXPECT_TRUE(pool.Slot("127.0.0.1:9", book.get())->resolve_status.ok());
}

// A blocking backend: answers "/big" with kBigBytes (counting what it sent), anything else
// with "ok". One thread per connection.
class TestBackend {
 public:
  static constexpr size_t kBigBytes = 64 * 1024 * 1024;

  TestBackend() {
    listener_ = net::Listen(net::ParseSocketAddress("127.0.0.1:0").value(), false).value();
    address_ = net::LocalAddress(listener_).value().ToString();
    thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TestBackend() {
    stop_ = true;
    shutdown(listener_, SHUT_RDWR);
    thread_.join();
    for (auto& t : conns_) t.join();
    close(listener_);
  }
  const std::string& address() const { return address_; }
  size_t big_sent() const { return big_sent_.load(); }
  void set_close_after_answer(bool v) { close_after_answer_ = v; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int fd = accept4(listener_, nullptr, nullptr, 0);
      if (fd < 0) continue;
      conns_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    timeval tv{0, 50000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string in;
    char buf[4096];
    while (!stop_) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == 0) break;
      if (n < 0) continue;  // timeout: check stop_
      in.append(buf, static_cast<size_t>(n));
      const size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      const bool big = in.starts_with("GET /big ");
      in.erase(0, end + 4);
      if (!big) {
        const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        send(fd, ok.data(), ok.size(), MSG_NOSIGNAL);
        if (close_after_answer_) break;  // without saying so: the proxy pools a dead connection
        continue;
      }
      const std::string head =
          "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kBigBytes) + "\r\n\r\n";
      send(fd, head.data(), head.size(), MSG_NOSIGNAL);
      const std::string block(64 * 1024, 'b');
      size_t left = kBigBytes;
      while (left > 0 && !stop_) {
        const ssize_t s = send(fd, block.data(), std::min(left, block.size()), MSG_NOSIGNAL);
        if (s < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
          break;
        }
        left -= static_cast<size_t>(s);
        big_sent_ += static_cast<size_t>(s);
      }
    }
    close(fd);
  }

  int listener_ = -1;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> close_after_answer_{false};
  std::atomic<size_t> big_sent_{0};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

class ProxyServerTest : public ::testing::Test {
 protected:
  void StartProxy(const ProxyLimits& limits) {
    const std::string yaml =
        "router:\n  unknown_tenant: {cell: c1}\ncells:\n  c1:\n    backends: [{address: \"" +
        backend_.address() + "\"}]\ntenants: {}\n";
    auto source = table::YamlToSource(yaml, "/grid/routes");
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    auto table = table::BuildTable(*source, 1);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    tables_.Set(*table);
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.limits = limits;
    server_ = std::make_unique<ProxyServer>(options, &tables_, nullptr, &log_);
    ASSERT_TRUE(server_->Start().ok());
  }

  int Connect() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const net::SocketAddress& a = server_->address();
    EXPECT_EQ(connect(fd, a.get(), a.length), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }

  std::string Stat(const std::string& name) {
    const std::string json = server_->StatsJson();
    const size_t at = json.find("\"" + name + "\":");
    return json.substr(at + name.size() + 3, json.find_first_of(",}", at) - at - name.size() - 3);
  }

  TestBackend backend_;
  TableHolder tables_;
   
  AccessLog log_;
  std::unique_ptr<ProxyServer> server_;
};

TEST_F(ProxyServerTest, ConnectionsOverThePerLoopLimitAreClosedAtAccept) {
  ProxyLimits limits;
  limits.max_client_connections_per_loop = 2;
  StartProxy(limits);
  const int a = Connect();
  const int b = Connect();
  ASSERT_TRUE(PollUntil([&] { return Stat("connections_active") == "2"; }));
  const int c = Connect();
  char byte;
  EXPECT_EQ(recv(c, &byte, 1, 0), 0);  // closed at once
  EXPECT_EQ(Stat("connections_refused"), "1");
  // At the limit the two accepted connections are served.
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(a, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  char buf[512];
  ssize_t n = recv(a, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_TRUE(std::string(buf, static_cast<size_t>(n)).starts_with("HTTP/1.1 200 OK"));
  close(a);
  close(b);
  close(c);
}

TEST_F(ProxyServerTest, ASlowClientStopsTheUpstreamInsteadOfGrowingBuffers) {
  ProxyLimits limits;
  limits.max_pending_write_bytes = 64 * 1024;
  StartProxy(limits);
  const int fd = Connect();
  const std::string req = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  // The client reads nothing: the backend's sending must stall far below the body size
  // (socket buffers on both hops plus the proxy's limit and one input buffer).
  size_t last = 0;
  ASSERT_TRUE(PollUntil([&] {
    const size_t now = backend_.big_sent();
    const bool stalled = now > 0 && now == last;
    last = now;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return stalled;
  }));
  EXPECT_LT(backend_.big_sent(), TestBackend::kBigBytes / 2);
  // Reading resumes the flow to the end.
  size_t got = 0;
  char buf[65536];
  while (got < TestBackend::kBigBytes) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got += static_cast<size_t>(n);
  }
  EXPECT_GE(got, TestBackend::kBigBytes);
  close(fd);
}

TEST_F(ProxyServerTest, ABackendClosingPooledConnectionsCostsNoFailedRequest) {
  backend_.set_close_after_answer(true);
  StartProxy(ProxyLimits{});
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 20; ++i) {
    const int fd = Connect();
    ASSERT_EQ(send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    std::string got;
    char buf[512];
    while (got.find("\r\n\r\nok") == std::string::npos) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << "request " << i << " got " << got;
      got.append(buf, static_cast<size_t>(n));
    }
    EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK")) << got;
    close(fd);
  }
  // Counted after the last byte is written: the client may see it first.
  EXPECT_TRUE(PollUntil([&] { return Stat("responses_2xx") == "20"; })) << server_->StatsJson();
}

// Drain: a connection accepted before the drain that has not sent its request yet gets
// drain_first_request_grace_ms to send it (answered, then closed); one that stays silent
// is closed once the grace is over; a keep-alive connection that already served a request
// is closed at once when idle.
TEST_F(ProxyServerTest, DrainGivesFreshConnectionsTheirFirstRequest) {
  ProxyLimits limits;
  limits.drain_first_request_grace_ms = 300;
  StartProxy(limits);
  const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  char buf[512];
  const int served = Connect();
  ASSERT_EQ(send(served, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  ASSERT_GT(recv(served, buf, sizeof buf, 0), 0);
  const int fresh = Connect();
  const int silent = Connect();
  ASSERT_TRUE(PollUntil([&] { return Stat("connections_active") == "3"; }));

  server_->BeginDrain();
  EXPECT_EQ(recv(served, buf, sizeof buf, 0), 0);  // idle keep-alive: closed
  ASSERT_EQ(send(fresh, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string got;
  while (true) {
    const ssize_t n = recv(fresh, buf, sizeof buf, 0);
    ASSERT_GE(n, 0);
    if (n == 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK")) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
  EXPECT_EQ(recv(silent, buf, sizeof buf, 0), 0);  // after the grace
  EXPECT_TRUE(PollUntil([&] { return server_->Drained(); }));
  close(served);
  close(fresh);
  close(silent);
}

}  // namespace
}  // namespace grid::router::proxy
