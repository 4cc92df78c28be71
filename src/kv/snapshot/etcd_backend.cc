#include "kv/snapshot/etcd_backend.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "etcd/rpc.pb.h"
#include "grid/internal.pb.h"
#include "kv/snapshot/snapshot_file.h"
#include "storage/bolt/reader.h"

namespace grid::kv::snapshot {
namespace {

constexpr char kKeyBucket[] = "key";
constexpr char kMetaBucket[] = "meta";
constexpr char kClusterBucket[] = "cluster";
constexpr char kMembersBucket[] = "members";
constexpr char kConsistentIndex[] = "consistent_index";
constexpr char kScheduledCompact[] = "scheduledCompactRev";
constexpr char kFinishedCompact[] = "finishedCompactRev";
// Buckets etcd 3.4 always has; exported empty.
constexpr const char* kEmptyBuckets[] = {"auth", "authRoles", "authUsers", "members_removed"};
constexpr size_t kEtcdRevisionBytes = 17;  // main BE, '_', sub BE

uint64_t ReadBE64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | uint8_t(b[i]);
  return v;
}
std::string BE64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

bool IsCompactName(std::string_view name) {
  return name == kScheduledCompact || name == kFinishedCompact;
}

// etcd's member JSON (membership.Member: id, peerURLs, name, clientURLs; empty omitted).
std::string MemberJson(const MemberInfo& m) {
  nlohmann::ordered_json j;
  j["id"] = m.id;
  j["peerURLs"] = m.peer_urls;
  if (!m.name.empty()) j["name"] = m.name;
  if (!m.client_urls.empty()) j["clientURLs"] = m.client_urls;
  return j.dump();
}

}  // namespace

std::string AlarmTableKey(uint64_t member_id, int alarm_type) {
  std::string key = BE64(member_id);
  key.push_back(static_cast<char>(alarm_type));
  return key;
}

Result<ExportStats> ExportEtcdBackend(const mvcc::Store& store, const std::string& db_path,
                                      const ExportOptions& options) {
  GRID_ASSIGN_OR_RETURN(auto writer, bolt::Writer::Create(db_path, options.writer));
  ExportStats stats;
  std::map<std::string, std::string> meta;
  std::map<std::string, std::string> alarms;  // etcd key -> empty
  std::string open_bucket = kKeyBucket;       // ExportRaw starts with the key family
  bool lease_written = false;
  GRID_RETURN_IF_ERROR(writer->BeginBucket(kKeyBucket));
  auto switch_to = [&](std::string_view bucket) -> Status {
    if (open_bucket == bucket) return Status::Ok();
    if (!open_bucket.empty()) GRID_RETURN_IF_ERROR(writer->EndBucket());
    open_bucket.assign(bucket);
    if (bucket.empty()) return Status::Ok();
    return writer->BeginBucket(bucket);
  };
  GRID_RETURN_IF_ERROR(store.ExportRaw([&](const mvcc::RawRecord& r) -> Status {
    switch (r.family) {
      case mvcc::RawFamily::kKey:
        stats.revisions++;
        return writer->Put(r.key, r.value);
      case mvcc::RawFamily::kMeta:
        GRID_RETURN_IF_ERROR(switch_to(""));
        if (IsCompactName(r.key)) {
          // The store keeps the main revision; etcd keeps a revision key (sub 0).
          std::string rev = BE64(ReadBE64(r.value));
          rev.push_back('_');
          rev += BE64(0);
          meta[std::string(r.key)] = rev;
        } else {
          meta[std::string(r.key)] = std::string(r.value);
        }
        return Status::Ok();
      case mvcc::RawFamily::kSide:
        if (r.table == kLeaseTable) {
          GRID_RETURN_IF_ERROR(switch_to(kLeaseTable));
          lease_written = true;
          stats.leases++;
          return writer->Put(r.key, r.value);
        }
        GRID_RETURN_IF_ERROR(switch_to(""));
        if (r.table == kAlarmTable) {
          kvpb::AlarmRecord record;
          if (!record.ParseFromArray(r.value.data(), static_cast<int>(r.value.size()))) {
            return Corruption("snapshot: undecodable alarm record");
          }
          etcdserverpb::AlarmMember member;
          member.set_memberid(record.member_id());
          member.set_alarm(record.alarm());
          alarms[member.SerializeAsString()] = "";
        }
        return Status::Ok();
    }
    return Status::Ok();
  }));
  GRID_RETURN_IF_ERROR(switch_to(""));

  auto write_bucket = [&](const std::string& name,
                          const std::map<std::string, std::string>& rows) -> Status {
    GRID_RETURN_IF_ERROR(writer->BeginBucket(name));
    for (const auto& [k, v] : rows) GRID_RETURN_IF_ERROR(writer->Put(k, v));
    return writer->EndBucket();
  };
  if (!lease_written) GRID_RETURN_IF_ERROR(write_bucket(kLeaseTable, {}));
  GRID_RETURN_IF_ERROR(write_bucket(kAlarmTable, alarms));
  GRID_RETURN_IF_ERROR(write_bucket(kMetaBucket, meta));
  GRID_RETURN_IF_ERROR(write_bucket(kClusterBucket, {{"clusterVersion", options.cluster_version}}));
  std::map<std::string, std::string> members;
  if (options.member) members[fmt::format("{:x}", options.member->id)] = MemberJson(*options.member);
  GRID_RETURN_IF_ERROR(write_bucket(kMembersBucket, members));
  for (const char* name : kEmptyBuckets) GRID_RETURN_IF_ERROR(write_bucket(name, {}));
  GRID_ASSIGN_OR_RETURN(stats.db_bytes, writer->Finish());
  return stats;
}

