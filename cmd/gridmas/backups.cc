#include "backups.h"

#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "client/context.h"
#include "client/mutex.h"
#include "mas/backup/catalog.h"
#include "mas/inspect/probe.h"

namespace grid::mas {
namespace {

using std::chrono::system_clock;

backup::RetentionPolicy PolicyOf(const BackupSpec& spec) {
  backup::RetentionPolicy policy;
  if (spec.retention) {
    const BackupRetention& r = *spec.retention;
    if (r.keep_last) policy.keep_last = static_cast<int>(*r.keep_last);
    if (r.hourly) policy.hourly = static_cast<int>(*r.hourly);
    if (r.daily) policy.daily = static_cast<int>(*r.daily);
    if (r.weekly) policy.weekly = static_cast<int>(*r.weekly);
  }
  return policy;
}

system_clock::time_point FloorMinute(system_clock::time_point t) {
  return std::chrono::floor<std::chrono::minutes>(t);
}

}  // namespace

int64_t BackupTick(system_clock::time_point fire) {
  return std::chrono::floor<std::chrono::minutes>(fire.time_since_epoch()).count();
}

std::string BackupJobName(const std::string& cluster) { return kBackupJobPrefix + cluster; }

system_clock::time_point LatestFire(const backup::CronSchedule& schedule,
                                    system_clock::time_point first, system_clock::time_point now) {
  system_clock::time_point fire = first;
  for (int i = 0; i < kMaxBackupCatchUpFires; ++i) {
    const system_clock::time_point next = schedule.NextAfter(fire);
    if (next > now) break;
    fire = next;
  }
  return fire;
}

BackupService::BackupService(client::Client* client, ResourceStore* store,
                             BackupServiceOptions options)
    : client_(client),
      store_(store),
      options_(std::move(options)),
      locks_(client_, controller::JobLockOptions{.prefix = options_.prefix + "/jobs/",
                                                 .replica = options_.replica,
                                                 .lock_timeout = options_.lock_timeout}) {}

BackupService::~BackupService() { Stop(); }

system_clock::time_point BackupService::Now() const {
  return options_.now ? options_.now() : system_clock::now();
}

std::string BackupService::LastKey(const std::string& cluster) const {
  return options_.prefix + "/backups/" + cluster + "/last";
}

Result<std::unique_ptr<bucket::Bucket>> BackupService::OpenFor(const std::string& cluster,
                                                               const BackupSpec& spec) {
  auto opened = bucket::OpenBucket(spec.bucket, options_.s3);
  if (!opened.ok()) {
    return Status(opened.status().code(), "KVCluster \"" + cluster + "\": bucket " +
                                              spec.bucket + ": " + opened.status().message());
  }
  return std::move(*opened);
}

namespace {

Result<BackupSpec> BackupSpecOf(const Resource& res) {
  const auto& spec = std::get<KVClusterSpec>(res.spec);
  if (!spec.backup) {
    return FailedPrecondition("KVCluster \"" + res.metadata.name +
                              "\" has no spec.backup section (schedule, bucket, retention)");
  }
  KVClusterSpec defaulted = spec;
  Defaults(&defaulted);
  return *defaulted.backup;
}

}  // namespace

Result<std::vector<backup::BackupRecord>> BackupService::List(const std::string& cluster) {
  GRID_ASSIGN_OR_RETURN(Resource res, store_->Get(Kind::kKVCluster, cluster));
  GRID_ASSIGN_OR_RETURN(BackupSpec spec, BackupSpecOf(res));
  GRID_ASSIGN_OR_RETURN(auto bucket, OpenFor(cluster, spec));
  auto listed = backup::ListBackups(bucket.get(), cluster);
  if (!listed.ok()) {
    return Status(listed.status().code(),
                  "bucket " + bucket->Describe() + ": " + listed.status().message());
  }
  return listed;
}

std::string BackupService::ScratchDir(const std::string& cluster) const {
  return (std::filesystem::path(options_.root) / "backups" / cluster).string();
}

Result<BackupVerification> BackupService::Verify(const std::string& cluster,
                                                 const std::string& name) {
  GRID_ASSIGN_OR_RETURN(Resource res, store_->Get(Kind::kKVCluster, cluster));
  GRID_ASSIGN_OR_RETURN(BackupSpec spec, BackupSpecOf(res));
  GRID_ASSIGN_OR_RETURN(auto bucket, OpenFor(cluster, spec));
  std::vector<std::string> skipped;
  auto listed = backup::ListBackups(bucket.get(), cluster, &skipped);
  if (!listed.ok()) {
    return Status(listed.status().code(),
                  "bucket " + bucket->Describe() + ": " + listed.status().message());
  }
  const backup::BackupRecord* found = nullptr;
  for (const auto& r : *listed) {
    if (name == kLatestBackup || r.name == name) {
      found = &r;
      break;
    }
  }
  if (found == nullptr) {
    std::string message = "no verified backup " + name + " of KVCluster \"" + cluster +
                          "\" in bucket " + bucket->Describe();
    for (const std::string& line : skipped) message += "; not counted: " + line;
    return NotFound(message);
  }
  const std::string scratch = ScratchDir(cluster);
  std::error_code ec;
  std::filesystem::create_directories(scratch, ec);
  if (ec) return IOError("scratch directory " + scratch + ": " + ec.message());
  BackupVerification verification{.record = *found, .result = Status::Ok()};
  Status checked = backup::VerifyStoredBackup(bucket.get(), *found, scratch);
  if (!checked.ok() && checked.code() != Code::kCorruption) return checked;
  verification.result = checked;
  if (checked.ok()) {
    spdlog::info("backup {} of KVCluster \"{}\" verified", found->name, cluster);
  } else {
    spdlog::warn("backup {} of KVCluster \"{}\" failed verification: {}", found->name, cluster,
                 checked.ToString());
  }
  return verification;
}

void BackupService::RecordMetrics(const std::string& cluster,
                                  const Result<backup::BackupRecord>& outcome,
                                  double duration_seconds) {
  if (options_.metrics == nullptr) return;
  metrics::Registry& m = *options_.metrics;
  m.Counter("grid_mas_backups_total", "Backups taken (scheduled or on demand), by result.",
            {"cluster", "result"})
      .Add({cluster, outcome.ok() ? "succeeded" : "failed"});
  m.Histogram("grid_mas_backup_duration_seconds",
              "Duration of a backup: snapshot, upload, verification and retention.",
              {"cluster"},
              std::vector<double>(std::begin(kBackupDurationBucketsSeconds),
                                  std::end(kBackupDurationBucketsSeconds)))
      .Observe({cluster}, duration_seconds);
  if (!outcome.ok()) return;
  auto created = backup::ParseRfc3339(outcome->created);
  const double when = static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(
          (created.ok() ? *created : Now()).time_since_epoch())
          .count());
  m.Gauge("grid_mas_backup_last_success_timestamp_seconds",
          "Unix time of the newest successful backup (its creation time).", {"cluster"})
      .Set({cluster}, when);
  m.Gauge("grid_mas_backup_last_size_bytes", "Snapshot size of the newest successful backup.",
          {"cluster"})
      .Set({cluster}, static_cast<double>(outcome->size_bytes));
}

