// ApiServer in-process on a loopback port over a real etcd 3.4 (or $GRID_TEST_ETCD_BINARY),
// driven by an HTTP client: CRUD with compare-and-swap, error codes, and watch streams.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "client/testing/etcd_process.h"
#include "mas/api/api_server.h"

namespace grid::mas::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr char kPath[] = "/apis/grid.dev/v1/kvclusters";
constexpr auto kDeadline = std::chrono::seconds(30);

std::string Yaml(const std::string& name, int members, const std::string& rv = "") {
  std::string meta =
      "{name: " + name + (rv.empty() ? "" : ", resourceVersion: \"" + rv + "\"") + "}";
  return "apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: " + meta +
         "\nspec: {version: \"3.4.23\", members: " + std::to_string(members) + "}\n";
}

template <typename Pred>
bool PollUntil(Pred pred) {
  auto deadline = steady_clock::now() + kDeadline;
  while (steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

// A watch request on its own thread, collecting the stream's lines.
class WatchClient {
 public:
  WatchClient(const std::string& host, int port, const std::string& target,
              httplib::Headers headers = {}) {
    thread_ = std::thread([this, host, port, target, headers] {
      httplib::Client http(host, port);
      http.set_read_timeout(std::chrono::seconds(60));
      auto res = http.Get(
          target, headers,
          [this](const httplib::Response& r) {
            status_ = r.status;
            std::lock_guard lock(mu_);
            response_headers_ = r.headers;
            return !stop_.load();
          },
          [this](const char* data, size_t len) {
            std::lock_guard lock(mu_);
            buffer_.append(data, len);
            for (size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
              auto j = nlohmann::json::parse(buffer_.substr(0, nl), nullptr, false);
              buffer_.erase(0, nl + 1);
              if (j.is_discarded()) continue;
              if (j["type"] == "BOOKMARK") {
                ++bookmarks_;
              } else {
                events_.push_back(j);
              }
            }
            return !stop_.load();
          });
      if (res) status_ = res->status;
      if (res && res->status != 200) {
        std::lock_guard lock(mu_);
        body_ = res->body + buffer_;  // an error body arrives through the receiver
      }
      finished_ = true;
    });
  }
  ~WatchClient() { Close(); }
  void Close() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<nlohmann::json> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  int bookmarks() {
    std::lock_guard lock(mu_);
    return bookmarks_;
  }
  int status() const { return status_.load(); }
  std::string header(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = response_headers_.find(name);
    return it == response_headers_.end() ? "" : it->second;
  }
  bool finished() const { return finished_.load(); }
  std::string body() {
    std::lock_guard lock(mu_);
    return body_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::atomic<int> status_{0};
  std::mutex mu_;
  httplib::Headers response_headers_;  // guarded by mu_
  std::string buffer_;
  std::string body_;
  std::vector<nlohmann::json> events_;
  int bookmarks_ = 0;
  std::thread thread_;
};

class ApiProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto etcd = client::testing::EtcdProcess::Start();
    ASSERT_TRUE(etcd.ok()) << etcd.status().ToString();
    etcd_ = std::move(etcd).value();
    auto c = client::Client::Connect({etcd_->endpoint()}, {});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
    store_ = std::make_unique<ResourceStore>(client_.get());
    ApiServerOptions options;
    options.watch_heartbeat = milliseconds(100);
    options.max_concurrent_watches = 2;
    options.ready_check = [this] { return client_->MemberStatus().status(); };
    server_ = std::make_unique<ApiServer>(store_.get(), options);
    auto addr = server_->Start("127.0.0.1:0");
    ASSERT_TRUE(addr.ok()) << addr.status().ToString();
    size_t colon = addr->rfind(':');
    host_ = addr->substr(0, colon);
    port_ = std::stoi(addr->substr(colon + 1));
    http_ = std::make_unique<httplib::Client>(host_, port_);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  static nlohmann::json Body(const httplib::Result& res) {
    return nlohmann::json::parse(res->body, nullptr, false);
  }
  std::string Post(const std::string& yaml, int want) {
    auto res = http_->Post(kPath, yaml, "application/yaml");
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, want) << res->body;
    return Body(res)["metadata"].value("resourceVersion", "");
  }

  std::unique_ptr<client::testing::EtcdProcess> etcd_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<ResourceStore> store_;
  std::unique_ptr<ApiServer> server_;
  std::string host_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(ApiProcessTest, CreateGetListUpdateDeleteWithConflicts) {
  auto ready = http_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);

  std::string rv1 = Post(Yaml("orders", 3), 201);
  ASSERT_FALSE(rv1.empty());
  auto dup = http_->Post(kPath, Yaml("orders", 3), "application/yaml");
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->status, 409);
  EXPECT_EQ(Body(dup)["reason"], "AlreadyExists");

  auto got = http_->Get(std::string(kPath) + "/orders");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(Body(got)["spec"]["members"], 3);
  EXPECT_EQ(Body(got)["metadata"]["generation"], 1);

  Post(Yaml("payments", 1), 201);
  auto list = http_->Get(kPath);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(Body(list)["kind"], "KVClusterList");
  ASSERT_EQ(Body(list)["items"].size(), 2u);
  EXPECT_EQ(Body(list)["items"][0]["metadata"]["name"], "orders");

  auto updated =
      http_->Put(std::string(kPath) + "/orders", Yaml("orders", 5, rv1), "application/yaml");
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->status, 200) << updated->body;
  EXPECT_EQ(Body(updated)["metadata"]["generation"], 2);
  std::string rv2 = Body(updated)["metadata"]["resourceVersion"];
  EXPECT_NE(rv2, rv1);

  auto stale =
      http_->Put(std::string(kPath) + "/orders", Yaml("orders", 7, rv1), "application/yaml");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409);
  EXPECT_EQ(Body(stale)["reason"], "Conflict");
  EXPECT_NE(Body(stale)["message"].get<std::string>().find("resourceVersion " + rv1 + " is stale"),
            std::string::npos)
      << stale->body;

  auto invalid =
      http_->Put(std::string(kPath) + "/orders", Yaml("orders", 9, rv2), "application/yaml");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 422);
  EXPECT_NE(Body(invalid)["message"].get<std::string>().find("spec.members"), std::string::npos);

  auto renamed =
      http_->Put(std::string(kPath) + "/orders", Yaml("other", 3, rv2), "application/yaml");
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->status, 400);

  auto missing_put =
      http_->Put(std::string(kPath) + "/ghost", Yaml("ghost", 3), "application/yaml");
  ASSERT_TRUE(missing_put);
  EXPECT_EQ(missing_put->status, 404);

  auto stale_delete = http_->Delete(std::string(kPath) + "/orders?resourceVersion=" + rv1);
  ASSERT_TRUE(stale_delete);
  EXPECT_EQ(stale_delete->status, 409);
  auto deleted = http_->Delete(std::string(kPath) + "/orders");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 200);
  EXPECT_EQ(Body(deleted)["status"], "Success");
  auto gone = http_->Get(std::string(kPath) + "/orders");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(Body(gone)["reason"], "NotFound");
  auto again = http_->Delete(std::string(kPath) + "/orders");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
}

