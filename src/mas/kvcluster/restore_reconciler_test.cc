// Restore scenarios through Reconcile with the fakes: a quorum loss recovered by setting
// spec.restoreFrom, a restore resumed by a fresh reconciler (restart) and after a lost status
// write, a failed fetch held in Failed until a new request, a new cluster restored.
#include <algorithm>
#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "mas/kvcluster/reconciler.h"
#include "mas/kvcluster/restore_step.h"
#include "mas/kvcluster/testing/fake_cluster.h"
#include "mas/kvcluster/testing/fake_runtime.h"
#include "mas/kvcluster/testing/mem_store.h"

namespace grid::mas::kvcluster {
namespace {

using std::chrono::seconds;
using testing::FakeCluster;
using testing::FakeRuntime;
using testing::MemStore;
using testing::MemStoreAccess;

// At most this many passes for one scenario phase (each pass takes one step).
constexpr int kMaxPasses = 200;

// A RestoreIo over the fakes: a moved-aside dir empties the fake data dir; a restored data dir
// makes the fake cluster a new one (members bootstrap again, new ids).
class FakeRestoreIo final : public RestoreIo {
 public:
  FakeRestoreIo(FakeRuntime* runtime, FakeCluster* cluster) : runtime_(runtime), cluster_(cluster) {}

  Status MoveAside(const std::string& data_dir, const std::string& aside) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back("MoveAside " + data_dir + " " + aside);
    return runtime_->WipeData(data_dir.substr(std::string("/fake/data/").size()));
  }
  Result<backup::BackupRecord> Fetch(const std::string& bucket_url, const std::string& cluster,
                                     const std::string& name, const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back("Fetch " + bucket_url + " " + cluster + " " + name + " " + path);
    if (!fetch_error.ok()) return fetch_error;
    backup::BackupRecord r;
    r.name = "c-20270115T075900Z";
    r.cluster = "c";
    r.engine = "gridkv";
    r.version = "3.4.0";
    r.revision = 42;
    r.size_bytes = 1024;
    r.sha256 = std::string(64, 'a');
    r.created = "2027-01-15T07:59:00Z";
    r.member = "0000000000001000";
    r.endpoint = "http://127.0.0.1:1";
    r.hash_kv = 7;
    r.verified = true;
    return r;
  }
  Status RestoreDataDir(const std::string& engine, const std::string& snapshot,
                        const backup::RestoreTarget& t, const std::string& sha256) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!restored_.insert(t.data_dir).second) {
      log_.push_back("RestoreDataDir kept " + t.name);
      return Status::Ok();
    }
    log_.push_back("RestoreDataDir " + engine + " " + snapshot + " " + t.name + " " +
                   t.initial_cluster_token + " " + t.initial_cluster + " " + sha256.substr(0, 4));
    cluster_->Reset();
    return Status::Ok();
  }
  Status RemoveScratch(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back("RemoveScratch " + path);
    return Status::Ok();
  }
  Status Verify(const std::vector<std::string>& endpoints,
                const backup::BackupRecord& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back("Verify " + std::to_string(endpoints.size()) + " " + record.name);
    return Status::Ok();
  }

  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  size_t Count(const std::string& prefix) {
    const auto log = Log();
    return static_cast<size_t>(std::count_if(log.begin(), log.end(), [&](const std::string& l) {
      return l.rfind(prefix, 0) == 0;
    }));
  }
  Status fetch_error;  // set before the restore runs

 private:
  FakeRuntime* const runtime_;
  FakeCluster* const cluster_;
  std::mutex mu_;
  std::vector<std::string> log_;
  std::set<std::string> restored_;
};

