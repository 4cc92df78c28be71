// The RouterFleet reconciler end to end: real gridrouter replicas and L4 front started by a
// LocalRuntime, the resource kept in a real etcd 3.4 (ResourceStore), which also holds the
// routers' table. Provision → Run, blue-green with the weights read from the front's /stats,
// a version that never gets ready rolled back, deletion; a switch of the table source to a
// second store named by a KVCluster (spec.storeCluster) under load through the front. Needs
// `etcd` on $PATH (or $GRID_TEST_ETCD_BINARY); skipped when it cannot start.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "client/client.h"
#include "client/testing/etcd_process.h"
#include "common/testing/temp_dir.h"
#include "mas/fleet/reconciler.h"
#include "mas/resource/store.h"
#include "mas/runtime/local_runtime.h"

namespace grid::mas::fleet {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kSettleDeadline{90000};
constexpr char kPrefix[] = "/grid/routes";

// Sends `request` to 127.0.0.1:port and reads the answer until the peer closes or `done`
// says enough arrived (2 s socket timeouts); "" when nothing could be sent.
std::string Exchange(int port, const std::string& request,
                     const std::function<bool(const std::string&)>& done) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; !done(response) && (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) {
      response.append(buf, n);
    }
  }
  ::close(fd);
  return response;
}

// GET http://127.0.0.1:port/path; the body of a 200 answer, "" otherwise.
std::string HttpGet(int port, const std::string& path) {
  const std::string response =
      Exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
               [](const std::string&) { return false; });
  if (response.rfind("HTTP/1.1 200", 0) != 0) return "";
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// One request to 127.0.0.1:port; true when a complete HTTP status line came back (any
// status: the routers here answer an unknown tenant themselves).
bool Answered(int port) {
  const std::string response =
      Exchange(port, "GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n",
               [](const std::string& r) { return r.find("\r\n") != std::string::npos; });
  return response.rfind("HTTP/1.1 ", 0) == 0 && response.find("\r\n") != std::string::npos;
}

// Weight per backend address of the front's listener, from its /stats; empty when it does
// not answer.
std::map<std::string, int> FrontWeights(int admin_port) {
  std::map<std::string, int> out;
  const std::string body = HttpGet(admin_port, "/stats");
  if (body.empty()) return out;
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("listeners")) return out;
  for (const auto& l : j["listeners"]) {
    for (const auto& b : l["backends"]) {
      if (b.value("in_config", true)) out[b["address"].get<std::string>()] = b["weight"].get<int>();
    }
  }
  return out;
}

class FleetProcessTest : public ::testing::Test {
 protected:
  using Duration = controller::Duration;

  void SetUp() override {
    auto etcd = client::testing::EtcdProcess::Start();
    if (!etcd.ok()) GTEST_SKIP() << "no etcd: " << etcd.status().ToString();
    etcd_ = std::move(etcd).value();
    client::ClientOptions copts;
    auto c = client::Client::Connect({etcd_->endpoint()}, copts);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
    // A one-cell table, so the routers have something to serve (/readyz 200).
    ASSERT_TRUE(client_
                    ->Put(std::string(kPrefix) + "/cells/c1",
                          R"({"backends": [{"address": "127.0.0.1:9"}]})")
                    .ok());
    store_ = std::make_unique<ResourceStore>(client_.get());

    runtime::LocalRuntimeOptions ropts;
    ropts.root = dir_.path() + "/runtime";
    ASSERT_TRUE(ropts.catalog.Add(kRouterEngine, "1.0", GRIDROUTER_BINARY).ok());
    ASSERT_TRUE(ropts.catalog.Add(kRouterEngine, "2.0", GRIDROUTER_BINARY).ok());
    ASSERT_TRUE(ropts.catalog.Add(kRouterEngine, "broken", "/bin/false").ok());
    ropts.poll_interval = milliseconds(20);
    ropts.backoff_initial = milliseconds(50);
    ropts.stop_grace = milliseconds(3000);
    ropts.active = true;
    auto rt = runtime::LocalRuntime::Open(std::move(ropts));
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    runtime_ = std::move(rt).value();
    auto front_port = runtime_->AllocatePort();
    ASSERT_TRUE(front_port.ok());
    front_listen_ = "127.0.0.1:" + std::to_string(*front_port);

    RouterFleetOptions options;
    options.plan.readiness_poll = milliseconds(50);
    options.plan.run_resync = milliseconds(10000);
    reconciler_ =
        std::make_unique<RouterFleetReconciler>(store_.get(), runtime_.get(), &probe_, options);
  }

