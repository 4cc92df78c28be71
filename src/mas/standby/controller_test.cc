// StandbyController over a real ResourceStore (etcd 3.4) with a fake mirror and fake
// cluster calls: the mirror's life (started with the spec's options, stopped when
// spec.standby goes, status.mirror and gauges published and removed), a promotion resumed by
// a second controller (a new leader) at its persisted step with a RouterFleet re-pointed, and
// a fenced former primary disarmed when it becomes a standby.
#include "mas/standby/controller.h"

#include <gtest/gtest.h>

#include <atomic>

#include "client/testing/etcd_fixture.h"

namespace grid::mas::standby {
namespace {

using client::testing::EtcdFixture;

struct MirrorRecord {
  mirror::MirrorOptions options;
  std::shared_ptr<std::atomic<bool>> stopped = std::make_shared<std::atomic<bool>>(false);
};

class FakeMirror : public MirrorHandle {
 public:
  FakeMirror(std::shared_ptr<mirror::MirrorStats> stats, std::shared_ptr<std::atomic<bool>> stopped)
      : stats_(std::move(stats)), stopped_(std::move(stopped)) {}
  mirror::MirrorStats Stats() const override { return *stats_; }
  void Stop() override { *stopped_ = true; }

 private:
  std::shared_ptr<mirror::MirrorStats> stats_;
  std::shared_ptr<std::atomic<bool>> stopped_;
};

class FakeOps : public ClusterOps {
 public:
  Result<int64_t> Revision(const std::vector<std::string>&) override { return revision; }
  Status RaiseNoSpace(const std::vector<std::string>& eps) override {
    fenced.insert(eps.at(0));
    return Status::Ok();
  }
  Status DisarmNoSpace(const std::vector<std::string>& eps) override {
    fenced.erase(eps.at(0));
    ++disarms;
    return Status::Ok();
  }
  Result<int64_t> ProgressRevision(const std::vector<std::string>&, const std::string&) override {
    return revision;
  }
  int64_t revision = 40;
  std::set<std::string> fenced;
  int disarms = 0;
};

class StandbyControllerTest : public EtcdFixture {
 protected:
  void SetUp() override {
    EtcdFixture::SetUp();
    store_ = std::make_unique<ResourceStore>(client_.get());
    stats_ = std::make_shared<mirror::MirrorStats>();
    stats_->watching = true;
    stats_->lag = {.primary_revision = 30, .applied_revision = 30, .revisions = 0, .seconds = 0};
  }
  void TearDown() override {
    store_.reset();
    EtcdFixture::TearDown();
  }

  std::unique_ptr<StandbyController> NewController(size_t max_mirrors = kMaxMirrors) {
    StandbyControllerOptions o;
    o.max_mirrors = max_mirrors;
    o.ops = &ops_;
    o.metrics = &metrics_;
    o.new_mirror = [this](const mirror::MirrorOptions& options)
        -> Result<std::unique_ptr<MirrorHandle>> {
      MirrorRecord rec;
      rec.options = options;
      mirrors_.push_back(rec);
      return std::unique_ptr<MirrorHandle>(std::make_unique<FakeMirror>(stats_, rec.stopped));
    };
    return std::make_unique<StandbyController>(store_.get(), std::move(o));
  }

  void Cluster(const std::string& name, const std::string& client_url,
               std::optional<StandbySpec> standby = std::nullopt) {
    Resource r;
    r.metadata.name = name;
    KVClusterSpec spec;
    spec.engine = "etcd";
    spec.version = "3.4.23";
    spec.members = 1;
    spec.standby = standby;
    r.spec = spec;
    auto made = store_->Create(r);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    ResourceStatus st;
    st.members.push_back({name + "-0", "1", client_url, "http://127.0.0.1:9", "3.4.23", true});
    ASSERT_TRUE(store_->UpdateStatus(Kind::kKVCluster, name, st, made->metadata.resource_version).ok());
  }

