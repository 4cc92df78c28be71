#include "mas/kvcluster/restore_run.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "common/check.h"
#include "mas/bucket/bucket.h"
#include "mas/kvcluster/reconciler.h"
#include "mas/kvcluster/restore_step.h"

namespace grid::mas::kvcluster {
namespace {

namespace fs = std::filesystem;

class FileRestoreIo final : public RestoreIo {
 public:
  explicit FileRestoreIo(bucket::S3Options s3) : s3_(std::move(s3)) {}

  Status MoveAside(const std::string& data_dir, const std::string& aside) override {
    std::error_code ec;
    if (!fs::exists(data_dir, ec)) return ec ? IOError(data_dir + ": " + ec.message()) : Status::Ok();
    if (fs::exists(aside, ec)) return Status(Code::kAlreadyExists, aside + " exists");
    fs::rename(data_dir, aside, ec);
    if (ec) return IOError(fmt::format("moving {} to {}: {}", data_dir, aside, ec.message()));
    return Status::Ok();
  }

  Result<backup::BackupRecord> Fetch(const std::string& bucket_url, const std::string& cluster,
                                     const std::string& name,
                                     const std::string& local_path) override {
    std::error_code ec;
    fs::create_directories(fs::path(local_path).parent_path(), ec);
    if (ec) return IOError(fs::path(local_path).parent_path().string() + ": " + ec.message());
    GRID_ASSIGN_OR_RETURN(std::unique_ptr<bucket::Bucket> b, bucket::OpenBucket(bucket_url, s3_));
    GRID_ASSIGN_OR_RETURN(backup::FetchedBackup fetched,
                          backup::FetchBackup(b.get(), cluster, name, local_path));
    return fetched.record;
  }

  Status RestoreDataDir(const std::string& engine, const std::string& snapshot_path,
                        const backup::RestoreTarget& target,
                        const std::string& expected_sha256) override {
    std::error_code ec;
    if (fs::exists(target.data_dir, ec)) return Status::Ok();
    fs::create_directories(fs::path(target.data_dir).parent_path(), ec);
    backup::RestoreOptions options;
    options.expected_sha256 = expected_sha256;
    GRID_RETURN_IF_ERROR(backup::RestoreMemberDataDir(engine, snapshot_path, target, options));
    const fs::path marker = fs::path(target.data_dir) / kMemberMarkerFile;
    std::ofstream out(marker, std::ios::trunc);
    out << target.name << "\n";
    out.close();
    if (!out) return IOError(marker.string() + ": cannot write");
    return Status::Ok();
  }

  Status RemoveScratch(const std::string& local_path) override {
    std::error_code ec;
    fs::remove(local_path, ec);
    if (ec) return IOError(local_path + ": " + ec.message());
    return Status::Ok();
  }

  Status Verify(const std::vector<std::string>& endpoints,
                const backup::BackupRecord& record) override {
    return backup::VerifyRestored(endpoints, record).status();
  }

 private:
  const bucket::S3Options s3_;
};

std::string InitialClusterOf(const ResourceStatus& status) {
  std::string out;
  for (const MemberStatus& m : status.members) {
    out += (out.empty() ? "" : ",") + m.name + "=" + m.peer_url;
  }
  return out;
}

}  // namespace

std::unique_ptr<RestoreIo> LocalRestoreIo(bucket::S3Options s3) {
  return std::make_unique<FileRestoreIo>(std::move(s3));
}

std::string RestoreScratchPath(const RestoreRunContext& ctx, const Operation& op) {
  std::string dir = ctx.scratch_dir;
  if (dir.empty()) {
    const std::string first = ctx.resource->status.members.empty()
                                  ? "restore"
                                  : ctx.resource->status.members.front().name;
    dir = ctx.runtime->DataDir(InstanceName(ctx.resource->metadata.name, first)) + ".restore";
  }
  return fmt::format("{}/{}-{}.db", dir, ctx.resource->metadata.name, CompactTime(op.started));
}

Status RunRestoreStage(const RestoreRunContext& ctx, const Operation& current, Step* step,
                       ResourceStatus* next) {
  // The last stage ends the operation (step->operation is empty): it reads the current one.
  Operation ending = current;
  Operation& op = step->operation ? *step->operation : ending;
  const std::string& cluster = ctx.resource->metadata.name;
  auto data_dir = [&](const MemberStatus& m) {
    return ctx.runtime->DataDir(InstanceName(cluster, m.name));
  };
  Status first;
  auto keep_first = [&](Status s, const std::string& member) {
    if (!s.ok() && first.ok()) first = s.WithContext(member);
  };
  const std::string& stage = step->stage;
  if (stage == kStageStopMembers) {
    for (const MemberStatus& m : next->members) {
      Status s = ctx.runtime->Stop(InstanceName(cluster, m.name), ctx.stop_grace);
      if (s.code() == Code::kNotFound) continue;
      keep_first(s, m.name);
    }
    return first;
  }
  if (stage == kStageMoveAside) {
    for (const MemberStatus& m : next->members) {
      const std::string dir = data_dir(m);
      keep_first(ctx.io->MoveAside(dir, dir + kBeforeRestoreSuffix + CompactTime(op.started)),
                 m.name);
    }
    return first;
  }
  if (stage == kStageFetchBackup) {
    if (!ctx.spec->backup) return FailedPrecondition("spec.backup.bucket is not set");
    const std::string name = op.from.empty() ? op.target : op.from;
    GRID_ASSIGN_OR_RETURN(backup::BackupRecord record,
                          ctx.io->Fetch(ctx.spec->backup->bucket, cluster, name,
                                        RestoreScratchPath(ctx, op)));
    op.from = record.name;
    op.record = backup::ToJson(record);
    return Status::Ok();
  }
  if (stage == kStageRestoreData) {
    GRID_ASSIGN_OR_RETURN(backup::BackupRecord record, backup::RecordFromJson(op.record));
    const std::string snapshot = RestoreScratchPath(ctx, op);
    const std::string initial = InitialClusterOf(*next);
    const std::string engine = ctx.spec->engine.empty() ? kEngineGridkv : ctx.spec->engine;
    for (const MemberStatus& m : next->members) {
      backup::RestoreTarget t;
      t.name = m.name;
      t.data_dir = data_dir(m);
      t.initial_cluster = initial;
      t.initial_advertise_peer_urls = m.peer_url;
      t.initial_cluster_token = RestoreToken(cluster, op);
      t.binaries = ctx.binaries;
      GRID_RETURN_IF_ERROR(
          ctx.io->RestoreDataDir(engine, snapshot, t, record.sha256).WithContext(m.name));
    }
    return ctx.io->RemoveScratch(snapshot);
  }
  if (stage == kStageStartMembers) {
    const std::string initial = InitialClusterOf(*next);
    for (MemberStatus& m : next->members) {
      m.id.clear();  // the restored cluster gives new ids
      m.version = ctx.spec->version;
      keep_first(ctx.runtime->Start(ctx.member_instance(m, initial, RestoreToken(cluster, op))),
                 m.name);
    }
    return first;
  }
  if (stage == kStageVerifyRestored) {
    GRID_ASSIGN_OR_RETURN(backup::BackupRecord record, backup::RecordFromJson(op.record));
    std::vector<std::string> endpoints;
    for (const MemberStatus& m : next->members) endpoints.push_back(m.client_url);
    return ctx.io->Verify(endpoints, record);
  }
  return Internal("unknown restore stage " + stage);
}

}  // namespace grid::mas::kvcluster