Result<backup::BackupRecord> BackupService::Run(const std::string& cluster,
                                                std::optional<int64_t> tick) {
  const auto started = std::chrono::steady_clock::now();
  auto taken = [&]() -> Result<backup::BackupRecord> {
    GRID_ASSIGN_OR_RETURN(Resource res, store_->Get(Kind::kKVCluster, cluster));
    GRID_ASSIGN_OR_RETURN(BackupSpec spec, BackupSpecOf(res));
    const std::vector<std::string> endpoints = inspect::MemberEndpoints(res.status);
    if (endpoints.empty()) {
      return FailedPrecondition("KVCluster \"" + cluster + "\" has no members yet");
    }
    GRID_ASSIGN_OR_RETURN(auto bucket, OpenFor(cluster, spec));
    const std::string scratch = ScratchDir(cluster);
    std::error_code ec;
    std::filesystem::create_directories(scratch, ec);
    if (ec) return IOError("scratch directory " + scratch + ": " + ec.message());
    backup::BackupJobOptions job_options;
    job_options.scratch_dir = scratch;
    job_options.orphan_grace_seconds = options_.orphan_grace_seconds;
    if (options_.now) job_options.now = options_.now;
    backup::BackupJob job(bucket.get(), job_options);
    const auto& kv = std::get<KVClusterSpec>(res.spec);
    backup::BackupTarget target{.cluster = cluster,
                                .engine = kv.engine.empty() ? kEngineGridkv : kv.engine,
                                .version = kv.version,
                                .endpoints = endpoints};
    auto result = job.Run(target, PolicyOf(spec));
    // Backups are named by their second: one taken within the second of the last one
    // waits for the next second (once).
    if (!result.ok() && result.status().code() == Code::kAlreadyExists) {
      const auto now = system_clock::now();
      std::this_thread::sleep_until(std::chrono::ceil<std::chrono::seconds>(now) +
                                    std::chrono::milliseconds(1));
      result = job.Run(target, PolicyOf(spec));
    }
    if (!result.ok()) {
      return Status(result.status().code(),
                    "backup to " + bucket->Describe() + ": " + result.status().message());
    }
    for (const std::string& e : result->delete_errors) {
      spdlog::warn("backup of KVCluster \"{}\": retention: {}", cluster, e);
    }
    for (const std::string& name : result->deleted) {
      spdlog::info("backup of KVCluster \"{}\": retention deleted {}", cluster, name);
    }
    if (!result->orphans_deleted.empty()) {
      std::string keys;
      for (const std::string& k : result->orphans_deleted) keys += (keys.empty() ? "" : ", ") + k;
      spdlog::info("backup of KVCluster \"{}\": {} orphaned snapshot(s) deleted: {}", cluster,
                   result->orphans_deleted.size(), keys);
    }
    return result->record;
  }();
  // A deleted cluster has no status to report to.
  if (taken.ok() || taken.status().code() != Code::kNotFound) {
    WriteOutcome(cluster, taken, tick);
    RecordMetrics(cluster, taken,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                      .count());
  }
  return taken;
}

