#include "mas/fleet/reconciler.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/testing/temp_dir.h"
#include "mas/fleet/testing/fakes.h"

namespace grid::mas::fleet {
namespace {

using std::chrono::milliseconds;
using testing::FakeFleetStore;
using testing::FakeReadiness;
using testing::FakeRuntime;

constexpr char kKey[] = "RouterFleet/f";

Resource Fleet(int64_t replicas, const std::string& version, bool front = true) {
  Resource r;
  r.metadata.name = "f";
  RouterFleetSpec spec;
  spec.replicas = replicas;
  spec.version = version;
  spec.routes_prefix = "/grid/routes/";
  spec.store = {"127.0.0.1:2379"};
  if (front) spec.l4_front = L4Front{"edge", "127.0.0.1:8443"};
  spec.rollout = Rollout{std::nullopt, /*hold_seconds=*/2, /*ready_timeout_seconds=*/5};
  r.spec = spec;
  return r;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Weight per backend address in an l4.yaml written by RenderFrontConfig.
std::map<std::string, int> Weights(const std::string& config) {
  std::map<std::string, int> out;
  std::istringstream in(config);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find("{address: \"");
    if (a == std::string::npos) continue;
    const size_t end = line.find('"', a + 11);
    const size_t w = line.find("weight: ", end);
    out[line.substr(a + 11, end - a - 11)] = std::stoi(line.substr(w + 8));
  }
  return out;
}

struct Harness {
  grid::testing::TempDir dir{"fleet_test"};
  FakeRuntime runtime{dir.path()};
  FakeFleetStore store;
  FakeReadiness probe;
  WallTime now = WallTime(std::chrono::hours(500000));
  RouterFleetOptions options;
  std::unique_ptr<RouterFleetReconciler> reconciler;
  std::vector<Phase> phases;         // each distinct phase in order
  std::vector<std::string> configs;  // each distinct front config in order

  explicit Harness(size_t max_log_entries = kDefaultMaxLogEntries) {
    options.max_log_entries = max_log_entries;
    options.now = [this] { return now; };
    reconciler = std::make_unique<RouterFleetReconciler>(static_cast<FleetStore*>(&store), &runtime,
                                                         &probe, options);
  }
  std::string ConfigPath() const { return runtime.DataDir("rf/f/front") + "/l4.yaml"; }
  Resource Current() { return store.Current("f"); }
  FleetState State() { return FleetStateFromJson(Current().status.operation).value(); }