class RestoreReconcilerTest : public ::testing::Test {
 protected:
  RestoreReconcilerTest() {
    options_.now = [this] { return now_; };
    options_.data_dir_empty = [this](const std::string& d) { return runtime_.DataDirEmpty(d); };
    options_.plan.member_grace = seconds(30);
    options_.restore_io = io_;
    options_.restore_scratch_dir = "/fake/scratch";
    NewReconciler();
  }
  void NewReconciler() {
    reconciler_ = std::make_unique<KVClusterReconciler>(
        std::make_unique<MemStoreAccess>(&store_), &runtime_, cluster_.Factory(), options_);
  }
  void Apply(const std::string& restore, const std::string& requested = "") {
    Resource r;
    r.metadata.name = "c";
    r.metadata.uid = "0123456789abcdef";
    KVClusterSpec spec;
    spec.engine = "gridkv";
    spec.version = "3.4.0";
    spec.members = 3;
    spec.backup = BackupSpec{"", "/backups", std::nullopt};
    if (!restore.empty()) spec.restore_from = RestoreFrom{restore, requested};
    Defaults(&spec);
    r.spec = spec;
    store_.Put(std::move(r));
  }
  Resource Current() {
    auto r = store_.Get("c");
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : Resource{};
  }
  void Pass(Duration tick = seconds(1)) {
    auto r = reconciler_->Reconcile("c");
    if (!r.ok()) errors_.push_back(r.status().ToString());
    now_ += tick;
  }
  bool RunUntil(const std::function<bool(const Resource&)>& done, Duration tick = seconds(1)) {
    for (int i = 0; i < kMaxPasses; ++i) {
      if (done(Current())) return true;
      Pass(tick);
    }
    return done(Current());
  }
  static bool Running(const Resource& r) {
    if (r.status.phase != Phase::kRun || !r.status.operation.is_null()) return false;
    if (r.status.members.size() != 3) return false;
    return std::all_of(r.status.members.begin(), r.status.members.end(),
                       [](const MemberStatus& m) { return m.healthy && !m.id.empty(); });
  }
  static bool Restored(const Resource& r) {
    const Condition* c = FindCondition(r.status, kCondRestored);
    return Running(r) && c != nullptr && c->status == ConditionStatus::kTrue;
  }
  std::string Stage() {
    auto op = OperationFromJson(Current().status.operation);
    return op.ok() && *op ? (*op)->stage : "";
  }
  std::vector<std::string> History() {
    std::vector<std::string> out;
    for (const OperationRecord& rec : Current().status.history) {
      out.push_back(rec.name + " " + OperationResultName(rec.result));
    }
    return out;
  }
  std::vector<std::string> RestoreSteps() {
    const auto history = Current().status.history;
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
      if (it->name != kOpRestore) continue;
      std::vector<std::string> steps;
      for (const HistoryStep& h : it->steps) steps.push_back(h.step + " " + h.result);
      return steps;
    }
    return {};
  }
  std::set<std::string> Ids() {
    std::set<std::string> ids;
    for (const MemberStatus& m : Current().status.members) ids.insert(m.id);
    return ids;
  }
  void Provision3() {
    Apply("");
    ASSERT_TRUE(RunUntil(Running));
  }
  void LoseQuorum() {
    runtime_.Crash(InstanceName("c", "c-1"));
    runtime_.LoseData(InstanceName("c", "c-2"));
    ASSERT_TRUE(RunUntil([](const Resource& r) { return r.status.phase == Phase::kFailed; },
                         seconds(5)));
  }

  TimePoint now_ = std::chrono::system_clock::from_time_t(1'800'000'000);
  KVClusterOptions options_;
  MemStore store_;
  FakeRuntime runtime_;
  FakeCluster cluster_{&runtime_};
  std::shared_ptr<FakeRestoreIo> io_ = std::make_shared<FakeRestoreIo>(&runtime_, &cluster_);
  std::unique_ptr<KVClusterReconciler> reconciler_;
  std::vector<std::string> errors_;
};

const std::vector<std::string> kAllStages = {
    "Restore StopMembers ok",  "Restore MoveAside ok",    "Restore FetchBackup ok",
    "Restore RestoreData ok",  "Restore StartMembers ok", "Restore VerifyRestored ok"};