Result<ImportStats> ImportEtcdBackend(const std::string& db_path, uint64_t db_bytes,
                                      const std::string& store_dir) {
  bolt::ReaderOptions reader_options;
  reader_options.db_bytes = db_bytes;
  reader_options.require_both_metas = false;  // as bbolt (and etcd) open it
  GRID_ASSIGN_OR_RETURN(auto reader, bolt::Reader::Open(db_path, reader_options));
  mvcc::Options store_options;
  store_options.dir = store_dir;
  GRID_ASSIGN_OR_RETURN(auto importer, mvcc::RawImporter::Create(store_options));
  ImportStats stats;
  std::string bucket;
  bolt::Visitor visitor;
  visitor.on_bucket = [&](std::string_view name) {
    bucket.assign(name);
    return Status::Ok();
  };
  visitor.on_entry = [&](std::string_view key, std::string_view value, bool nested) -> Status {
    if (nested) {
      if (bucket == kKeyBucket || bucket == kMetaBucket || bucket == kLeaseTable ||
          bucket == kAlarmTable) {
        return Corruption("snapshot: " + db_path + ": nested bucket inside " + bucket);
      }
      return Status::Ok();
    }
    if (bucket == kKeyBucket) {
      stats.revisions++;
      return importer->Add({mvcc::RawFamily::kKey, "", key, value});
    }
    if (bucket == kMetaBucket) {
      if (key == kConsistentIndex) {
        if (value.size() != 8) return Corruption("snapshot: " + db_path + ": bad consistent_index");
        stats.consistent_index = ReadBE64(value);
        return importer->Add({mvcc::RawFamily::kMeta, "", key, value});
      }
      if (IsCompactName(key)) {
        if (value.size() != kEtcdRevisionBytes) {
          return Corruption("snapshot: " + db_path + ": bad " + std::string(key));
        }
        const std::string main = std::string(value.substr(0, 8));
        return importer->Add({mvcc::RawFamily::kMeta, "", key, main});
      }
      return Status::Ok();  // etcd 3.5's term, confState: not the store's
    }
    if (bucket == kLeaseTable) {
      kvpb::LeaseRecord lease;
      if (key.size() != 8 || !lease.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return Corruption("snapshot: " + db_path + ": bad lease record");
      }
      stats.leases++;
      return importer->Add({mvcc::RawFamily::kSide, kLeaseTable, key, value});
    }
    if (bucket == kAlarmTable) {
      etcdserverpb::AlarmMember member;
      if (!member.ParseFromArray(key.data(), static_cast<int>(key.size()))) {
        return Corruption("snapshot: " + db_path + ": bad alarm record");
      }
      kvpb::AlarmRecord record;
      record.set_member_id(member.memberid());
      record.set_alarm(member.alarm());
      stats.alarms++;
      return importer->Add({mvcc::RawFamily::kSide, kAlarmTable,
                            AlarmTableKey(member.memberid(), member.alarm()),
                            record.SerializeAsString()});
    }
    return Status::Ok();  // members, cluster, auth: a new member has its own
  };
  GRID_RETURN_IF_ERROR(reader->Walk(visitor));
  GRID_RETURN_IF_ERROR(importer->Finish());
  return stats;
}

Result<ImportStats> RestoreEtcdSnapshot(const std::string& snapshot_path,
                                        const std::string& store_dir) {
  GRID_ASSIGN_OR_RETURN(uint64_t db_bytes, VerifySha256(snapshot_path));
  return ImportEtcdBackend(snapshot_path, db_bytes, store_dir);
}

}  // namespace grid::kv::snapshot
