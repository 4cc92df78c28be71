// Converts between a gridkv store and etcd 3.4's backend: a bbolt database with etcd's buckets.
//
//   key      revision key -> mvccpb.KeyValue          = the store's key family, byte for byte
//   meta     consistent_index (8 bytes BE), scheduledCompactRev / finishedCompactRev (17-byte
//            revision keys; the store keeps 8-byte main revisions)
//   lease    8-byte BE id -> leasepb.Lease             = the "lease" side table, byte for byte
//            (kvpb::LeaseRecord has leasepb.Lease's field numbers)
//   alarm    key: etcdserverpb.AlarmMember, value empty; the "alarm" side table keys by
//            8-byte BE member id + 1-byte type and stores a kvpb::AlarmRecord
//   cluster  clusterVersion; members: hex member id -> member JSON (export only)
//   members_removed, auth, authRoles, authUsers: empty on export, ignored on import
//
// Side tables other than lease and alarm are not exported; other buckets are not imported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/bolt/writer.h"
#include "storage/mvcc/store.h"

namespace grid::kv::snapshot {

// The side tables the store keeps (kv/lease's kLeaseTable, kv/server's alarm table).
inline constexpr char kLeaseTable[] = "lease";
inline constexpr char kAlarmTable[] = "alarm";

struct MemberInfo {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
};

struct ExportOptions {
  std::optional<MemberInfo> member;     // written to the members bucket when set
  std::string cluster_version = "3.4.0";
  bolt::WriterOptions writer;
};

struct ExportStats {
  uint64_t db_bytes = 0;
  uint64_t revisions = 0;  // records of the key bucket
  uint64_t leases = 0;
};

// Writes one consistent view of `store` as an etcd backend file at `db_path` (no checksum).
Result<ExportStats> ExportEtcdBackend(const mvcc::Store& store, const std::string& db_path,
                                      const ExportOptions& options = {});

struct ImportStats {
  uint64_t revisions = 0;
  uint64_t leases = 0;
  uint64_t alarms = 0;
  uint64_t consistent_index = 0;
};

// Builds a new store in `store_dir` (must not exist) from the first `db_bytes` bytes of the
// etcd backend file at `db_path` (0: the whole file). Errors: Corruption from the bolt reader
// or for records that are not etcd's.
Result<ImportStats> ImportEtcdBackend(const std::string& db_path, uint64_t db_bytes,
                                      const std::string& store_dir);

// VerifySha256 + ImportEtcdBackend: `gridkv snapshot restore` of a file written by
// `etcdctl snapshot save` (against etcd or gridkv).
Result<ImportStats> RestoreEtcdSnapshot(const std::string& snapshot_path,
                                        const std::string& store_dir);

// The alarm table key of (member, alarm type): 8 bytes BE member id, then the type.
std::string AlarmTableKey(uint64_t member_id, int alarm_type);

}  // namespace grid::kv::snapshot
