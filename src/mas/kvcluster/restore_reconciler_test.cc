// Restore scenarios through Reconcile with the fakes: a quorum loss recovered by setting
// spec.restoreFrom, a restore resumed by a fresh reconciler (restart) and after a lost status
// write, a failed fetch held in Failed until a new request, a new cluster restored; the
// automatic restore after spec.backup.autoRestoreAfterSeconds of quorum loss (once per loss).
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
  void Apply(const std::string& restore, const std::string& requested = "",
             std::optional<int64_t> auto_restore_after_seconds = std::nullopt) {
    Resource r;
    r.metadata.name = "c";
    r.metadata.uid = "0123456789abcdef";
    KVClusterSpec spec;
    spec.engine = "gridkv";
    spec.version = "3.4.0";
    spec.members = 3;
    spec.backup = BackupSpec{"", "/backups", std::nullopt, auto_restore_after_seconds};
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
  void Provision3(std::optional<int64_t> auto_restore_after_seconds = std::nullopt) {
    Apply("", "", auto_restore_after_seconds);
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

constexpr int64_t kAutoAfterSeconds = 120;

TEST_F(RestoreReconcilerTest, QuorumLostLongerThanAutoRestoreAfterRestoresByItself) {
  Provision3(kAutoAfterSeconds);
  LoseQuorum();
  const Resource failed = Current();
  const Condition* available = FindCondition(failed.status, kCondAvailable);
  ASSERT_NE(available, nullptr);
  ASSERT_EQ(available->status, ConditionStatus::kFalse);
  const TimePoint lost = *ParseTimestamp(available->last_transition_time);
  // Not before autoRestoreAfterSeconds.
  while (now_ + seconds(5) < lost + seconds(kAutoAfterSeconds)) Pass(seconds(5));
  EXPECT_EQ(io_->Count("Fetch"), 0u);
  EXPECT_EQ(FindCondition(Current().status, kCondAutoRestore), nullptr);

  ASSERT_TRUE(RunUntil(Restored, seconds(5))) << PhaseName(Current().status.phase);
  EXPECT_EQ(io_->Count("Fetch /backups c latest /fake/scratch/c-"), 1u);
  EXPECT_EQ(RestoreSteps(), kAllStages);
  EXPECT_EQ(History().back(), "Restore Succeeded");
  // Why, kept in the AutoRestore condition; the Restored condition names the automatic request.
  const Resource after = Current();
  const Condition* why = FindCondition(after.status, kCondAutoRestore);
  ASSERT_NE(why, nullptr);
  EXPECT_EQ(why->status, ConditionStatus::kTrue);
  EXPECT_EQ(why->reason, kReasonAutoRestore);
  EXPECT_NE(why->message.find("request \"latest requested auto "), std::string::npos)
      << why->message;
  EXPECT_NE(why->message.find("quorum lost since " + FormatTimestamp(lost) + ": "),
            std::string::npos) << why->message;
  EXPECT_NE(why->message.find(">= spec.backup.autoRestoreAfterSeconds 120"), std::string::npos)
      << why->message;
  const auto requested = LastAutoRestoreRequest(Current().status);
  ASSERT_TRUE(requested.has_value());
  EXPECT_GE(*requested - lost, seconds(kAutoAfterSeconds));
  const Condition* restored = FindCondition(after.status, kCondRestored);
  EXPECT_EQ(restored->message.rfind("request \"latest requested auto ", 0), 0u)
      << restored->message;
  // No spec was written: the request lives in the status.
  EXPECT_FALSE(std::get<KVClusterSpec>(Current().spec).restore_from.has_value());

  // Once per quorum loss: the restored cluster runs on.
  for (int i = 0; i < 40; ++i) Pass(seconds(10));
  EXPECT_EQ(io_->Count("Fetch"), 1u);
  EXPECT_TRUE(Running(Current()));
  EXPECT_TRUE(errors_.empty()) << errors_.front();

  // A new quorum loss is a new one: restored by itself again.
  LoseQuorum();
  ASSERT_TRUE(RunUntil([this](const Resource&) { return io_->Count("Fetch") == 2; }, seconds(5)));
  ASSERT_TRUE(RunUntil(Restored, seconds(5)));
  EXPECT_GT(*LastAutoRestoreRequest(Current().status), *requested);
}

TEST_F(RestoreReconcilerTest, FailedAutoRestoreIsNotRepeatedUntilARequest) {
  Provision3(kAutoAfterSeconds);
  io_->fetch_error = NotFound("no verified backup of c");
  LoseQuorum();
  ASSERT_TRUE(RunUntil([this](const Resource& r) {
    return io_->Count("Fetch") == 1 && r.status.phase == Phase::kFailed &&
           r.status.operation.is_null();
  }, seconds(5)));
  const Resource failed = Current();
  const Condition* c = FindCondition(failed.status, kCondRestored);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, ConditionStatus::kFalse);
  EXPECT_NE(c->message.find("FetchBackup failed"), std::string::npos) << c->message;
  // Quorum still lost, far past the delay: not tried again.
  for (int i = 0; i < 60; ++i) Pass(seconds(10));
  EXPECT_EQ(io_->Count("Fetch"), 1u);
  EXPECT_EQ(Current().status.phase, Phase::kFailed);

  // A request restores it.
  io_->fetch_error = Status::Ok();
  Apply("latest", "2027-01-15T09:00:00Z", kAutoAfterSeconds);
  ASSERT_TRUE(RunUntil(Restored));
  EXPECT_EQ(io_->Count("Fetch"), 2u);
}

TEST_F(RestoreReconcilerTest, WithoutAutoRestoreAfterQuorumLossWaitsForARequest) {
  Provision3();
  LoseQuorum();
  for (int i = 0; i < 100; ++i) Pass(seconds(60));
  EXPECT_EQ(io_->Count("Fetch"), 0u);
  EXPECT_EQ(Current().status.phase, Phase::kFailed);
  EXPECT_EQ(FindCondition(Current().status, kCondAutoRestore), nullptr);
}

}  // namespace
}  // namespace grid::mas::kvcluster