  Resource Get(const std::string& name) {
    auto r = store_->Get(Kind::kKVCluster, name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Resource{};
  }

  void SetStandby(const std::string& name, std::optional<StandbySpec> standby) {
    for (int i = 0; i < 5; ++i) {
      Resource r = Get(name);
      std::get<KVClusterSpec>(r.spec).standby = standby;
      if (store_->Update(r).ok()) return;
    }
    FAIL() << "spec.standby of " << name << " not written";
  }

  std::unique_ptr<ResourceStore> store_;
  std::shared_ptr<mirror::MirrorStats> stats_;
  std::vector<MirrorRecord> mirrors_;
  FakeOps ops_;
  metrics::Registry metrics_;
};

TEST_F(StandbyControllerTest, MirrorFollowsTheSpecAndPublishesStatus) {
  Cluster("s", "http://127.0.0.1:2");
  Cluster("p", "http://127.0.0.1:1", StandbySpec{"s", {}, std::nullopt});
  auto c = NewController();
  c->RunOnce();
  ASSERT_EQ(mirrors_.size(), 1u);
  EXPECT_EQ(mirrors_[0].options.primary_endpoints, std::vector<std::string>{"http://127.0.0.1:1"});
  EXPECT_EQ(mirrors_[0].options.standby_endpoints, std::vector<std::string>{"http://127.0.0.1:2"});
  EXPECT_EQ(mirrors_[0].options.prefixes, std::vector<std::string>{""});
  EXPECT_EQ(mirrors_[0].options.own_prefix, "/grid-mirror/p");
  Resource p = Get("p");
  EXPECT_EQ(p.status.mirror["state"], "Watching") << p.status.mirror.dump();
  EXPECT_EQ(p.status.mirror["appliedRevision"], 30);
  const Condition* cond = FindCondition(p.status, kCondMirrorInSync);
  ASSERT_NE(cond, nullptr);
  EXPECT_EQ(cond->status, ConditionStatus::kTrue);
  EXPECT_NE(metrics_.Render().find("grid_mas_mirror_lag_revisions{cluster=\"p\",standby=\"s\"} 0"),
            std::string::npos)
      << metrics_.Render();

  // A second pass changes nothing: no new mirror, no write.
  const std::string version = p.metadata.resource_version;
  c->RunOnce();
  EXPECT_EQ(mirrors_.size(), 1u);
  EXPECT_EQ(Get("p").metadata.resource_version, version);

  // Prefixes change: the mirror restarts with them.
  SetStandby("p", StandbySpec{"s", {"/a/"}, std::nullopt});
  c->RunOnce();
  ASSERT_EQ(mirrors_.size(), 2u);
  EXPECT_TRUE(*mirrors_[0].stopped);
  EXPECT_EQ(mirrors_[1].options.prefixes, std::vector<std::string>{"/a/"});

  // spec.standby removed: stopped, status.mirror and the condition gone, series removed.
  SetStandby("p", std::nullopt);
  c->RunOnce();
  EXPECT_TRUE(*mirrors_[1].stopped);
  p = Get("p");
  EXPECT_TRUE(p.status.mirror.is_null()) << p.status.mirror.dump();
  EXPECT_EQ(FindCondition(p.status, kCondMirrorInSync), nullptr);
  EXPECT_EQ(metrics_.Render().find("cluster=\"p\""), std::string::npos) << metrics_.Render();
}

TEST_F(StandbyControllerTest, WaitsForTheStandbyCluster) {
  Cluster("p", "http://127.0.0.1:1", StandbySpec{"s", {}, std::nullopt});
  auto c = NewController();
  c->RunOnce();
  EXPECT_TRUE(mirrors_.empty());
  Resource p = Get("p");
  EXPECT_EQ(p.status.mirror["state"], "WaitingForClusters");
  EXPECT_EQ(p.status.mirror["lastError"], "standby KVCluster \"s\" not found");
}

TEST_F(StandbyControllerTest, ANewLeaderResumesTheSwitchoverAtItsStep) {
  Cluster("s", "http://127.0.0.1:2");
  Cluster("p", "http://127.0.0.1:1", StandbySpec{"s", {}, std::nullopt});
  Resource fleet;
  fleet.metadata.name = "edge";
  RouterFleetSpec fs;
  fs.version = "1";
  fs.routes_prefix = "/routes/";
  fs.store_cluster = "p";
  fleet.spec = fs;
  ASSERT_TRUE(store_->Create(fleet).ok());

  auto first = NewController();
  first->RunOnce();
  SetStandby("p", StandbySpec{"s", {}, PromoteRequest{kPromoteSwitchover, "r1"}});
  first->RunOnce();  // the operation is created and fences p
  first->RunOnce();  // CatchUp: the fence revision (40) is read
  Resource p = Get("p");
  ASSERT_TRUE(p.status.mirror["operation"].is_object()) << p.status.mirror.dump();
  EXPECT_EQ(p.status.mirror["operation"]["step"], kStepCatchUp);
  EXPECT_EQ(p.status.mirror["operation"]["fenceRevision"], 40);
  EXPECT_EQ(p.status.mirror["writeFenced"], true);
  EXPECT_TRUE(ops_.fenced.count("http://127.0.0.1:1"));
  first->Stop();
  first.reset();  // leadership lost

  auto second = NewController();
  stats_->lag.applied_revision = 40;  // the new mirror has caught up
  for (int i = 0; i < 6; ++i) second->RunOnce();
  p = Get("p");
  const nlohmann::json& promotion = p.status.mirror["promotion"];
  ASSERT_TRUE(promotion.is_object()) << p.status.mirror.dump();
  EXPECT_EQ(promotion["result"], "Succeeded");
  EXPECT_EQ(promotion["requested"], "r1");
  EXPECT_EQ(promotion["fenceRevision"], 40);
  EXPECT_EQ(promotion["uncopiedRevisions"], 0);
  EXPECT_EQ(promotion["repointedFleets"], nlohmann::json::array({"edge"}));
  EXPECT_EQ(p.status.mirror["state"], "Promoted");
  EXPECT_EQ(p.status.mirror["promotedTo"], "s");
  EXPECT_FALSE(p.status.mirror.contains("operation"));
  ASSERT_FALSE(p.status.history.empty());
  EXPECT_EQ(p.status.history.back().name, kOpSwitchover);
  auto f = store_->Get(Kind::kRouterFleet, "edge");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(std::get<RouterFleetSpec>(f->spec).store_cluster, "s");
  EXPECT_TRUE(ops_.fenced.count("http://127.0.0.1:1"));  // p keeps refusing writes
  // No mirror p -> s runs after the promotion.
  const size_t made = mirrors_.size();
  second->RunOnce();
  EXPECT_EQ(mirrors_.size(), made);
  EXPECT_TRUE(*mirrors_.back().stopped);

  // s mirrors back to p: p's fence is disarmed before that mirror starts.
  SetStandby("s", StandbySpec{"p", {}, std::nullopt});
  second->RunOnce();
  EXPECT_FALSE(ops_.fenced.count("http://127.0.0.1:1"));
  ASSERT_EQ(mirrors_.size(), made + 1);
  EXPECT_EQ(mirrors_.back().options.primary_endpoints, std::vector<std::string>{"http://127.0.0.1:2"});
  EXPECT_EQ(Get("p").status.mirror["writeFenced"], false);
  second->RunOnce();
  EXPECT_EQ(Get("p").status.mirror["writeFenced"], false);  // p's own pass keeps it cleared
}

TEST_F(StandbyControllerTest, ARepeatedRequestAfterAPromotionIsRefused) {
  Cluster("s", "http://127.0.0.1:2");
  Cluster("p", "http://127.0.0.1:1", StandbySpec{"s", {}, PromoteRequest{kPromoteFailover, "r1"}});
  auto c = NewController();
  for (int i = 0; i < 5; ++i) c->RunOnce();
  EXPECT_EQ(Get("p").status.mirror["promotion"]["result"], "Succeeded");
  SetStandby("p", StandbySpec{"s", {}, PromoteRequest{kPromoteFailover, "r2"}});
  c->RunOnce();
  const nlohmann::json promotion = Get("p").status.mirror["promotion"];
  EXPECT_EQ(promotion["result"], "Failed");
  EXPECT_EQ(promotion["requested"], "r2");
  EXPECT_NE(promotion["message"].get<std::string>().find("already promoted"), std::string::npos);
}

TEST_F(StandbyControllerTest, MirrorsBeyondTheLimitWait) {
  Cluster("s", "http://127.0.0.1:2");
  Cluster("a", "http://127.0.0.1:1", StandbySpec{"s", {"/a/"}, std::nullopt});
  Cluster("b", "http://127.0.0.1:3", StandbySpec{"s", {"/b/"}, std::nullopt});
  auto c = NewController(/*max_mirrors=*/1);
  c->RunOnce();
  ASSERT_EQ(mirrors_.size(), 1u);  // at the limit
  EXPECT_EQ(Get("a").status.mirror["state"], "Watching");
  EXPECT_EQ(Get("b").status.mirror["state"], "WaitingForClusters");
  EXPECT_NE(Get("b").status.mirror["lastError"].get<std::string>().find("the limit"),
            std::string::npos);
  SetStandby("a", std::nullopt);  // one stops: the waiting one starts
  c->RunOnce();
  c->RunOnce();
  ASSERT_EQ(mirrors_.size(), 2u);
  EXPECT_EQ(mirrors_[1].options.own_prefix, "/grid-mirror/b");
}

}  // namespace
}  // namespace grid::mas::standby
