// ApiServer on loopback with a store that cannot be reached: everything decided before the
// store is asked (routing, limits, parsing, validation) and the 503 mapping.
#include "mas/api/api_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace grid::mas::api {
namespace {

// A loopback port nobody listens on (bound, read back, closed).
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// A raw HTTP/1.1 connection to 127.0.0.1:`port` (a 30 s receive timeout bounds a hang).
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    timeval timeout{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() { close(fd_); }

  // Sends `request` as is and returns one response (head and Content-Length body); "" on a
  // socket error.
  std::string Exchange(const std::string& request) {
    if (!connected_ ||
        send(fd_, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
      return "";
    }
    std::string response;
    size_t want = std::string::npos;
    char buf[4096];
    while (want == std::string::npos || response.size() < want) {
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return "";
      response.append(buf, static_cast<size_t>(n));
      size_t head = response.find("\r\n\r\n");
      size_t length = response.find("Content-Length: ");
      if (want == std::string::npos && head != std::string::npos && length < head) {
        want = head + 4 + std::stoul(response.substr(length + 16));
      }
    }
    return response;
  }

 private:
  int fd_;
  bool connected_ = false;
};

std::string ValidJson(const std::string& name) {
  return R"({"apiVersion":"grid.dev/v1","kind":"KVCluster","metadata":{"name":")" + name +
         R"("},"spec":{"version":"3.4.23"}})";
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client::ClientOptions copts;
    copts.dial_timeout = std::chrono::milliseconds(0);
    copts.call_timeout = std::chrono::milliseconds(2000);
    auto c = client::Client::Connect({"127.0.0.1:" + std::to_string(UnusedPort())}, copts);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
    store_ = std::make_unique<ResourceStore>(client_.get());
  }

  void StartServer(ApiServerOptions options = {}) {
    server_ = std::make_unique<ApiServer>(store_.get(), std::move(options));
    Result<std::string> addr = server_->Start("127.0.0.1:0");
    ASSERT_TRUE(addr.ok()) << addr.status().ToString();
    size_t colon = addr->rfind(':');
    http_ = std::make_unique<httplib::Client>(addr->substr(0, colon),
                                              std::stoi(addr->substr(colon + 1)));
  }

  static nlohmann::json Body(const httplib::Result& res) {
    return nlohmann::json::parse(res->body, nullptr, false);
  }

  std::unique_ptr<client::Client> client_;
  std::unique_ptr<ResourceStore> store_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(ApiServerTest, HealthzAlwaysReadyzFollowsTheStore) {
  ApiServerOptions options;
  options.ready_check = [] { return Unavailable("connection refused"); };
  StartServer(options);
  auto health = http_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = http_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(Body(ready)["reason"], "ServiceUnavailable");
  EXPECT_NE(Body(ready)["message"].get<std::string>().find("connection refused"),
            std::string::npos);
}

TEST_F(ApiServerTest, UnreachableStoreIs503) {
  StartServer();
  auto list = http_->Get("/apis/grid.dev/v1/kvclusters");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 503);
  EXPECT_EQ(Body(list)["kind"], "Status");
  EXPECT_EQ(Body(list)["code"], 503);
  auto create = http_->Post("/apis/grid.dev/v1/kvclusters", ValidJson("a"), "application/json");
  ASSERT_TRUE(create);
  EXPECT_EQ(create->status, 503);
}

TEST_F(ApiServerTest, InvalidSpecIs422NamingTheField) {
  StartServer();
  auto res = http_->Post("/apis/grid.dev/v1/kvclusters",
                         "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: a}\n"
                         "spec: {version: \"3.4.23\", members: 0}\n",
                         "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422);
  EXPECT_EQ(Body(res)["reason"], "Invalid");
  EXPECT_NE(Body(res)["message"].get<std::string>().find("spec.members"), std::string::npos);

  auto unknown = http_->Post("/apis/grid.dev/v1/kvclusters",
                             "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: a}\n"
                             "spec: {version: \"3.4.23\", replicaz: 3}\n",
                             "application/yaml");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 422);
  EXPECT_NE(Body(unknown)["message"].get<std::string>().find("spec.replicaz"), std::string::npos);

  auto wrong_kind =
      http_->Post("/apis/grid.dev/v1/routerfleets", ValidJson("a"), "application/json");
  ASSERT_TRUE(wrong_kind);
  EXPECT_EQ(wrong_kind->status, 422);
  EXPECT_NE(Body(wrong_kind)["message"].get<std::string>().find("routerfleets"), std::string::npos);
}

