// The listener with a real gRPC server (no ports of its own) and a trivial HTTP handler.
#include "kv/http/client_listener.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "etcd/rpc.grpc.pb.h"

namespace grid::kv::http {
namespace {

// HTTP/2 connections go to `server` whole.
Http2Handoff ToGrpc(grpc::Server* server) {
  return [server](int fd) { grpc::AddInsecureChannelFromFd(server, fd); };
}

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(20);

class FixedRevisionKv final : public etcdserverpb::KV::Service {
 public:
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest*,
                     etcdserverpb::RangeResponse* response) override {
    response->mutable_header()->set_revision(42);
    return grpc::Status::OK;
  }
};

// A connected socket to 127.0.0.1:port; -1 on failure.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads until EOF (or `want_bytes` bytes, when not 0), polling with a deadline.
std::string ReadFrom(int fd, size_t want_bytes = 0) {
  std::string out;
  const auto deadline = Clock::now() + kDeadline;
  char buf[4096];
  while (Clock::now() < deadline && (want_bytes == 0 || out.size() < want_bytes)) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string Exchange(int port, std::string_view request) {
  const int fd = Connect(port);
  if (fd < 0) return "<connect failed>";
  SendAll(fd, request);
  std::string response = ReadFrom(fd);
  close(fd);
  return response;
}

class ClientListenerTest : public ::testing::Test {
 protected:
  void Start(ListenerOptions options = {}) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&kv_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto listener = ClientListener::Bind({"127.0.0.1:0"}, options);
    ASSERT_TRUE(listener.ok()) << listener.status().ToString();
    listener_ = std::move(*listener);
    const std::string& address = listener_->bound_addresses().at(0);
    port_ = std::stoi(address.substr(address.rfind(':') + 1));
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(listener_
                    ->Start(ToGrpc(server_.get()),
                            [](const HttpRequest& r) {
                              HttpResponse response;
                              response.body = "pong " + r.path;
                              return response;
                            })
                    .ok());
  }
  void TearDown() override {
    if (listener_) listener_->Stop();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  FixedRevisionKv kv_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ClientListener> listener_;
  int port_ = 0;
};

TEST_F(ClientListenerTest, GrpcAndHttpShareThePort) {
  Start();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                     grpc::InsecureChannelCredentials());
  auto stub = etcdserverpb::KV::NewStub(channel);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kDeadline);
    etcdserverpb::RangeResponse response;
    ASSERT_TRUE(stub->Range(&ctx, etcdserverpb::RangeRequest(), &response).ok());
    EXPECT_EQ(response.header().revision(), 42);
  }
  const std::string http = Exchange(port_, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(http.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << http;
  EXPECT_NE(http.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(http.substr(http.size() - 10), "pong /ping");
  // HEAD: headers only.
  const std::string head = Exchange(port_, "HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(head.find("Content-Length: 10\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

TEST_F(ClientListenerTest, PrefaceInPiecesStillReachesGrpc) {
  Start();
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  SendAll(fd, kHttp2Preface.substr(0, 5));
  SendAll(fd, kHttp2Preface.substr(5));
  // The gRPC server answers the preface with a SETTINGS frame (type 4).
  const std::string frame = ReadFrom(fd, 9);
  close(fd);
  ASSERT_GE(frame.size(), 9u);
  EXPECT_EQ(frame[3], 4);
}

TEST_F(ClientListenerTest, MalformedRequestIs400) {
  Start();
  const std::string r = Exchange(port_, "GARBAGE\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << r;
  EXPECT_EQ(r.substr(r.size() - 15), "400 Bad Request");
}

TEST_F(ClientListenerTest, HeadAtTheLimitIsServedLargerIs431) {
  ListenerOptions options;
  options.http_limits.max_head_bytes = 256;
  Start(options);
  const std::string start = "GET /x HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  const std::string at_limit = start + std::string(256 - start.size() - end.size(), 'a') + end;
  EXPECT_EQ(Exchange(port_, at_limit).rfind("HTTP/1.1 200 OK", 0), 0u);
  const std::string over = start + std::string(4096, 'a') + end;
  const std::string r = Exchange(port_, over);
  EXPECT_EQ(r.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u) << r;
}

TEST_F(ClientListenerTest, SlowRequestIsClosedAtTheReadTimeout) {
  ListenerOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  Start(options);
  for (const char* partial : {"", "GET /x HTTP/1.1\r\n", "PRI * HTTP/2"}) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    SendAll(fd, partial);
    EXPECT_EQ(ReadFrom(fd), "") << partial;  // EOF without a response, well before kDeadline
    close(fd);
  }
}

TEST_F(ClientListenerTest, ConnectionsBeyondThePendingLimitAreClosed) {
  ListenerOptions options;
  options.max_pending_connections = 2;
  Start(options);
  const int a = Connect(port_);
  const int b = Connect(port_);
  const int c = Connect(port_);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_GE(c, 0);
  EXPECT_EQ(ReadFrom(c), "");  // closed at once: two connections were already waiting
  close(c);
  // The two at the limit are still served.
  for (int fd : {a, b}) {
    SendAll(fd, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(ReadFrom(fd).rfind("HTTP/1.1 200 OK", 0), 0u);
    close(fd);
  }
}

TEST(ClientListenerQueue, RequestsBeyondTheQueueAre503) {
  grpc::ServerBuilder builder;
  FixedRevisionKv kv;
  builder.RegisterService(&kv);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ListenerOptions options;
  options.http_worker_threads = 1;
  options.max_queued_http_requests = 1;
  auto listener = ClientListener::Bind({"127.0.0.1:0"}, options);
  ASSERT_TRUE(listener.ok());
  const std::string& address = (*listener)->bound_addresses().at(0);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  // The handler holds the only worker until released.
  std::mutex mu;
  std::condition_variable cv;
  int entered = 0;        // GUARDED_BY(mu)
  bool released = false;  // GUARDED_BY(mu)
  ASSERT_TRUE((*listener)
                  ->Start(ToGrpc(server.get()),
                          [&](const HttpRequest&) {
                            std::unique_lock lock(mu);
                            ++entered;
                            cv.notify_all();
                            cv.wait(lock, [&] { return released; });
                            return HttpResponse{};
                          })
                  .ok());
  const std::string request = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
  const int busy = Connect(port);
  SendAll(busy, request);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kDeadline, [&] { return entered == 1; }));
  }
  // Two more requests: one fills the queue of one, the other is refused at once.
  const int x = Connect(port);
  const int y = Connect(port);
  SendAll(x, request);
  SendAll(y, request);
  pollfd p[2] = {{x, POLLIN, 0}, {y, POLLIN, 0}};
  ASSERT_GT(poll(p, 2, static_cast<int>(std::chrono::milliseconds(kDeadline).count())), 0);
  const int refused = (p[0].revents & POLLIN) ? x : y;
  const int queued = refused == x ? y : x;
  const std::string refusal = ReadFrom(refused);
  EXPECT_EQ(refusal.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << refusal;
  close(refused);
  {
    std::lock_guard lock(mu);
    released = true;
  }
  cv.notify_all();
  for (int fd : {busy, queued}) {
    EXPECT_EQ(ReadFrom(fd).rfind("HTTP/1.1 200 OK", 0), 0u);
    close(fd);
  }
  (*listener)->Stop();
  server->Shutdown(std::chrono::system_clock::now());
}

TEST(ClientListenerBind, AddressInUse) {
  auto first = ClientListener::Bind({"127.0.0.1:0"});
  ASSERT_TRUE(first.ok());
  const std::string taken = (*first)->bound_addresses().at(0);
  auto second = ClientListener::Bind({taken});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "listen tcp " + taken + ": bind: address already in use");
}

TEST(ClientListenerBind, BadAddress) {
  EXPECT_FALSE(ClientListener::Bind({"127.0.0.1"}).ok());
  EXPECT_FALSE(ClientListener::Bind({"127.0.0.1:99999"}).ok());
}

}  // namespace
}  // namespace grid::kv::http