  void TearDown() override {
    if (runtime_) {
      EXPECT_TRUE(runtime_->StopAll(milliseconds(3000)).ok());
    }
  }

  Resource Fleet(int64_t replicas, const std::string& version) {
    Resource r;
    r.metadata.name = "web";
    RouterFleetSpec spec;
    spec.replicas = replicas;
    spec.version = version;
    spec.routes_prefix = kPrefix;
    spec.store = {etcd_->endpoint()};
    spec.l4_front = L4Front{"edge", front_listen_};
    spec.rollout = Rollout{std::vector<int64_t>{20, 60, 100}, /*hold_seconds=*/1,
                           /*ready_timeout_seconds=*/4};
    r.spec = spec;
    return r;
  }

  void Apply(const Resource& r) {
    auto current = store_->Get(Kind::kRouterFleet, "web");
    if (!current.ok()) {
      ASSERT_TRUE(store_->Create(r).ok());
      return;
    }
    Resource next = *current;
    next.spec = r.spec;
    auto updated = store_->Update(next);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  }

  FleetState State() {
    return FleetStateFromJson(store_->Get(Kind::kRouterFleet, "web")->status.operation).value();
  }

  // Reconciles until the controller waits for its run resync (sleeping the requested waits);
  // `each_pass` runs after every pass.
  void Settle(const std::function<void()>& each_pass = nullptr) {
    const auto deadline = steady_clock::now() + kSettleDeadline;
    while (steady_clock::now() < deadline) {
      auto r = reconciler_->Reconcile("RouterFleet/web");
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (each_pass) each_pass();
      if (r->requeue_after >= milliseconds(10000)) return;
      if (r->requeue_after > Duration::zero()) std::this_thread::sleep_for(r->requeue_after);
    }
    FAIL() << "the fleet did not settle within " << kSettleDeadline.count() << " ms";
  }
  std::vector<std::string> ActiveAddresses() {
    std::vector<std::string> out;
    const FleetState s = State();
    for (const Replica& r : s.replicas) {
      if (r.color == s.active_color) out.push_back("127.0.0.1:" + std::to_string(r.port));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  grid::testing::TempDir dir_{"fleet_process"};
  std::unique_ptr<client::testing::EtcdProcess> etcd_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<ResourceStore> store_;
  std::unique_ptr<runtime::LocalRuntime> runtime_;
  HttpReadinessProbe probe_{milliseconds(1000)};
  std::unique_ptr<RouterFleetReconciler> reconciler_;
  std::string front_listen_;
};

TEST_F(FleetProcessTest, ProvisionBlueGreenRollbackDelete) {
  Apply(Fleet(2, "1.0"));
  Settle();
  auto r = store_->Get(Kind::kRouterFleet, "web");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status.phase, Phase::kRun);
  FleetState s = State();
  ASSERT_EQ(s.replicas.size(), 2u);
  for (const Replica& rep : s.replicas) {
    EXPECT_EQ(HttpGet(rep.admin_port, "/readyz"), "ready\n") << rep.color << rep.index;
  }
  const int front_admin = s.front_admin_port;
  std::map<std::string, int> weights;
  for (auto until = steady_clock::now() + milliseconds(10000);
       weights.size() != 2 && steady_clock::now() < until;) {
    weights = FrontWeights(front_admin);
    if (weights.size() != 2) std::this_thread::sleep_for(milliseconds(50));
  }
  const std::vector<std::string> blue = ActiveAddresses();
  ASSERT_EQ(weights.size(), 2u);
  for (const std::string& a : blue) EXPECT_EQ(weights[a], 100) << a;

  // Blue-green to 2.0: the front's live weights pass through spec.rollout's steps, 20 %,
  // 60 %, 100 % green.
  Apply(Fleet(2, "2.0"));
  std::set<int> green_shares;
  Settle([&] {
    int total = 0, green = 0;
    for (const auto& [address, w] : FrontWeights(front_admin)) {
      total += w;
      if (std::find(blue.begin(), blue.end(), address) == blue.end()) green += w;
    }
    if (total > 0) green_shares.insert(green * 100 / total);
  });
  EXPECT_EQ(green_shares, (std::set<int>{0, 20, 60, 100}));
  s = State();
  EXPECT_EQ(s.active_version, "2.0");
  EXPECT_EQ(s.active_color, kGreen);
  EXPECT_EQ(runtime_->List("rf/web/blue-").size(), 0u);
  EXPECT_EQ(runtime_->List("rf/web/green-").size(), 2u);

  // A version whose replicas never get ready: rolled back, all weight on the 2.0 fleet.
  const std::vector<std::string> active = ActiveAddresses();
  Apply(Fleet(2, "broken"));
  Settle();
  r = store_->Get(Kind::kRouterFleet, "web");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.phase, Phase::kRun);
  const Condition* upgrade = FindCondition(r->status, kConditionUpgrade);
  ASSERT_NE(upgrade, nullptr);
  EXPECT_EQ(upgrade->reason, "GreenNotReady");
  s = State();
  EXPECT_EQ(s.active_version, "2.0");
  EXPECT_EQ(s.failed_version, "broken");
  EXPECT_EQ(runtime_->List("rf/web/blue-").size(), 0u);
  weights = FrontWeights(front_admin);
  ASSERT_EQ(weights.size(), 2u);
  for (const std::string& a : active) EXPECT_EQ(weights[a], 100) << a;