TEST_F(ApiServerTest, BodyLimitAtTheLimit) {
  constexpr size_t kLimit = 4096;
  ApiServerOptions options;
  options.max_body_bytes = kLimit;
  StartServer(options);
  std::string at = ValidJson("a");
  at.resize(kLimit, ' ');  // trailing blanks are valid JSON
  auto ok = http_->Post("/apis/grid.dev/v1/kvclusters", at, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 503);  // accepted by the HTTP layer, then the store is unreachable

  std::string over = at + " ";
  auto big = http_->Post("/apis/grid.dev/v1/kvclusters", over, "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(Body(big)["reason"], "RequestEntityTooLarge");
  EXPECT_NE(Body(big)["message"].get<std::string>().find("4096"), std::string::npos);
}

TEST_F(ApiServerTest, HeaderLineLimitAtTheLimit) {
  StartServer();
  // A header line is "Name: value" without its CRLF.
  auto with_line_bytes = [&](size_t line_bytes) {
    const std::string name = "X-Pad";
    httplib::Headers headers{{name, std::string(line_bytes - name.size() - 2, 'a')}};
    return http_->Get("/healthz", headers);
  };
  auto at = with_line_bytes(kMaxHeaderLineBytes);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->status, 200);
  auto over = with_line_bytes(kMaxHeaderLineBytes + 1);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 400);
  EXPECT_EQ(Body(over)["reason"], "BadRequest");
}

TEST_F(ApiServerTest, RequestLineLimitAtTheLimit) {
  StartServer();
  // The request line is "GET <path> HTTP/1.1" without its CRLF.
  const size_t overhead = std::string("GET  HTTP/1.1").size();
  const std::string prefix = "/apis/grid.dev/v1/kvclusters/";
  auto with_line_bytes = [&](size_t line_bytes) {
    return http_->Get(prefix + std::string(line_bytes - overhead - prefix.size(), 'a'));
  };
  auto at = with_line_bytes(kMaxRequestLineBytes);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->status, 422);  // routed: the name is too long for a DNS label
  auto over = with_line_bytes(kMaxRequestLineBytes + 1);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 414);
  EXPECT_EQ(Body(over)["reason"], "RequestURITooLong");
  EXPECT_NE(Body(over)["message"].get<std::string>().find("8190"), std::string::npos);
}

TEST_F(ApiServerTest, UnknownPathsAndMethods) {
  StartServer();
  auto missing = http_->Get("/apis/grid.dev/v1/pods");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(Body(missing)["reason"], "NotFound");

  auto status_put =
      http_->Put("/apis/grid.dev/v1/kvclusters/a/status", ValidJson("a"), "application/json");
  ASSERT_TRUE(status_put);
  EXPECT_EQ(status_put->status, 405);
  EXPECT_EQ(Body(status_put)["reason"], "MethodNotAllowed");

  auto patch = http_->Patch("/apis/grid.dev/v1/kvclusters/a", "{}", "application/json");
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->status, 405);

  auto bad_rv = http_->Get("/apis/grid.dev/v1/kvclusters?watch=1&resourceVersion=abc");
  ASSERT_TRUE(bad_rv);
  EXPECT_EQ(bad_rv->status, 400);
}

TEST_F(ApiServerTest, AddedRoutesTakePrecedenceAndSeeCaptures) {
  server_ = std::make_unique<ApiServer>(store_.get());
  ASSERT_TRUE(
      server_
          ->AddRoute(
              "POST", "/apis/grid\\.dev/v1/kvclusters/([a-z0-9-]+)/scale",
              [](const ApiRequest& req) {
                return ApiResponse::Json(202, {{"scaled", req.matches.at(0)}, {"body", req.body}});
              })
          .ok());
  EXPECT_EQ(server_->AddRoute("GET", "([", [](const ApiRequest&) { return ApiResponse{}; }).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      server_->AddRoute("TRACE", "/x", [](const ApiRequest&) { return ApiResponse{}; }).code(),
      Code::kInvalidArgument);
  ApiRequest req{"POST", "/apis/grid.dev/v1/kvclusters/orders/scale", {}, "{\"members\":5}", {}};
  ApiResponse res = server_->Handle(req);
  EXPECT_EQ(res.code, 202);
  EXPECT_EQ(nlohmann::json::parse(res.body)["scaled"], "orders");

  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  EXPECT_EQ(
      server_->AddRoute("GET", "/late", [](const ApiRequest&) { return ApiResponse{}; }).code(),
      Code::kFailedPrecondition);
}