TEST_F(RestoreReconcilerTest, QuorumLossRecoveredByRestore) {
  Provision3();
  const std::set<std::string> old_ids = Ids();
  LoseQuorum();
  const Condition* q = FindCondition(Current().status, kCondQuorumLost);
  ASSERT_NE(q, nullptr);
  EXPECT_NE(q->message.find("gridctl restore kvcluster c"), std::string::npos) << q->message;

  Apply("latest");
  ASSERT_TRUE(RunUntil(Restored)) << PhaseName(Current().status.phase);
  // Every member stopped, its data dir moved aside (named with the start), one fetch, every
  // data dir restored with one new token, started as a new cluster, verified.
  EXPECT_EQ(io_->Count("MoveAside /fake/data/kv/c/c-"), 3u);
  for (const std::string& line : io_->Log()) {
    if (line.rfind("MoveAside", 0) == 0) {
      EXPECT_NE(line.find(".before-restore-"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(io_->Count("Fetch /backups c latest /fake/scratch/c-"), 1u);
  EXPECT_EQ(io_->Count("RestoreDataDir gridkv /fake/scratch/c-"), 3u);
  EXPECT_EQ(io_->Count("Verify 3 c-20270115T075900Z"), 1u);
  std::set<std::string> tokens;
  for (const auto& inst : runtime_.List("kv/c/")) {
    EXPECT_EQ(FakeRuntime::Arg(inst.spec, "--initial-cluster-state"), "new");
    tokens.insert(FakeRuntime::Arg(inst.spec, "--initial-cluster-token"));
  }
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens.begin()->rfind("c-restore-", 0), 0u) << *tokens.begin();
  // New ids from the new cluster.
  const std::set<std::string> new_ids = Ids();
  for (const std::string& id : new_ids) EXPECT_EQ(old_ids.count(id), 0u) << id;
  const Condition* restored = FindCondition(Current().status, kCondRestored);
  EXPECT_NE(restored->message.find("backup c-20270115T075900Z at revision 42"), std::string::npos)
      << restored->message;
  const Condition* lost = FindCondition(Current().status, kCondQuorumLost);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->status, ConditionStatus::kFalse);
  EXPECT_EQ(History().back(), "Restore Succeeded");
  EXPECT_EQ(RestoreSteps(), kAllStages);

  // Never again by itself.
  for (int i = 0; i < 20; ++i) Pass(seconds(10));
  EXPECT_EQ(io_->Count("Fetch"), 1u);
  EXPECT_TRUE(Running(Current()));
}

TEST_F(RestoreReconcilerTest, RestartMidRestoreResumesFromThePersistedStage) {
  Provision3();
  Apply("c-20270115T075900Z");
  ASSERT_TRUE(RunUntil([this](const Resource&) { return Stage() == kStageRestoreData; }));
  NewReconciler();  // a restarted control plane
  // The RestoreData pass's status write is lost: the stage runs again and keeps what it made.
  store_.InjectConflicts(1);
  Pass();
  EXPECT_EQ(Stage(), kStageRestoreData);
  ASSERT_TRUE(RunUntil(Restored));
  EXPECT_EQ(io_->Count("Fetch /backups c c-20270115T075900Z"), 1u);
  EXPECT_EQ(io_->Count("RestoreDataDir gridkv"), 3u);
  EXPECT_EQ(io_->Count("RestoreDataDir kept"), 3u);
  EXPECT_EQ(RestoreSteps(), kAllStages);
}

TEST_F(RestoreReconcilerTest, FailedFetchHoldsFailedUntilANewRequest) {
  Provision3();
  io_->fetch_error = NotFound("no verified backup of c");
  Apply("latest", "2027-01-15T08:00:00Z");
  ASSERT_TRUE(RunUntil([](const Resource& r) { return r.status.phase == Phase::kFailed; }));
  const Condition* c = FindCondition(Current().status, kCondRestored);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, ConditionStatus::kFalse);
  EXPECT_NE(c->message.find("FetchBackup failed"), std::string::npos) << c->message;
  EXPECT_NE(c->message.find("no verified backup of c"), std::string::npos);
  EXPECT_EQ(History().back(), "Restore Failed");
  for (int i = 0; i < 10; ++i) Pass(seconds(10));
  EXPECT_EQ(Current().status.phase, Phase::kFailed);
  EXPECT_EQ(io_->Count("Fetch"), 1u);

  io_->fetch_error = Status::Ok();
  Apply("latest", "2027-01-15T09:00:00Z");
  ASSERT_TRUE(RunUntil(Restored));
  EXPECT_EQ(io_->Count("Fetch"), 2u);
}

TEST_F(RestoreReconcilerTest, NewClusterIsRestoredInsteadOfProvisioned) {
  Apply("latest");
  ASSERT_TRUE(RunUntil(Restored));
  EXPECT_EQ(History(), std::vector<std::string>{"Restore Succeeded"});
  EXPECT_EQ(io_->Count("MoveAside"), 3u);  // nothing to move: OK
  EXPECT_EQ(io_->Count("RestoreDataDir gridkv"), 3u);
  EXPECT_TRUE(errors_.empty()) << errors_.front();
}

}  // namespace
}  // namespace grid::mas::kvcluster