  // Reconciles until the controller waits for its run resync; waits move the fake clock.
  void Drive(int max_passes = 300) {
    for (int i = 0; i < max_passes; ++i) {
      auto r = reconciler->Reconcile(kKey);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      const Phase p = Current().status.phase;
      if (phases.empty() || phases.back() != p) phases.push_back(p);
      const std::string config = ReadFile(ConfigPath());
      if (!config.empty() && (configs.empty() || configs.back() != config)) {
        configs.push_back(config);
      }
      if (r->requeue_after >= options.plan.run_resync) return;
      if (r->requeue_after > kNextStepDelay) now += r->requeue_after;
    }
    FAIL() << "not settled after " << max_passes << " passes";
  }
  std::vector<std::string> Replicas() {
    std::vector<std::string> out;
    for (const std::string& n : runtime.Names()) {
      if (n != "rf/f/front") out.push_back(n);
    }
    return out;
  }
  std::vector<std::string> ReplicaAddresses() {
    std::vector<std::string> out;
    for (const Replica& r : State().replicas) out.push_back("127.0.0.1:" + std::to_string(r.port));
    std::sort(out.begin(), out.end());
    return out;
  }
};

// "name result" of each status.history entry, oldest first.
std::vector<std::string> History(const Resource& r) {
  std::vector<std::string> out;
  for (const OperationRecord& rec : r.status.history) {
    out.push_back(rec.name + " " + OperationResultName(rec.result));
  }
  return out;
}

std::vector<std::string> Keys(const std::map<std::string, int>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

TEST(RouterFleetReconciler, ProvisionReachesRun) {
  Harness h;
  h.store.Put(Fleet(2, "1.0"));
  h.Drive();
  EXPECT_EQ(h.phases, (std::vector<Phase>{Phase::kProvision, Phase::kRun}));
  EXPECT_EQ(h.runtime.Names(),
            (std::vector<std::string>{"rf/f/blue-0", "rf/f/blue-1", "rf/f/front"}));
  const Resource r = h.Current();
  EXPECT_EQ(r.status.observed_generation, 1);
  const Condition* ready = FindCondition(r.status, kConditionReady);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, ConditionStatus::kTrue);
  EXPECT_FALSE(r.status.operation.contains("name"));
  EXPECT_EQ(r.status.operation["weights"]["blue"], 100);
  const auto weights = Weights(ReadFile(h.ConfigPath()));
  EXPECT_EQ(Keys(weights), h.ReplicaAddresses());
  for (const auto& [address, w] : weights) EXPECT_EQ(w, 100) << address;
  auto blue0 = h.runtime.Get("rf/f/blue-0");
  ASSERT_TRUE(blue0.ok());
  EXPECT_EQ(blue0->spec.args[0], "--endpoints");
  EXPECT_EQ(blue0->spec.args[3], "/grid/routes/");
  EXPECT_EQ(h.runtime.Get("rf/f/front")->spec.args[0], "l4");
  EXPECT_FALSE(r.status.operation["log"].empty());
  // The finished provision is in the history with its steps, the last one ending it.
  EXPECT_EQ(History(r), std::vector<std::string>{"Provision Succeeded"});
  const OperationRecord& rec = r.status.history.front();
  ASSERT_GE(rec.steps.size(), 2u);
  EXPECT_EQ(rec.steps.front().step, "Provision/");
  EXPECT_EQ(rec.steps.front().result, "provision 1.0");
  EXPECT_EQ(rec.steps.back().step, "Run");
  EXPECT_EQ(rec.steps.back().result, "run: 2 replicas ready");
  EXPECT_EQ(rec.started, rec.steps.front().time);
  EXPECT_EQ(rec.finished, rec.steps.back().time);
}

TEST(RouterFleetReconciler, ReplicasWaitForReadinessBeforeTheFront) {
  Harness h;
  h.probe.Set([](int) { return false; });
  h.store.Put(Fleet(1, "1.0"));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(h.reconciler->Reconcile(kKey).ok());
  EXPECT_EQ(h.runtime.Names(), (std::vector<std::string>{"rf/f/blue-0"}));
  EXPECT_EQ(h.Current().status.phase, Phase::kProvision);
  h.probe.Set(nullptr);
  h.Drive();
  EXPECT_EQ(h.Current().status.phase, Phase::kRun);
}

// The front's own /readyz (its admin port) gates Run: a front that runs but does not serve
// (its listen address held by another process) keeps the fleet in Provision.
TEST(RouterFleetReconciler, RunWaitsForTheFrontToBeReady) {
  Harness h;
  h.probe.Set([&h](int admin_port) { return admin_port != h.State().front_admin_port; });
  h.store.Put(Fleet(1, "1.0"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.reconciler->Reconcile(kKey).ok());
  EXPECT_EQ(h.runtime.Names(), (std::vector<std::string>{"rf/f/blue-0", "rf/f/front"}));
  EXPECT_EQ(h.Current().status.phase, Phase::kProvision);
  h.probe.Set(nullptr);
  h.Drive();
  EXPECT_EQ(h.Current().status.phase, Phase::kRun);
}

TEST(RouterFleetReconciler, ScaleTwoThreeOne) {
  Harness h;
  h.store.Put(Fleet(2, "1.0"));
  h.Drive();
  const int reloads = h.runtime.reloads("rf/f/front");
  h.store.Put(Fleet(3, "1.0"));
  h.Drive();
  EXPECT_EQ(h.Replicas(), (std::vector<std::string>{"rf/f/blue-0", "rf/f/blue-1", "rf/f/blue-2"}));
  EXPECT_EQ(Keys(Weights(ReadFile(h.ConfigPath()))), h.ReplicaAddresses());
  EXPECT_EQ(h.runtime.reloads("rf/f/front"), reloads + 1);
  h.store.Put(Fleet(1, "1.0"));
  h.Drive();
  EXPECT_EQ(h.Replicas(), (std::vector<std::string>{"rf/f/blue-0"}));
  EXPECT_EQ(Keys(Weights(ReadFile(h.ConfigPath()))), h.ReplicaAddresses());
  EXPECT_EQ(h.phases, (std::vector<Phase>{Phase::kProvision, Phase::kRun, Phase::kScale,
                                          Phase::kRun, Phase::kScale, Phase::kRun}));
  EXPECT_EQ(h.Current().status.observed_generation, 3);
  EXPECT_EQ(History(h.Current()),
            (std::vector<std::string>{"Provision Succeeded", "Scale Succeeded",
                                      "Scale Succeeded"}));
  const OperationRecord scale_in = h.Current().status.history.back();
  ASSERT_GE(scale_in.steps.size(), 2u);
  EXPECT_EQ(scale_in.steps.front().step, "Scale/");
  EXPECT_EQ(scale_in.steps.back().step, "Run");
}

TEST(RouterFleetReconciler, BlueGreenShiftsTenFiftyHundredAndRetiresBlue) {
  Harness h;
  h.store.Put(Fleet(2, "1.0"));
  h.Drive();
  const std::vector<std::string> blue = h.ReplicaAddresses();
  h.configs = {ReadFile(h.ConfigPath())};
  h.store.Put(Fleet(2, "2.0"));
  h.Drive();
  std::vector<int> green_shares;  // percent of the total weight on green, per written config
  for (const std::string& config : h.configs) {
    int total = 0, green = 0;
    for (const auto& [address, w] : Weights(config)) {
      total += w;
      if (std::find(blue.begin(), blue.end(), address) == blue.end()) green += w;
    }
    green_shares.push_back(total == 0 ? -1 : green * 100 / total);
  }
  EXPECT_EQ(green_shares, (std::vector<int>{0, 10, 50, 100, 100}));
  EXPECT_EQ(h.Replicas(), (std::vector<std::string>{"rf/f/green-0", "rf/f/green-1"}));
  EXPECT_EQ(h.runtime.Get("rf/f/green-0")->spec.version, "2.0");
  EXPECT_EQ(Keys(Weights(ReadFile(h.ConfigPath()))), h.ReplicaAddresses());
  const Resource r = h.Current();
  EXPECT_EQ(r.status.phase, Phase::kRun);
  const Condition* upgrade = FindCondition(r.status, kConditionUpgrade);
  ASSERT_NE(upgrade, nullptr);
  EXPECT_EQ(upgrade->status, ConditionStatus::kTrue);
  EXPECT_EQ(h.State().active_version, "2.0");
  EXPECT_EQ(h.State().active_color, kGreen);
  EXPECT_EQ(h.phases.back(), Phase::kRun);
  EXPECT_NE(std::find(h.phases.begin(), h.phases.end(), Phase::kUpdate), h.phases.end());
  EXPECT_EQ(History(r), (std::vector<std::string>{"Provision Succeeded", "BlueGreen Succeeded"}));
  const OperationRecord& bg = r.status.history.back();
  ASSERT_GE(bg.steps.size(), 2u);
  EXPECT_EQ(bg.steps.front().step, "BlueGreen/StartGreen");
  EXPECT_EQ(bg.steps.front().result, "begin blue-green upgrade to 2.0");
  EXPECT_EQ(bg.steps.back().step, "Run");
}

TEST(RouterFleetReconciler, GreenNeverReadyRollsBackToBlue) {
  Harness h;
  h.store.Put(Fleet(2, "1.0"));
  h.Drive();
  const std::vector<std::string> blue = h.ReplicaAddresses();
  // Only the front and the 1.0 replicas ever answer /readyz.
  h.probe.Set([&h](int admin_port) {
    if (admin_port == h.State().front_admin_port) return true;
    for (const Replica& r : h.State().replicas) {
      if (r.admin_port == admin_port) return r.version == "1.0";
    }
    return false;
  });
  h.phases.clear();
  h.store.Put(Fleet(2, "2.0"));
  h.Drive();
  EXPECT_EQ(h.phases, (std::vector<Phase>{Phase::kUpdate, Phase::kRollback, Phase::kRun}));
  const Resource r = h.Current();
  const Condition* upgrade = FindCondition(r.status, kConditionUpgrade);
  ASSERT_NE(upgrade, nullptr);
  EXPECT_EQ(upgrade->status, ConditionStatus::kFalse);
  EXPECT_EQ(upgrade->reason, "GreenNotReady");
  EXPECT_EQ(upgrade->message, "upgrade to 2.0 rolled back: rf/f/green-0 not ready within 5000 ms");
  EXPECT_EQ(h.State().failed_version, "2.0");
  EXPECT_EQ(h.Replicas(), (std::vector<std::string>{"rf/f/blue-0", "rf/f/blue-1"}));
  const auto weights = Weights(ReadFile(h.ConfigPath()));
  EXPECT_EQ(Keys(weights), blue);
  for (const auto& [address, w] : weights) EXPECT_EQ(w, 100) << address;
  // The upgrade ended rolled back; the rollback that undid it succeeded.
  EXPECT_EQ(History(r), (std::vector<std::string>{"Provision Succeeded", "BlueGreen RolledBack",
                                                  "Rollback Succeeded"}));
  const OperationRecord& bg = r.status.history[1];
  ASSERT_FALSE(bg.steps.empty());
  EXPECT_EQ(bg.steps.back().step, "Rollback/ShiftBack");
  EXPECT_EQ(bg.steps.back().result,
            "GreenNotReady: rf/f/green-0 not ready within 5000 ms");
  // Not retried until the spec changes again.
  const size_t starts = h.runtime.calls().size();
  h.Drive();
  EXPECT_EQ(h.runtime.calls().size(), starts);
  h.probe.Set(nullptr);
  h.store.Put(Fleet(2, "2.1"));
  h.Drive();
  EXPECT_EQ(h.State().active_version, "2.1");
  EXPECT_EQ(History(h.Current()).back(), "BlueGreen Succeeded");
}

TEST(RouterFleetHistory, EndedAs) {
  EXPECT_EQ(EndedAs("", kOpProvision, Phase::kProvision), std::nullopt);
  EXPECT_EQ(EndedAs(kOpBlueGreen, kOpBlueGreen, Phase::kUpdate), std::nullopt);
  EXPECT_EQ(EndedAs(kOpBlueGreen, kOpRollback, Phase::kRollback), OperationResult::kRolledBack);
  EXPECT_EQ(EndedAs(kOpRollback, "", Phase::kRun), OperationResult::kSucceeded);
  EXPECT_EQ(EndedAs(kOpScale, "", Phase::kFailed), OperationResult::kFailed);
  EXPECT_EQ(EndedAs(kOpProvision, kOpScale, Phase::kScale), OperationResult::kSuperseded);
}

TEST(RouterFleetHistory, ToHistoryTakesTheOperationsRunOfTheLog) {
  const std::vector<LogEntry> log = {
      {"t1", "Run", "run: 1 replicas ready"},
      {"t2", "Scale/", "add a blue replica"},
      {"t3", "Scale/", "start rf/f/blue-1"},
      {"t4", "Run", "run: 2 replicas ready"},
  };
  const OperationRecord rec = ToHistory(kOpScale, log, OperationResult::kSucceeded, "t4");
  EXPECT_EQ(rec, (OperationRecord{kOpScale, OperationResult::kSucceeded, "t2", "t4",
                                  {{"Scale/", "t2", "add a blue replica"},
                                   {"Scale/", "t3", "start rf/f/blue-1"},
                                   {"Run", "t4", "run: 2 replicas ready"}}}));
  // Its entries dropped from the bounded log: only the ending step remains.
  const OperationRecord lone = ToHistory(kOpScale, {log.back()}, OperationResult::kSucceeded, "t4");
  EXPECT_EQ(lone.started, "t4");
  ASSERT_EQ(lone.steps.size(), 1u);
}

TEST(RouterFleetReconciler, ANewReconcilerResumesAnUpgradeFromTheStatus) {
  Harness h;
  h.store.Put(Fleet(2, "1.0"));
  h.Drive();
  h.store.Put(Fleet(2, "2.0"));
  for (int i = 0; i < 100 && h.State().green_percent < 50; ++i) {
    auto r = h.reconciler->Reconcile(kKey);
    ASSERT_TRUE(r.ok());
    if (r->requeue_after > kNextStepDelay) h.now += r->requeue_after;
  }
  ASSERT_EQ(h.State().step, kStepShift);
  ASSERT_EQ(h.State().green_percent, 50);
  // The control plane restarts: a fresh reconciler, same store and runtime.
  h.reconciler = std::make_unique<RouterFleetReconciler>(static_cast<FleetStore*>(&h.store),
                                                         &h.runtime, &h.probe, h.options);
  h.Drive();
  EXPECT_EQ(h.State().active_version, "2.0");
  EXPECT_EQ(h.Replicas(), (std::vector<std::string>{"rf/f/green-0", "rf/f/green-1"}));
}

TEST(RouterFleetReconciler, ConflictRequeuesAndTheNextPassResumes) {
  Harness h;
  h.store.Put(Fleet(1, "1.0"));
  h.store.InjectConflict();
  auto r = h.reconciler->Reconcile(kKey);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->requeue);
  EXPECT_EQ(h.Current().status.phase, Phase::kNone);
  h.Drive();
  EXPECT_EQ(h.Current().status.phase, Phase::kRun);
}

TEST(RouterFleetReconciler, FailedActionIsReportedInTheStatus) {
  Harness h;
  h.runtime.SetMissingVersion("9.9");
  h.store.Put(Fleet(1, "9.9", /*front=*/false));
  Status last;
  for (int i = 0; i < 5; ++i) {
    auto r = h.reconciler->Reconcile(kKey);
    if (!r.ok()) last = r.status();
  }
  EXPECT_EQ(last.code(), Code::kNotFound);
  Resource current = h.Current();
  const Condition* c = FindCondition(current.status, kConditionProgressing);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, ConditionStatus::kFalse);
  EXPECT_EQ(c->reason, "StepFailed");
  EXPECT_EQ(c->message.rfind("start rf/f/blue-0: ", 0), 0u) << c->message;
  h.runtime.SetMissingVersion("");
  h.Drive();
  current = h.Current();
  c = FindCondition(current.status, kConditionProgressing);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, ConditionStatus::kTrue);
  EXPECT_EQ(current.status.phase, Phase::kRun);
}