  // Deleting the resource removes every instance.
  ASSERT_TRUE(store_->Delete(Kind::kRouterFleet, "web").ok());
  auto done = reconciler_->Reconcile("RouterFleet/web");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(runtime_->List("rf/web/").empty());
}

TEST_F(FleetProcessTest, TableSourceSwitchToANamedClusterWithoutFailedRequests) {
  // Store B: a second etcd with the same table, named by the KVCluster "b".
  auto etcd_b = client::testing::EtcdProcess::Start();
  ASSERT_TRUE(etcd_b.ok()) << etcd_b.status().ToString();
  auto client_b = client::Client::Connect({(*etcd_b)->endpoint()}, client::ClientOptions{});
  ASSERT_TRUE(client_b.ok()) << client_b.status().ToString();
  ASSERT_TRUE((*client_b)
                  ->Put(std::string(kPrefix) + "/cells/c1",
                        R"({"backends": [{"address": "127.0.0.1:9"}]})")
                  .ok());
  Resource kv;
  kv.metadata.name = "b";
  KVClusterSpec kv_spec;
  kv_spec.engine = "etcd";
  kv_spec.version = "3.4";
  kv_spec.members = 1;
  kv.spec = kv_spec;
  auto created = store_->Create(kv);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ResourceStatus kv_status = created->status;
  kv_status.members = {{"b0", "1", "http://" + (*etcd_b)->endpoint(), "", "3.4", true}};
  ASSERT_TRUE(
      store_->UpdateStatus(Kind::kKVCluster, "b", kv_status, created->metadata.resource_version)
          .ok());

  Apply(Fleet(2, "1.0"));
  Settle();
  const int front_port = std::stoi(front_listen_.substr(front_listen_.rfind(':') + 1));
  for (auto until = steady_clock::now() + milliseconds(10000);
       !Answered(front_port) && steady_clock::now() < until;) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_TRUE(Answered(front_port));

  // Load through the front while the source moves from store A to the cluster "b".
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, failed{0};
  std::thread load([&] {
    while (!stop.load()) {
      (Answered(front_port) ? answered : failed)++;
      std::this_thread::sleep_for(milliseconds(5));
    }
  });
  Resource switched = Fleet(2, "1.0");
  auto& spec = std::get<RouterFleetSpec>(switched.spec);
  spec.store.clear();
  spec.store_cluster = "b";
  Apply(switched);
  Settle();
  stop = true;
  load.join();
  EXPECT_EQ(failed.load(), 0) << answered.load() << " answered";
  EXPECT_GT(answered.load(), 0);

  const FleetState s = State();
  EXPECT_EQ(s.active_source, "cluster/b");
  EXPECT_EQ(s.active_color, kGreen);
  const std::vector<runtime::InstanceStatus> replicas = runtime_->List("rf/web/green-");
  ASSERT_EQ(replicas.size(), 2u);
  for (const runtime::InstanceStatus& r : replicas) {
    EXPECT_EQ(r.spec.args.at(1), (*etcd_b)->endpoint()) << r.spec.name;
  }
  EXPECT_TRUE(runtime_->List("rf/web/blue-").empty());
  auto r = store_->Get(Kind::kRouterFleet, "web");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.phase, Phase::kRun);
  EXPECT_EQ(FindCondition(r->status, kConditionUpgrade)->reason, "Completed");
}

}  // namespace
}  // namespace grid::mas::fleet