void BackupService::WriteOutcome(const std::string& cluster,
                                 const Result<backup::BackupRecord>& outcome,
                                 std::optional<int64_t> tick) {
  const std::string now = FormatTimestamp(Now());
  nlohmann::json last = {{"cluster", cluster}, {"time", now}, {"replica", options_.replica}};
  if (tick) last["tick"] = *tick;
  Condition condition;
  condition.type = kBackupSucceededCondition;
  if (outcome.ok()) {
    last["outcome"] = "succeeded";
    last["name"] = outcome->name;
    last["revision"] = outcome->revision;
    last["sizeBytes"] = outcome->size_bytes;
    last["created"] = outcome->created;
    condition.status = ConditionStatus::kTrue;
    condition.reason = "BackupSucceeded";
    condition.message =
        "backup " + outcome->name + " at revision " + std::to_string(outcome->revision);
  } else {
    last["outcome"] = "failed";
    last["error"] = outcome.status().ToString();
    condition.status = ConditionStatus::kFalse;
    condition.reason = "BackupFailed";
    condition.message = outcome.status().ToString().substr(0, kMaxConditionMessageBytes);
  }
  if (auto put = client_->Put(LastKey(cluster), last.dump()); !put.ok()) {
    spdlog::warn("backup of KVCluster \"{}\": {}: {}", cluster, LastKey(cluster),
                 put.status().ToString());
  }
  for (int attempt = 0; attempt < kMaxBackupStatusTries; ++attempt) {
    auto res = store_->Get(Kind::kKVCluster, cluster);
    if (!res.ok()) return;  // deleted meanwhile, or the store is down: the last key has it
    ResourceStatus next = res->status;
    SetCondition(&next, condition, now);
    auto updated =
        store_->UpdateStatus(Kind::kKVCluster, cluster, next, res->metadata.resource_version);
    if (updated.ok()) return;
    if (!IsConflict(updated.status())) {
      spdlog::warn("backup condition of KVCluster \"{}\": {}", cluster,
                   updated.status().ToString());
      return;
    }
  }
  spdlog::warn("backup condition of KVCluster \"{}\" not written after {} conflicts", cluster,
               kMaxBackupStatusTries);
}