// `curl -XPOST URL` sends neither Content-Length nor Transfer-Encoding: the request has no
// body and is served (the HTTP layer alone would wait for a body and answer 400).
TEST_F(ApiServerTest, PostWithoutContentLengthHasAnEmptyBody) {
  server_ = std::make_unique<ApiServer>(store_.get());
  ASSERT_TRUE(server_
                  ->AddRoute("POST", "/apis/grid\\.dev/v1/kvclusters/([a-z0-9-]+)/inspect",
                             [](const ApiRequest& req) {
                               return ApiResponse::Json(
                                   200, {{"inspected", req.matches.at(0)}, {"body", req.body}});
                             })
                  .ok());
  Result<std::string> addr = server_->Start("127.0.0.1:0");
  ASSERT_TRUE(addr.ok()) << addr.status().ToString();
  const int port = std::stoi(addr->substr(addr->rfind(':') + 1));

  RawConnection conn(port);
  const std::string bodiless =
      "POST /apis/grid.dev/v1/kvclusters/main/inspect HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string inspect = conn.Exchange(bodiless);
  EXPECT_EQ(inspect.rfind("HTTP/1.1 200 ", 0), 0u) << inspect;
  EXPECT_NE(inspect.find(R"({"body":"","inspected":"main"})"), std::string::npos) << inspect;
  // The connection stays usable: the next request is read as a request, not as a body.
  std::string with_body = conn.Exchange(
      "POST /apis/grid.dev/v1/kvclusters/next/inspect HTTP/1.1\r\nHost: a\r\n"
      "Content-Length: 2\r\n\r\n{}");
  EXPECT_NE(with_body.find(R"({"body":"{}","inspected":"next"})"), std::string::npos)
      << with_body;
  // PUT without a body reaches the decoder.
  std::string put = conn.Exchange("PUT /apis/grid.dev/v1/kvclusters/main HTTP/1.1\r\n"
                                  "Host: a\r\n\r\n");
  EXPECT_EQ(put.rfind("HTTP/1.1 422 ", 0), 0u) << put;
}

TEST_F(ApiServerTest, AddedRoutesLimitAtTheLimit) {
  ApiServer server(store_.get());
  for (size_t i = 0; i < kMaxExtraRoutes; ++i) {
    ASSERT_TRUE(server
                    .AddRoute("GET", "/x" + std::to_string(i),
                              [](const ApiRequest&) { return ApiResponse{}; })
                    .ok());
  }
  EXPECT_EQ(
      server.AddRoute("GET", "/one-more", [](const ApiRequest&) { return ApiResponse{}; }).code(),
      Code::kResourceExhausted);
}

TEST_F(ApiServerTest, MetricsCountRequestsByRouteAndCode) {
  StartServer();
  ASSERT_TRUE(http_->Get("/healthz"));
  ASSERT_TRUE(http_->Get("/apis/grid.dev/v1/kvclusters/a"));
  // A request is counted once its response is written, so the client may see it first.
  const std::string health =
      "grid_mas_api_requests_total{route=\"/healthz\",method=\"GET\",code=\"200\"} 1";
  const std::string get =
      "route=\"/apis/grid.dev/v1/kvclusters/{name}\",method=\"GET\",code=\"503\"} 1";
  std::string body;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto metrics = http_->Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_EQ(metrics->status, 200);
    body = metrics->body;
    if (body.find(health) != std::string::npos && body.find(get) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_NE(body.find(health), std::string::npos) << body;
  EXPECT_NE(body.find(get), std::string::npos) << body;
}

}  // namespace
}  // namespace grid::mas::api
