#include "mas/console/console.h"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "client/client.h"
#include "common/check.h"
#include "mas/api/api_server.h"
#include "mas/resource/store.h"

namespace grid::mas::console {
namespace {

// The console's routes never touch the store: its client points at a port nobody serves
// (the dial is lazy) and is never used.
std::unique_ptr<client::Client> UnusedClient() {
  client::ClientOptions options;
  options.dial_timeout = std::chrono::milliseconds(0);
  auto c = client::Client::Connect({"127.0.0.1:1"}, options);
  GRID_CHECK(c.ok());
  return std::move(c).value();
}

class ConsoleTest : public ::testing::Test {
 protected:
  ConsoleTest() : client_(UnusedClient()), store_(client_.get()), server_(&store_) {}
  api::ApiResponse Get(const std::string& path) {
    api::ApiRequest request;
    request.method = "GET";
    request.path = path;
    return server_.Handle(request);
  }
  std::unique_ptr<client::Client> client_;
  ResourceStore store_;
  api::ApiServer server_;
};

TEST_F(ConsoleTest, ServesThePageAndItsFiles) {
  ASSERT_TRUE(RegisterConsole(&server_).ok());
  for (const std::string path : {"/console", "/console/"}) {
    api::ApiResponse page = Get(path);
    EXPECT_EQ(page.code, 200) << path;
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("<script src=\"/console/app.js\""), std::string::npos);
    EXPECT_NE(page.body.find("/console/style.css"), std::string::npos);
  }
  api::ApiResponse js = Get("/console/app.js");
  EXPECT_EQ(js.code, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("use strict"), std::string::npos);
  // Data is rendered as text only.
  EXPECT_EQ(js.body.find("innerHTML"), std::string::npos);
  api::ApiResponse css = Get("/console/style.css");
  EXPECT_EQ(css.code, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
}

TEST_F(ConsoleTest, RootSendsTheBrowserToTheConsole) {
  ASSERT_TRUE(RegisterConsole(&server_).ok());
  api::ApiResponse root = Get("/");
  EXPECT_EQ(root.code, 200);
  EXPECT_NE(root.body.find("url=/console"), std::string::npos);
}

TEST_F(ConsoleTest, OtherPathsAreNotServed) {
  ASSERT_TRUE(RegisterConsole(&server_).ok());
  EXPECT_EQ(Get("/console/other.js").code, 404);
  EXPECT_EQ(Get("/consoles").code, 404);
  api::ApiRequest post;
  post.method = "POST";
  post.path = "/console";
  EXPECT_EQ(server_.Handle(post).code, 404);
}

TEST_F(ConsoleTest, FailsWhenTheRouteLimitWouldBePassed) {
  for (size_t i = 0; i + kConsoleRoutes - 1 < api::kMaxExtraRoutes; ++i) {
    ASSERT_TRUE(server_
                    .AddRoute("GET", "/x" + std::to_string(i),
                              [](const api::ApiRequest&) { return api::ApiResponse{}; })
                    .ok());
  }
  EXPECT_EQ(RegisterConsole(&server_).code(), Code::kResourceExhausted);
}

TEST_F(ConsoleTest, FitsExactlyAtTheRouteLimit) {
  for (size_t i = 0; i + kConsoleRoutes < api::kMaxExtraRoutes; ++i) {
    ASSERT_TRUE(server_
                    .AddRoute("GET", "/x" + std::to_string(i),
                              [](const api::ApiRequest&) { return api::ApiResponse{}; })
                    .ok());
  }
  EXPECT_TRUE(RegisterConsole(&server_).ok());
  EXPECT_EQ(Get("/").code, 200);
}

}  // namespace
}  // namespace grid::mas::console