TEST(RouterFleetReconciler, DeletedFleetLosesItsInstances) {
  Harness h;
  h.store.Put(Fleet(2, "1.0"));
  h.Drive();
  h.store.Erase("f");
  auto r = h.reconciler->Reconcile("f");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(h.runtime.Names().empty());
}

TEST(RouterFleetReconciler, StepLogIsBoundedAtItsLimit) {
  Harness h(/*max_log_entries=*/3);
  h.store.Put(Fleet(2, "1.0"));
  h.Drive();
  const nlohmann::json log = h.Current().status.operation["log"];
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[2]["step"], "Run");
  EXPECT_EQ(log[2]["result"], "run: 2 replicas ready");
}

TEST(RouterFleetReconciler, DefaultStoreIsUsedWhenSpecHasNone) {
  Harness h;
  Resource f = Fleet(1, "1.0", /*front=*/false);
  std::get<RouterFleetSpec>(f.spec).store.clear();
  h.store.Put(f);
  h.Drive();
  EXPECT_EQ(h.Current().status.phase, Phase::kFailed);
  Harness h2;
  h2.options.default_store = {"127.0.0.1:1", "127.0.0.1:2"};
  h2.reconciler = std::make_unique<RouterFleetReconciler>(static_cast<FleetStore*>(&h2.store),
                                                          &h2.runtime, &h2.probe, h2.options);
  h2.store.Put(f);
  h2.Drive();
  EXPECT_EQ(h2.Current().status.phase, Phase::kRun);
  EXPECT_EQ(h2.runtime.Get("rf/f/blue-0")->spec.args[1], "127.0.0.1:1,127.0.0.1:2");
}

