// The whole member in-process: gRPC (generated etcd stubs) and plain HTTP on the same client
// port.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "etcd/rpc.grpc.pb.h"
#include "kv/server/kv_server.h"

namespace grid::kv {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(20);

// One HTTP exchange on a fresh connection to 127.0.0.1:port; the raw response.
std::string HttpGet(int port, const std::string& target) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "<connect failed>";
  }
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  (void)send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  const auto deadline = Clock::now() + kDeadline;
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "<no body>" : response.substr(end + 4);
}

class ClientPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gridkv-http-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ServerConfig config;
    config.name = "t";
    config.data_dir = (dir_ / "data").string();
    config.listen_client_urls = {"http://127.0.0.1:0"};
    config.advertise_client_urls = {"http://127.0.0.1:0"};
    config.initial_advertise_peer_urls = {"http://127.0.0.1:2380"};
    auto s = KvServer::Start(config);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    const std::string url = server_->client_urls().at(0);
    port_ = std::stoi(url.substr(url.rfind(':') + 1));
    ASSERT_GT(port_, 0);
    auto channel = grpc::CreateChannel(url.substr(strlen("http://")),
                                       grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel);
    maintenance_ = etcdserverpb::Maintenance::NewStub(channel);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  etcdserverpb::PutResponse Put(const std::string& key) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kDeadline);
    etcdserverpb::PutRequest req;
    req.set_key(key);
    req.set_value("v");
    etcdserverpb::PutResponse resp;
    grpc::Status s = kv_->Put(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  void Alarm(etcdserverpb::AlarmRequest::AlarmAction action, uint64_t member_id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kDeadline);
    etcdserverpb::AlarmRequest req;
    req.set_action(action);
    req.set_memberid(member_id);
    req.set_alarm(etcdserverpb::NOSPACE);
    etcdserverpb::AlarmResponse resp;
    grpc::Status s = maintenance_->Alarm(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  fs::path dir_;
  std::unique_ptr<KvServer> server_;
  int port_ = 0;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance_;
};

TEST_F(ClientPortTest, GrpcAndHttpOnTheSamePort) {
  EXPECT_EQ(Put("foo").header().revision(), 2);
  const std::string health = HttpGet(port_, "/health");
  EXPECT_EQ(health.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << health;
  EXPECT_EQ(BodyOf(health), R"({"health":"true"})");
  const std::string version = HttpGet(port_, "/version");
  EXPECT_NE(version.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(BodyOf(version), R"({"etcdserver":"3.4.23","etcdcluster":"3.4.0"})");
  EXPECT_EQ(HttpGet(port_, "/nope").rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  // gRPC still works on the port after the HTTP exchanges.
  EXPECT_EQ(Put("bar").header().revision(), 3);
  const std::string metrics = BodyOf(HttpGet(port_, "/metrics"));
  EXPECT_NE(metrics.find("\netcd_debugging_mvcc_current_revision 3\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("\netcd_server_health_success 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("\netcd_server_has_leader 1\n"), std::string::npos);
}

TEST_F(ClientPortTest, HealthIsFalseUnderNospace) {
  const uint64_t member_id = Put("foo").header().member_id();
  Alarm(etcdserverpb::AlarmRequest::ACTIVATE, member_id);
  const std::string unhealthy = HttpGet(port_, "/health");
  EXPECT_EQ(unhealthy.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << unhealthy;
  EXPECT_EQ(BodyOf(unhealthy), "{\"health\":\"false\"}\n");
  EXPECT_EQ(BodyOf(HttpGet(port_, "/health?exclude=NOSPACE")), R"({"health":"true"})");
  EXPECT_NE(BodyOf(HttpGet(port_, "/metrics")).find("\ngridkv_server_active_alarms 1\n"),
            std::string::npos);
  Alarm(etcdserverpb::AlarmRequest::DEACTIVATE, member_id);
  EXPECT_EQ(BodyOf(HttpGet(port_, "/health")), R"({"health":"true"})");
}

}  // namespace
}  // namespace grid::kv