TEST_F(ApiProcessTest, WatchStreamsAddedModifiedDeletedUntilTheClientGoes) {
  std::string rv0 = Post(Yaml("before", 1), 201);
  {
    WatchClient watch(host_, port_, std::string(kPath) + "?watch=1");
    // Without a resourceVersion the existing object comes first as ADDED.
    ASSERT_TRUE(PollUntil([&] { return watch.events().size() >= 1; }));
    EXPECT_EQ(watch.events()[0]["type"], "ADDED");
    EXPECT_EQ(watch.events()[0]["object"]["metadata"]["name"], "before");

    std::string rv = Post(Yaml("orders", 3), 201);
    auto put =
        http_->Put(std::string(kPath) + "/orders", Yaml("orders", 5, rv), "application/yaml");
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 200);
    auto del = http_->Delete(std::string(kPath) + "/orders");
    ASSERT_TRUE(del);
    ASSERT_EQ(del->status, 200);
    ASSERT_TRUE(PollUntil([&] { return watch.events().size() >= 4; }));
    std::vector<nlohmann::json> events = watch.events();
    EXPECT_EQ(events[1]["type"], "ADDED");
    EXPECT_EQ(events[2]["type"], "MODIFIED");
    EXPECT_EQ(events[2]["object"]["spec"]["members"], 5);
    EXPECT_EQ(events[3]["type"], "DELETED");
    EXPECT_EQ(events[3]["object"]["metadata"]["name"], "orders");
    ASSERT_TRUE(PollUntil([&] { return watch.bookmarks() >= 1; }));
    EXPECT_EQ(server_->active_watches(), 1);
  }
  // The client has gone: the next heartbeat write fails and the slot is released.
  ASSERT_TRUE(PollUntil([&] { return server_->active_watches() == 0; }));

  // A client that accepts compression (every browser does) still gets each event as it
  // happens: the stream is application/x-ndjson, which the server never compresses (a
  // compressor would hold the lines back).
  {
    WatchClient browser(host_, port_, std::string(kPath) + "?watch=1",
                        {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_TRUE(PollUntil([&] { return browser.events().size() >= 1; }));
    EXPECT_EQ(browser.header("Content-Type"), "application/x-ndjson");
    EXPECT_EQ(browser.header("Content-Encoding"), "");
  }
  ASSERT_TRUE(PollUntil([&] { return server_->active_watches() == 0; }));

  // From a resourceVersion: only what came after it.
  WatchClient from(host_, port_, std::string(kPath) + "?watch=1&resourceVersion=" + rv0);
  ASSERT_TRUE(PollUntil([&] { return from.events().size() >= 3; }));
  EXPECT_EQ(from.events()[0]["type"], "ADDED");
  EXPECT_EQ(from.events()[0]["object"]["metadata"]["name"], "orders");
}

TEST_F(ApiProcessTest, ConcurrentWatchLimitAtTheLimit) {
  WatchClient a(host_, port_, std::string(kPath) + "?watch=1");
  WatchClient b(host_, port_, std::string(kPath) + "?watch=true&resourceVersion=1");
  ASSERT_TRUE(PollUntil([&] { return server_->active_watches() == 2; }));
  WatchClient c(host_, port_, std::string(kPath) + "?watch=1");
  ASSERT_TRUE(PollUntil([&] { return c.finished(); }));
  EXPECT_EQ(c.status(), 429);
  EXPECT_NE(c.body().find("TooManyRequests"), std::string::npos) << c.body();
  a.Close();
  ASSERT_TRUE(PollUntil([&] { return server_->active_watches() == 1; }));
  WatchClient d(host_, port_, std::string(kPath) + "?watch=1");
  ASSERT_TRUE(PollUntil([&] { return server_->active_watches() == 2; }));
  auto metrics = http_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("grid_mas_api_watches 2"), std::string::npos);
}