Result<backup::BackupRecord> BackupService::TakeNow(const std::string& cluster) {
  // Refuse early (no lock taken) what cannot run.
  GRID_ASSIGN_OR_RETURN(Resource res, store_->Get(Kind::kKVCluster, cluster));
  GRID_RETURN_IF_ERROR(BackupSpecOf(res).status());
  GRID_ASSIGN_OR_RETURN(auto held, locks_.Get());
  client::Mutex mutex(held->session.get(), held->lock->LockPrefix(BackupJobName(cluster)));
  GRID_RETURN_IF_ERROR(mutex.Lock(client::Context().WithTimeout(options_.lock_timeout)));
  auto result = Run(cluster, std::nullopt);
  (void)mutex.Unlock();  // the lease expiry removes the key if this fails
  return result;
}

Result<int> BackupService::RunDue() {
  GRID_ASSIGN_OR_RETURN(ResourceList list, store_->List(Kind::kKVCluster));
  const system_clock::time_point now = Now();
  {
    std::set<std::string> names;
    for (const Resource& r : list.items) names.insert(r.metadata.name);
    std::lock_guard<std::mutex> lock(due_mu_);
    std::erase_if(due_, [&](const auto& kv) { return names.count(kv.first) == 0; });
  }
  int ran = 0;
  Status first_error;
  for (const Resource& r : list.items) {
    const auto& spec = std::get<KVClusterSpec>(r.spec);
    const std::string& name = r.metadata.name;
    if (!spec.backup || spec.backup->schedule.empty()) continue;
    if (r.status.phase == Phase::kDestroy || r.status.members.empty()) continue;
    auto schedule = backup::CronSchedule::Parse(spec.backup->schedule);
    if (!schedule.ok()) continue;  // refused when the spec was written
    system_clock::time_point fire;
    {
      std::lock_guard<std::mutex> lock(due_mu_);
      auto it = due_.find(name);
      if (it == due_.end() || it->second.schedule != spec.backup->schedule) {
        const auto start =
            schedule->Matches(now) ? FloorMinute(now) : schedule->NextAfter(now);
        it = due_.insert_or_assign(name, Due{spec.backup->schedule, start}).first;
      }
      if (now < it->second.next_fire) continue;
      fire = LatestFire(*schedule, it->second.next_fire, now);
    }
    const int64_t tick = BackupTick(fire);
    auto held = locks_.Get();
    if (!held.ok()) return held.status();
    Status job_status;
    auto outcome = (*held)->lock->RunExclusive(BackupJobName(name), tick, [&] {
      job_status = Run(name, tick).status();
      return job_status;
    });
    if (!outcome.ok()) {
      spdlog::warn("backup of KVCluster \"{}\" tick {}: {}", name, tick,
                   outcome.status().ToString());
      if (first_error.ok()) first_error = outcome.status();
      continue;  // tried again on the next pass
    }
    {
      std::lock_guard<std::mutex> lock(due_mu_);
      due_.insert_or_assign(name, Due{spec.backup->schedule, schedule->NextAfter(fire)});
    }
    if (outcome->ran) {
      ++ran;
      if (!job_status.ok()) {
        spdlog::warn("backup of KVCluster \"{}\" tick {} failed: {}", name, tick,
                     job_status.ToString());
      } else {
        spdlog::info("backup of KVCluster \"{}\" tick {} done", name, tick);
      }
    }
  }
  if (!first_error.ok()) return first_error;
  return ran;
}

void BackupService::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void BackupService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  thread_ = std::thread();
}

void BackupService::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    if (auto r = RunDue(); !r.ok()) spdlog::warn("backup pass: {}", r.status().ToString());
    lock.lock();
    cv_.wait_for(lock, kBackupSchedulerPeriod, [this] { return stopping_; });
  }
}

}  // namespace grid::mas
