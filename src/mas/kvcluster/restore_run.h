// Runs one stage of the Restore operation (restore_step.h) against the runtime and a RestoreIo
// (the file system, the bucket and the store's restore tools in production; a fake in tests).
// Every stage is idempotent: run again after a restart it does what is left.
//
// Thread-safety: RunRestoreStage is reentrant for different clusters; a RestoreIo is called
// from the reconciler's workers, never twice at once for one cluster.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "mas/bucket/bucket.h"
#include "mas/backup/record.h"
#include "mas/backup/restore.h"
#include "mas/kvcluster/plan.h"
#include "mas/resource/resource.h"
#include "mas/runtime/runtime.h"

namespace grid::mas::kvcluster {

class RestoreIo {
 public:
  virtual ~RestoreIo() = default;
  // Renames `data_dir` to `aside` (kept). OK when `data_dir` does not exist; AlreadyExists
  // when both exist.
  [[nodiscard]] virtual Status MoveAside(const std::string& data_dir, const std::string& aside) = 0;
  // backup::FetchBackup from the bucket at `bucket_url` into `local_path` (its directory is
  // created).
  virtual Result<backup::BackupRecord> Fetch(const std::string& bucket_url,
                                             const std::string& cluster,
                                             const std::string& backup,
                                             const std::string& local_path) = 0;
  // backup::RestoreMemberDataDir, then the member marker (reconciler.h kMemberMarkerFile) in the
  // new data dir. OK without doing anything when target.data_dir exists (made by an earlier
  // try: RestoreMemberDataDir makes it whole or not at all).
  [[nodiscard]] virtual Status RestoreDataDir(const std::string& engine,
                                              const std::string& snapshot_path,
                                              const backup::RestoreTarget& target,
                                              const std::string& expected_sha256) = 0;
  // Removes the fetched snapshot file (OK when gone).
  [[nodiscard]] virtual Status RemoveScratch(const std::string& local_path) = 0;
  // backup::VerifyRestored.
  [[nodiscard]] virtual Status Verify(const std::vector<std::string>& endpoints,
                                      const backup::BackupRecord& record) = 0;
};

// The production RestoreIo: the local file system, OpenBucket with `s3` (what it leaves empty
// comes from the environment), the backup library.
std::unique_ptr<RestoreIo> LocalRestoreIo(bucket::S3Options s3 = {});

struct RestoreRunContext {
  const Resource* resource = nullptr;  // the KVCluster as read this pass
  const KVClusterSpec* spec = nullptr; // with Defaults
  runtime::Runtime* runtime = nullptr;
  RestoreIo* io = nullptr;
  std::chrono::milliseconds stop_grace{runtime::kDefaultStopGrace};
  // Directory for the fetched snapshot; "" = beside the first member's data dir.
  std::string scratch_dir;
  // The restore tools for the spec's engine and version.
  backup::RestoreBinaries binaries;
  // The instance a member runs as, started with --initial-cluster-state new and `token`.
  std::function<runtime::InstanceSpec(const MemberStatus& member, const std::string& initial,
                                      const std::string& token)>
      member_instance;
};

// Runs `step.stage` of the Restore operation in `step.operation` (which it updates: the
// resolved backup and its record after FetchBackup; `current`, the operation in the status,
// when the step ends it). `next` is the status being written (member ids cleared at
// StartMembers: the restored cluster gives new ones).
[[nodiscard]] Status RunRestoreStage(const RestoreRunContext& ctx, const Operation& current,
                                     Step* step, ResourceStatus* next);

// Where a restore of `cluster` fetches its snapshot.
std::string RestoreScratchPath(const RestoreRunContext& ctx, const Operation& op);

}  // namespace grid::mas::kvcluster
