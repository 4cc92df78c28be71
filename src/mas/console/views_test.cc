#include "mas/console/views.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace grid::mas::console {
namespace {

TEST(AdminPortsTest, TakesTheReplicasAdminPortsInOrder) {
  nlohmann::json op = {{"fleet",
                        {{"replicas",
                          {{{"color", "blue"}, {"adminPort", 18101}},
                           {{"color", "blue"}},
                           {{"adminPort", 0}},
                           {{"adminPort", "x"}},
                           {{"adminPort", 18102}}}}}}};
  EXPECT_EQ(AdminPorts(op), (std::vector<int>{18101, 18102}));
  EXPECT_TRUE(AdminPorts(nullptr).empty());
  EXPECT_TRUE(AdminPorts({{"fleet", 3}}).empty());
  EXPECT_TRUE(AdminPorts({{"fleet", {{"replicas", "none"}}}}).empty());
}

TEST(AdminPortsTest, StopsAtTheLimit) {
  nlohmann::json replicas = nlohmann::json::array();
  for (size_t i = 0; i < kMaxAdminReplicasTried + 1; ++i) {
    replicas.push_back({{"adminPort", 20000 + static_cast<int>(i)}});
  }
  std::vector<int> ports = AdminPorts({{"fleet", {{"replicas", replicas}}}});
  ASSERT_EQ(ports.size(), kMaxAdminReplicasTried);
  EXPECT_EQ(ports.back(), 20000 + static_cast<int>(kMaxAdminReplicasTried) - 1);
}

// A stand-in admin server on a loopback port.
class AdminServer {
 public:
  AdminServer() {
    server_.Get("/routes", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"revision": 7, "tenants": 3})", "application/json");
    });
    server_.Get("/cells", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("no route table yet\n", "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"x\":\"" + std::string(100, 'a') + "\"}", "application/json");
    });
    server_.Get("/text", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("[1]", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // The socket listens once bound; connections wait until the thread accepts them.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~AdminServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A port nobody listens on: bound, then closed.
int DeadPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "no port";
  }
  close(fd);
  return ntohs(addr.sin_port);
}

constexpr std::chrono::milliseconds kTimeout{1000};

TEST(FetchFromFirstReplicaTest, SkipsReplicasThatDoNotAnswer) {
  AdminServer admin;
  const int dead = DeadPort();
  auto answer = FetchFromFirstReplica("127.0.0.1", {dead, admin.port()}, "/routes", kTimeout,
                                      kMaxAdminBodyBytes);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ((*answer)["revision"], 7);
  EXPECT_EQ((*answer)["adminAddress"], "127.0.0.1:" + std::to_string(admin.port()));
}

TEST(FetchFromFirstReplicaTest, NamesEveryFailure) {
  AdminServer admin;
  const int dead = DeadPort();
  auto answer = FetchFromFirstReplica("127.0.0.1", {admin.port(), dead}, "/cells", kTimeout,
                                      kMaxAdminBodyBytes);
  ASSERT_EQ(answer.status().code(), Code::kUnavailable);
  EXPECT_NE(answer.status().message().find(std::to_string(admin.port()) +
                                           ": HTTP 503 no route table yet"),
            std::string::npos)
      << answer.status().message();
  EXPECT_NE(answer.status().message().find(std::to_string(dead) + ": "), std::string::npos);
  EXPECT_EQ(FetchFromFirstReplica("127.0.0.1", {}, "/cells", kTimeout, kMaxAdminBodyBytes)
                .status()
                .code(),
            Code::kFailedPrecondition);
}

TEST(FetchFromFirstReplicaTest, RefusesBodiesOverTheLimitAndNonObjects) {
  AdminServer admin;
  const size_t size = 100 + std::string("{\"x\":\"\"}").size();
  EXPECT_TRUE(FetchFromFirstReplica("127.0.0.1", {admin.port()}, "/big", kTimeout, size).ok());
  auto over = FetchFromFirstReplica("127.0.0.1", {admin.port()}, "/big", kTimeout, size - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("answer over"), std::string::npos);
  auto array = FetchFromFirstReplica("127.0.0.1", {admin.port()}, "/text", kTimeout, size);
  ASSERT_FALSE(array.ok());
  EXPECT_NE(array.status().message().find("not a JSON object"), std::string::npos);
}

}  // namespace
}  // namespace grid::mas::console
