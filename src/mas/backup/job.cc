#include "mas/backup/job.h"

#include <cstdio>
#include <filesystem>

#include "mas/backup/catalog.h"

namespace grid::mas::backup {

BackupJob::BackupJob(bucket::Bucket* bucket, BackupJobOptions options)
    : bucket_(bucket), options_(std::move(options)) {
  GRID_CHECK(bucket_ != nullptr);
}

Result<BackupJobResult> BackupJob::Run(const BackupTarget& target, const RetentionPolicy& policy) {
  GRID_RETURN_IF_ERROR(ValidateClusterName(target.cluster));
  GRID_RETURN_IF_ERROR(ValidateRetention(policy));
  if (target.endpoints.empty()) {
    return InvalidArgument("backup of " + target.cluster + ": no member endpoints");
  }
  const auto created = std::chrono::floor<std::chrono::seconds>(options_.now());
  BackupJobResult result;
  BackupRecord& record = result.record;
  record.name = BackupName(target.cluster, created);
  record.cluster = target.cluster;
  record.engine = target.engine;
  record.version = target.version;
  record.created = FormatRfc3339(created);

  const std::string local =
      (std::filesystem::path(options_.scratch_dir) / (record.name + ".db")).string();
  auto taken = TakeSnapshot(target.endpoints, local, options_.snapshot);
  if (!taken.ok()) return taken.status().WithContext("backup " + record.name);
  record.revision = taken->revision;
  record.size_bytes = taken->file.size_bytes;
  record.sha256 = taken->file.sha256;
  record.endpoint = taken->endpoint;
  char member[17];
  std::snprintf(member, sizeof member, "%016llx",
                static_cast<unsigned long long>(taken->member_id));
  record.member = member;
  record.hash_kv = taken->hash_kv;
  result.hash_kv_error = taken->hash_kv_error;

  auto uploaded = UploadBackup(bucket_, record, local, options_.scratch_dir);
  std::error_code ec;
  std::filesystem::remove(local, ec);
  if (!uploaded.ok()) return uploaded.status().WithContext("backup " + record.name);
  record = *uploaded;

  auto listed = ListBackups(bucket_, target.cluster, &result.skipped);
  if (!listed.ok()) {
    result.delete_errors.push_back("retention not applied: " + listed.status().ToString());
    return result;
  }
  std::vector<RetainedBackup> retained;
  for (const auto& b : *listed) {
    auto when = ParseRfc3339(b.created);
    if (when.ok()) retained.push_back({b.name, *when, b.verified});
  }
  const RetentionDecision decision = ApplyRetention(retained, policy, options_.now());
  for (const std::string& name : decision.delete_names) {
    Status s = DeleteBackup(bucket_, target.cluster, name);
    if (s.ok()) {
      result.deleted.push_back(name);
    } else {
      result.delete_errors.push_back(name + ": " + s.ToString());
    }
  }
  auto orphans = DeleteOrphanSnapshots(bucket_, target.cluster, options_.now(),
                                       options_.orphan_grace_seconds);
  if (!orphans.ok()) {
    result.delete_errors.push_back("orphans not collected: " + orphans.status().ToString());
    return result;
  }
  result.orphans_deleted = std::move(orphans->deleted);
  for (std::string& e : orphans->errors) result.delete_errors.push_back(std::move(e));
  return result;
}

}  // namespace grid::mas::backup