// A one-shot HTTP server on 127.0.0.1:0 answering every connection with `reply`.
class TinyServer {
 public:
  explicit TinyServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    GRID_CHECK(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    GRID_CHECK(::listen(fd_, 4) == 0);
    socklen_t len = sizeof(addr);
    GRID_CHECK(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[1024];
      (void)!::recv(c, buf, sizeof(buf), 0);
      (void)!::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      ::close(c);
    });
  }
  ~TinyServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpReadinessProbe, OkOnlyOn200) {
  HttpReadinessProbe probe(milliseconds(2000));
  {
    TinyServer ok("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nready\n");
    EXPECT_TRUE(probe.Ready("127.0.0.1", ok.port()));
  }
  {
    TinyServer not_ready("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    EXPECT_FALSE(probe.Ready("127.0.0.1", not_ready.port()));
  }
  int closed_port = 0;
  {
    TinyServer gone("");
    closed_port = gone.port();
    EXPECT_FALSE(probe.Ready("127.0.0.1", closed_port));  // empty answer
  }
  EXPECT_FALSE(probe.Ready("127.0.0.1", closed_port));  // nothing listens
  EXPECT_FALSE(probe.Ready("127.0.0.1", 0));
}

}  // namespace
}  // namespace grid::mas::fleet
