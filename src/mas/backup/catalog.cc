#include "mas/backup/catalog.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>

#include "mas/backup/snapshot.h"

namespace grid::mas::backup {
namespace {

// A file in `dir` removed when the object goes away.
class ScratchFile {
 public:
  ScratchFile(const std::string& dir, const std::string& name)
      : path_((std::filesystem::path(dir) / name).string()) {}
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The etag as a lowercase SHA-256 hex digest, when it is one (quotes stripped).
std::optional<std::string> EtagSha256(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  if (etag.size() != 64) return std::nullopt;
  for (char& c : etag) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return etag;
}

Result<std::optional<bucket::ObjectInfo>> Stat(bucket::Bucket* bucket, const std::string& key) {
  GRID_ASSIGN_OR_RETURN(auto objects, bucket->List(key));
  for (auto& o : objects) {
    if (o.key == key) return std::optional<bucket::ObjectInfo>(std::move(o));
  }
  return std::optional<bucket::ObjectInfo>();
}

// Checks the stored snapshot of `record` without trusting anything but the bucket.
Status CheckStoredSnapshot(bucket::Bucket* bucket, const BackupRecord& record,
                           const std::string& scratch_dir, bool full_verify) {
  const std::string key = SnapshotKey(record.cluster, record.name);
  const std::string where = bucket->Describe() + " " + key;
  GRID_ASSIGN_OR_RETURN(auto info, Stat(bucket, key));
  if (!info) return NotFound(where + ": no such object");
  if (info->size_bytes != record.size_bytes) {
    return Corruption(where + ": size " + std::to_string(info->size_bytes) + ", the record says " +
                      std::to_string(record.size_bytes));
  }
  auto etag = EtagSha256(info->etag);
  if (!full_verify && etag) {
    if (*etag != record.sha256) {
      return Corruption(where + ": sha256 (etag) " + *etag + ", the record says " + record.sha256);
    }
    return Status::Ok();
  }
  ScratchFile local(scratch_dir, record.name + ".verify.db");
  GRID_RETURN_IF_ERROR(bucket->GetFile(key, local.path()));
  if (full_verify) {
    auto checked = VerifySnapshotFile(local.path());
    if (!checked.ok()) return checked.status().WithContext(where);
  }
  GRID_ASSIGN_OR_RETURN(auto digest, DigestFile(local.path()));
  if (digest.size_bytes != record.size_bytes || digest.sha256 != record.sha256) {
    return Corruption(where + ": read back " + std::to_string(digest.size_bytes) +
                      " bytes with sha256 " + digest.sha256 + ", the record says " +
                      std::to_string(record.size_bytes) + " bytes with sha256 " + record.sha256);
  }
  return Status::Ok();
}

Status IgnoreNotFound(Status s) {
  return s.code() == Code::kNotFound ? Status::Ok() : s;
}

}  // namespace

Result<BackupRecord> UploadBackup(bucket::Bucket* bucket, BackupRecord record,
                                  const std::string& snapshot_path,
                                  const std::string& scratch_dir) {
  GRID_RETURN_IF_ERROR(ValidateClusterName(record.cluster));
  const std::string snapshot_key = SnapshotKey(record.cluster, record.name);
  const std::string record_key = RecordKey(record.cluster, record.name);
  GRID_ASSIGN_OR_RETURN(auto existing, Stat(bucket, record_key));
  if (existing) {
    return Status(Code::kAlreadyExists,
                  "backup " + bucket->Describe() + " " + record_key + " already exists");
  }
  GRID_RETURN_IF_ERROR(bucket->PutFile(snapshot_key, snapshot_path));
  auto abandon = [&](Status s) {
    (void)bucket->Delete(snapshot_key).ok();  // best effort: it does not count without a record
    return s;
  };
  Status checked = CheckStoredSnapshot(bucket, record, scratch_dir, /*full_verify=*/false);
  if (!checked.ok()) return abandon(checked);

  record.verified = true;
  const std::string text = ToJson(record).dump(2) + "\n";
  Status put = bucket->PutBytes(record_key, text);
  if (!put.ok()) return abandon(put);
  auto back = bucket->GetBytes(record_key);
  if (!back.ok()) return back.status();
  if (*back != text) {
    (void)bucket->Delete(record_key).ok();
    return abandon(Corruption(bucket->Describe() + " " + record_key +
                              ": read back differs from what was written"));
  }
  return record;
}

namespace {

// The objects of one backup name under "<cluster>/": its snapshot and its record (either may
// be missing). Pointers into `objects`.
struct BackupObjects {
  const bucket::ObjectInfo* snapshot = nullptr;
  const bucket::ObjectInfo* record = nullptr;
};

std::map<std::string, BackupObjects> GroupByBackup(const std::vector<bucket::ObjectInfo>& objects,
                                                   const std::string& prefix) {
  std::map<std::string, BackupObjects> by_name;
  for (const auto& o : objects) {
    const std::string rest = o.key.substr(prefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) continue;
    const std::string name = rest.substr(0, slash);
    const std::string leaf = rest.substr(slash + 1);
    if (leaf == kSnapshotObject) by_name[name].snapshot = &o;
    if (leaf == kRecordObject) by_name[name].record = &o;
  }
  return by_name;
}

}  // namespace

Result<std::vector<BackupRecord>> ListBackups(bucket::Bucket* bucket, const std::string& cluster,
                                              std::vector<std::string>* skipped,
                                              size_t max_records) {
  GRID_RETURN_IF_ERROR(ValidateClusterName(cluster));
  const std::string prefix = cluster + "/";
  GRID_ASSIGN_OR_RETURN(auto objects, bucket->List(prefix));
  const std::map<std::string, BackupObjects> by_name = GroupByBackup(objects, prefix);
  auto skip = [&](const std::string& line) {
    if (skipped != nullptr) skipped->push_back(line);
  };
  size_t records = 0;
  for (const auto& [name, objs] : by_name) records += objs.record != nullptr ? 1 : 0;
  if (records > max_records) {
    return ResourceExhausted(bucket->Describe() + " " + prefix + ": " + std::to_string(records) +
                             " backup records, at most " + std::to_string(max_records));
  }
  std::vector<BackupRecord> out;
  for (const auto& [name, objs] : by_name) {
    if (objs.record == nullptr) continue;  // incomplete: never counts
    const std::string where = bucket->Describe() + " " + objs.record->key;
    if (objs.record->size_bytes > static_cast<int64_t>(kMaxRecordBytes)) {
      skip(where + ": " + std::to_string(objs.record->size_bytes) + " bytes, at most " +
           std::to_string(kMaxRecordBytes));
      continue;
    }
    auto text = bucket->GetBytes(objs.record->key);
    if (!text.ok()) {
      if (text.status().code() == Code::kNotFound) continue;  // deleted meanwhile
      return text.status();
    }
    auto record = ParseRecord(*text);
    if (!record.ok()) {
      skip(where + ": " + record.status().message());
      continue;
    }
    if (record->cluster != cluster || record->name != name) {
      skip(where + ": record of " + record->cluster + "/" + record->name);
      continue;
    }
    if (!record->verified) {
      skip(where + ": not verified");
      continue;
    }
    if (objs.snapshot == nullptr || objs.snapshot->size_bytes != record->size_bytes) {
      skip(where + ": snapshot " + (objs.snapshot == nullptr ? "missing" : "size differs"));
      continue;
    }
    out.push_back(std::move(record).value());
  }
  std::sort(out.begin(), out.end(), [](const BackupRecord& a, const BackupRecord& b) {
    if (a.created != b.created) return a.created > b.created;  // RFC 3339 UTC sorts as text
    return a.name > b.name;
  });
  return out;
}

Status VerifyStoredBackup(bucket::Bucket* bucket, const BackupRecord& record,
                          const std::string& scratch_dir) {
  return CheckStoredSnapshot(bucket, record, scratch_dir, /*full_verify=*/true);
}

Status DeleteBackup(bucket::Bucket* bucket, const std::string& cluster, const std::string& name) {
  GRID_RETURN_IF_ERROR(IgnoreNotFound(bucket->Delete(RecordKey(cluster, name))));
  return IgnoreNotFound(bucket->Delete(SnapshotKey(cluster, name)));
}

Result<OrphanSweep> DeleteOrphanSnapshots(bucket::Bucket* bucket, const std::string& cluster,
                                          std::chrono::system_clock::time_point now,
                                          int64_t grace_seconds) {
  GRID_RETURN_IF_ERROR(ValidateClusterName(cluster));
  const std::string prefix = cluster + "/";
  GRID_ASSIGN_OR_RETURN(auto objects, bucket->List(prefix));
  OrphanSweep sweep;
  const auto cutoff = now - std::chrono::seconds(grace_seconds);
  for (const auto& [name, objs] : GroupByBackup(objects, prefix)) {
    if (objs.snapshot == nullptr || objs.record != nullptr) continue;
    const bucket::ObjectInfo* info = objs.snapshot;
    if (info->modified > cutoff) {
      ++sweep.young;
      continue;
    }
    Status s = IgnoreNotFound(bucket->Delete(info->key));
    if (s.ok()) {
      sweep.deleted.push_back(info->key);
    } else {
      sweep.errors.push_back(bucket->Describe() + " " + info->key + ": " + s.ToString());
    }
  }
  return sweep;
}

}  // namespace grid::mas::backup
