// Inspection against real etcd 3.4 processes: one etcd is the control-plane store (resources,
// reports, job locks), another is the inspected single-member cluster.
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "client/testing/etcd_fixture.h"
#include "mas/inspect/job.h"
#include "mas/inspect/scheduler.h"
#include "mas/kvcluster/cluster_api.h"

namespace grid::mas::inspect {
namespace {

using client::testing::EtcdFixture;
using client::testing::EtcdProcess;
using client::testing::EtcdProcessOptions;

constexpr int64_t kTinyQuota = int64_t{16} << 20;

Resource Cluster(const std::string& name, int64_t interval_seconds = 10) {
  Resource r;
  r.metadata.name = name;
  KVClusterSpec spec;
  spec.engine = "etcd";
  spec.version = "3.4.0";
  spec.members = 1;
  spec.quota_backend_bytes = kTinyQuota;
  spec.inspection = Inspection{interval_seconds};
  r.spec = spec;
  return r;
}

int Ran(Result<int> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : -1;
}

std::string CondStatus(const nlohmann::json& report, const std::string& type) {
  for (const auto& c : report["conditions"]) {
    if (c["type"] == type) return c["status"];
  }
  return "absent";
}

// Creates KVCluster `name` with one member in its status (the scheduler skips clusters
// without members).
void CreateWithMember(ResourceStore* store, const std::string& name, int64_t interval_seconds) {
  auto created = store->Create(Cluster(name, interval_seconds));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ResourceStatus status;
  status.members = {{"m0", "", "http://127.0.0.1:1", "", "3.4.0", true}};
  ASSERT_TRUE(store->UpdateStatus(Kind::kKVCluster, name, status, created->metadata.resource_version).ok());
}

class InspectProcessTest : public EtcdFixture {
 protected:
  void SetUp() override {
    EtcdFixture::SetUp();
    store_ = std::make_unique<ResourceStore>(client_.get());
  }
  void TearDown() override {
    store_.reset();
    target_.reset();
    EtcdFixture::TearDown();
  }

  // Starts the inspected etcd and records it as member "m0" of KVCluster `name`.
  void StartTarget(const std::string& name, std::vector<std::string> flags = {}) {
    EtcdProcessOptions o;
    o.extra_flags = std::move(flags);
    auto etcd = EtcdProcess::Start(o);
    ASSERT_TRUE(etcd.ok()) << etcd.status().ToString();
    target_ = std::move(*etcd);
    auto created = store_->Create(Cluster(name));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    ResourceStatus status = created->status;
    status.phase = Phase::kRun;
    status.members = {{"m0", "", target_->client_url(), "", "3.4.0", true}};
    status.operation = nlohmann::json{{"name", "Provision"}, {"step", 3}};
    auto updated = store_->UpdateStatus(Kind::kKVCluster, name, status, created->metadata.resource_version);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  }

  std::unique_ptr<ResourceStore> store_;
  std::unique_ptr<EtcdProcess> target_;
};

TEST_F(InspectProcessTest, HealthyClusterReport) {
  StartTarget("c");
  auto target_client = client::Client::Connect(std::vector<std::string>{target_->endpoint()}, client::ClientOptions{});
  ASSERT_TRUE(target_client.ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*target_client)->Put("k" + std::to_string(i), "v").ok());

  InspectionJob job(client_.get(), store_.get());
  auto report = job.Run("c");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  for (const char* type : {kCondHealthy, kCondLeaderPresent, kCondAppliedIndexLag,
                           kCondHashAgreement, kCondAlarms, kCondDbSize}) {
    EXPECT_EQ(CondStatus(*report, type), "True") << type << ": " << report->dump();
  }
  EXPECT_GE((*report)["hashRevision"].get<int64_t>(), 21);
  EXPECT_EQ((*report)["members"][0]["name"], "m0");
  EXPECT_FALSE(report->contains("tick")) << "not a scheduled run";
  EXPECT_FALSE(report->contains("replica")) << "not a scheduled run";

  // The report is stored; the conditions are in the status; the operation is untouched.
  auto stored = job.LastReport("c");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ(**stored, *report);
  auto res = store_->Get(Kind::kKVCluster, "c");
  ASSERT_TRUE(res.ok());
  const Condition* hash = FindCondition(res->status, kCondHashAgreement);
  ASSERT_NE(hash, nullptr);
  EXPECT_EQ(hash->status, ConditionStatus::kTrue);
  EXPECT_EQ(res->status.operation["name"], "Provision");

