// The whole L4 server in-process against loopback echo backends: limits at the limit
// (connections per listener, connect attempts) and the stats they show.
#include "router/l4/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace grid::router::l4 {
namespace {

// A blocking echo server on 127.0.0.1:0, one thread per connection.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] {
      while (true) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard<std::mutex> lock(mu_);
        threads_.emplace_back([c] {
          char buf[4096];
          ssize_t n;
          while ((n = read(c, buf, sizeof buf)) > 0) {
            if (send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
          }
          close(c);
        });
      }
    });
  }
  ~EchoServer() {
    shutdown(fd_, SHUT_RDWR);
    accept_thread_.join();
    close(fd_);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : threads_) t.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

std::string DeadAddress() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

int Connect(const net::SocketAddress& address) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(connect(fd, address.get(), address.length), 0);
  return fd;
}

// Sends `text` and reads it back; "" when the connection was closed instead.
std::string Echo(int fd, const std::string& text) {
  if (send(fd, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) {
    return "";
  }
  std::string got;
  char buf[256];
  while (got.size() < text.size()) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return "";
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

Config MakeConfig(const std::string& listener_fields, const std::vector<std::string>& backends) {
  std::string yaml = "listeners:\n  - name: t\n    listen: \"127.0.0.1:0\"\n" + listener_fields +
                     "    backends:\n";
  for (const auto& b : backends) yaml += "      - {address: \"" + b + "\", weight: 1}\n";
  Result<Config> c = ParseConfig(yaml);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

nlohmann::json Listener0(const Server& s) {
  return nlohmann::json::parse(s.StatsJson())["listeners"][0];
}

TEST(L4ServerTest, MaxConnectionsAtTheLimit) {
  EchoServer echo;
  Server server(MakeConfig("    max_connections: 2\n", {echo.address()}), ServerOptions{2, 1});
  ASSERT_TRUE(server.Start().ok());
  const net::SocketAddress address = server.addresses()[0];
  const int a = Connect(address);
  const int b = Connect(address);
  EXPECT_EQ(Echo(a, "one"), "one");
  EXPECT_EQ(Echo(b, "two"), "two");
  // At the limit: the third is closed at accept.
  const int c = Connect(address);
  EXPECT_EQ(Echo(c, "three"), "");
  EXPECT_EQ(Listener0(server)["rejected_connections"], 1);
  EXPECT_EQ(Listener0(server)["active_connections"], 2);
  close(c);
  // A slot freed is usable again.
  close(a);
  ASSERT_TRUE(WaitFor([&] { return Listener0(server)["active_connections"] == 1; }));
  const int d = Connect(address);
  EXPECT_EQ(Echo(d, "four"), "four");
  EXPECT_EQ(Echo(b, "five"), "five");
  close(b);
  close(d);
  ASSERT_TRUE(WaitFor([&] { return server.Drained(); }));
  server.Stop();
}

// Smooth round robin over equal weights tries the backends in order: two dead ones first.
TEST(L4ServerTest, ConnectAttemptsAtTheLimit) {
  EchoServer echo;
  const std::vector<std::string> backends = {DeadAddress(), DeadAddress(), echo.address()};
  {
    Server server(MakeConfig("    connect_attempts: 3\n", backends), ServerOptions{1, 1});
    ASSERT_TRUE(server.Start().ok());
    const int fd = Connect(server.addresses()[0]);
    EXPECT_EQ(Echo(fd, "third try"), "third try");
    const nlohmann::json l = Listener0(server);
    EXPECT_EQ(l["backends"][0]["connect_failures"], 1);
    EXPECT_EQ(l["backends"][1]["connect_failures"], 1);
    EXPECT_EQ(l["backends"][2]["total_connections"], 1);
    EXPECT_EQ(l["no_backend"], 0);
    close(fd);
  }
  {
    Server server(MakeConfig("    connect_attempts: 2\n", backends), ServerOptions{1, 1});
    ASSERT_TRUE(server.Start().ok());
    const int fd = Connect(server.addresses()[0]);
    EXPECT_EQ(Echo(fd, "gives up"), "");
    const nlohmann::json l = Listener0(server);
    EXPECT_EQ(l["no_backend"], 1);
    EXPECT_EQ(l["backends"][2]["total_connections"], 0);
    close(fd);
  }
}

TEST(L4ServerTest, ReloadMovesNewConnectionsAndKeepsOldOnes) {
  EchoServer blue;
  EchoServer green;
  Server server(MakeConfig("", {blue.address()}), ServerOptions{1, 1});
  ASSERT_TRUE(server.Start().ok());
  const int old_conn = Connect(server.addresses()[0]);
  EXPECT_EQ(Echo(old_conn, "blue"), "blue");
  Config next = MakeConfig("", {blue.address(), green.address()});
  next.listeners[0].backends[0].weight = 0;
  ASSERT_TRUE(server.Reload(next).ok());
  const int new_conn = Connect(server.addresses()[0]);
  EXPECT_EQ(Echo(new_conn, "green"), "green");
  EXPECT_EQ(Echo(old_conn, "still blue"), "still blue");
  nlohmann::json l = Listener0(server);
  EXPECT_EQ(l["backends"][0]["active_connections"], 1);
  EXPECT_EQ(l["backends"][0]["weight"], 0);
  EXPECT_EQ(l["backends"][1]["active_connections"], 1);
  // Removing blue entirely: its open connection is still listed until it closes.
  ASSERT_TRUE(server.Reload(MakeConfig("", {green.address()})).ok());
  l = Listener0(server);
  ASSERT_EQ(l["backends"].size(), 2u);
  EXPECT_EQ(l["backends"][1]["in_config"], false);
  EXPECT_EQ(Echo(old_conn, "draining"), "draining");
  close(old_conn);
  close(new_conn);
  ASSERT_TRUE(WaitFor([&] { return server.Drained(); }));
}

}  // namespace
}  // namespace grid::router::l4