TEST_F(ApiProcessTest, StopEndsOpenWatches) {
  WatchClient a(host_, port_, std::string(kPath) + "?watch=1");
  ASSERT_TRUE(PollUntil([&] { return server_->active_watches() == 1; }));
  server_->Stop();
  EXPECT_EQ(server_->active_watches(), 0);
  ASSERT_TRUE(PollUntil([&] { return a.finished(); }));
}

TEST_F(ApiProcessTest, CompactedResourceVersionEndsWithExpired) {
  Post(Yaml("a", 1), 201);
  std::string rv2 = Post(Yaml("b", 1), 201);
  ASSERT_TRUE(client_->Compact(std::stoll(rv2), true).ok());
  WatchClient watch(host_, port_, std::string(kPath) + "?watch=1&resourceVersion=1");
  ASSERT_TRUE(PollUntil([&] { return watch.finished() || !watch.events().empty(); }));
  ASSERT_TRUE(PollUntil([&] { return !watch.events().empty(); }));
  EXPECT_EQ(watch.events().back()["type"], "ERROR");
  EXPECT_EQ(watch.events().back()["object"]["code"], 410);
  ASSERT_TRUE(PollUntil([&] { return server_->active_watches() == 0; }));
}

}  // namespace
}  // namespace grid::mas::api