  // A second run, scheduled, continues the events and carries its tick and replica.
  auto again = job.Run("c", ScheduledRun{.tick = 7, .replica = "r1"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["events"].size(), 2u);
  EXPECT_EQ((*again)["tick"], 7);
  EXPECT_EQ((*again)["replica"], "r1");
  stored = job.LastReport("c");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(**stored, *again);

  // A stopped member: Healthy False, and still a report.
  target_->Kill();
  InspectionJobOptions fast;
  fast.cluster_api = kvcluster::GrpcClusterApiFactory(std::chrono::milliseconds(1000));
  InspectionJob fast_job(client_.get(), store_.get(), fast);
  auto down = fast_job.Run("c");
  ASSERT_TRUE(down.ok()) << down.status().ToString();
  EXPECT_EQ(CondStatus(*down, kCondHealthy), "False") << down->dump();
}

TEST_F(InspectProcessTest, NoSpaceIsRemedied) {
  StartTarget("full", {"--quota-backend-bytes=" + std::to_string(kTinyQuota)});
  auto target_client = client::Client::Connect(std::vector<std::string>{target_->endpoint()}, client::ClientOptions{});
  ASSERT_TRUE(target_client.ok());
  // Overwrite one key with 1 MiB values until the quota is hit (each revision is kept).
  const std::string value(1 << 20, 'x');
  Status put;
  int puts = 0;
  for (; puts < 64; ++puts) {
    put = (*target_client)->Put("fill", value).status();
    if (!put.ok()) break;
  }
  ASSERT_FALSE(put.ok()) << "quota never hit after " << puts << " puts";
  EXPECT_NE(put.message().find("space"), std::string::npos) << put.ToString();

  kvcluster::GrpcClusterApi api({target_->endpoint()});
  auto alarms = api.AlarmList();
  ASSERT_TRUE(alarms.ok());
  ASSERT_EQ(alarms->size(), 1u);
  EXPECT_EQ((*alarms)[0].type, kvcluster::AlarmType::kNoSpace);

  InspectionJob job(client_.get(), store_.get());
  auto report = job.Run("full");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(CondStatus(*report, kCondNoSpaceRemedied), "True") << report->dump(2);
  EXPECT_EQ(CondStatus(*report, kCondAlarms), "True") << report->dump(2);
  std::vector<std::string> reasons;
  for (const auto& e : (*report)["events"]) reasons.push_back(e["reason"]);
  auto has = [&](const std::string& r) {
    return std::find(reasons.begin(), reasons.end(), r) != reasons.end();
  };
  EXPECT_TRUE(has("NoSpace") && has("Compacted") && has("Defragmented") && has("Disarmed"))
      << report->dump(2);

  auto res = store_->Get(Kind::kKVCluster, "full");
  ASSERT_TRUE(res.ok());
  const Condition* remedied = FindCondition(res->status, kCondNoSpaceRemedied);
  ASSERT_NE(remedied, nullptr);
  EXPECT_EQ(remedied->status, ConditionStatus::kTrue);

  // Writes are accepted again.
  EXPECT_TRUE(api.AlarmList()->empty());
  auto after = (*target_client)->Put("after", "ok");
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

// Conflicting status writes between the read and the UpdateStatus of the job (made from the
// injected clock, which the job reads just before each attempt) are re-read and re-applied.
TEST_F(InspectProcessTest, StatusConflictsAreRetriedUpToTheLimit) {
  CreateWithMember(store_.get(), "c", 10);
  int calls = 0;
  int conflicts = 0;
  int writes = 0;  // each conflicting write adds a new condition (an unchanged status is not written)
  auto now = [&] {
    if (++calls >= 2 && conflicts > 0) {  // call 1 stamps the probes; then one per attempt
      --conflicts;
      auto res = store_->Get(Kind::kKVCluster, "c");
      EXPECT_TRUE(res.ok());
      ResourceStatus st = res->status;
      SetCondition(&st, {"Other" + std::to_string(writes++), ConditionStatus::kTrue, "R", "", ""}, "t");
      EXPECT_TRUE(store_->UpdateStatus(Kind::kKVCluster, "c", st, res->metadata.resource_version).ok());
    }
    return std::chrono::system_clock::now();
  };
  InspectionJobOptions o;
  o.cluster_api = kvcluster::GrpcClusterApiFactory(std::chrono::milliseconds(1000));
  o.now = now;
  o.max_status_tries = 3;
  InspectionJob job(client_.get(), store_.get(), o);

  conflicts = 2;  // two conflicts, then the third attempt succeeds
  auto ok = job.Run("c");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto res = store_->Get(Kind::kKVCluster, "c");
  ASSERT_TRUE(res.ok());
  EXPECT_NE(FindCondition(res->status, "Other0"), nullptr);
  EXPECT_NE(FindCondition(res->status, "Other1"), nullptr);
  ASSERT_NE(FindCondition(res->status, kCondHealthy), nullptr);
  EXPECT_EQ(FindCondition(res->status, kCondHealthy)->status, ConditionStatus::kFalse);

  calls = 0;
  conflicts = 3;  // every attempt conflicts
  auto failed = job.Run("c");
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(IsConflict(failed.status())) << failed.status().ToString();
  EXPECT_NE(failed.status().message().find("after 3 conflicts"), std::string::npos)
      << failed.status().ToString();
}

// Two replicas (separate clients and sessions) schedule the same ticks of a 10 s interval
// on an injected wall clock: every (cluster, tick) runs exactly once in total, and each run
// is told its tick and its replica.
TEST_F(InspectProcessTest, EveryTickRunsExactlyOnceAcrossReplicas) {
  for (const char* name : {"a", "b"}) CreateWithMember(store_.get(), name, 10);
  ASSERT_TRUE(store_->Create(Cluster("unprovisioned", 10)).ok());  // skipped: no members
  CreateWithMember(store_.get(), "provisioning", 10);  // skipped: phase Provision
  {
    auto p = store_->Get(Kind::kKVCluster, "provisioning");
    ASSERT_TRUE(p.ok());
    ResourceStatus status = p->status;
    status.phase = Phase::kProvision;
    ASSERT_TRUE(store_->UpdateStatus(Kind::kKVCluster, "provisioning", status,
                                     p->metadata.resource_version)
                    .ok());
  }
  std::atomic<int64_t> now_seconds{1'000'000'000};  // a multiple of 10: tick boundary
  auto now = [&] { return std::chrono::system_clock::time_point(std::chrono::seconds(now_seconds.load())); };

  std::mutex mu;
  std::map<std::pair<std::string, int64_t>, int> runs;  // guarded by mu
  std::map<std::string, int> by_replica;                // guarded by mu
  auto run_for = [&](const std::string& replica) {
    return [&, replica](const std::string& cluster, const ScheduledRun& run) {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_EQ(run.tick, Tick(now(), 10)) << cluster;
      EXPECT_EQ(run.replica, replica) << cluster;
      ++runs[{cluster, run.tick}];
      ++by_replica[replica];
      return Status::Ok();
    };
  };
  auto c2 = Connect();
  ASSERT_NE(c2, nullptr);
  ResourceStore store2(c2.get());
  InspectionSchedulerOptions o1{.replica = "r1", .now = now};
  InspectionSchedulerOptions o2{.replica = "r2", .now = now};
  InspectionScheduler s1(client_.get(), store_.get(), run_for("r1"), o1);
  InspectionScheduler s2(c2.get(), &store2, run_for("r2"), o2);

  constexpr int kTicks = 6;
  for (int t = 0; t < kTicks; ++t) {
    // Several passes per tick on both replicas at once, at different seconds of the tick.
    for (int pass = 0; pass < 2; ++pass) {
      now_seconds += pass == 0 ? 0 : 3;
      Result<int> r1 = 0, r2 = 0;
      std::thread t1([&] { r1 = s1.RunDue(); });
      std::thread t2([&] { r2 = s2.RunDue(); });
      t1.join();
      t2.join();
      ASSERT_TRUE(r1.ok()) << r1.status().ToString();
      ASSERT_TRUE(r2.ok()) << r2.status().ToString();
      EXPECT_EQ(*r1 + *r2, pass == 0 ? 2 : 0) << "tick " << t << " pass " << pass;
    }
    now_seconds += 7;  // the next tick
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(runs.size(), 2u * kTicks);
  for (const auto& [key, n] : runs) EXPECT_EQ(n, 1) << key.first << " tick " << key.second;
  EXPECT_EQ(by_replica["r1"] + by_replica["r2"], 2 * kTicks);
}

TEST_F(InspectProcessTest, RunNowIsNotATickAndSkippedTicksRunOnce) {
  CreateWithMember(store_.get(), "c", 10);
  std::atomic<int64_t> now_seconds{2'000'000'000};
  auto now = [&] { return std::chrono::system_clock::time_point(std::chrono::seconds(now_seconds.load())); };
  std::atomic<int> runs{0};
  InspectionScheduler s(client_.get(), store_.get(), [&](const std::string&) {
    ++runs;
    return Status::Ok();
  }, {.replica = "r1", .now = now});

  auto on_demand = s.RunNow("c", [] { return Result<nlohmann::json>(nlohmann::json{{"ok", true}}); });
  ASSERT_TRUE(on_demand.ok()) << on_demand.status().ToString();
  EXPECT_EQ((*on_demand)["ok"], true);
  EXPECT_EQ(Ran(s.RunDue()), 1);  // the on-demand run did not spend the tick
  now_seconds += 35;                      // three ticks later
  EXPECT_EQ(Ran(s.RunDue()), 1);
  EXPECT_EQ(Ran(s.RunDue()), 0);
  EXPECT_EQ(runs.load(), 2);
}

}  // namespace
}  // namespace grid::mas::inspect
