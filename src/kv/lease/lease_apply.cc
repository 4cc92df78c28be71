#include "kv/lease/lease_apply.h"

namespace grid::kv::lease {

std::string LeaseTableKey(int64_t id) {
  const auto bits = static_cast<uint64_t>(id);
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
  return key;
}

namespace {

void PersistRecord(mvcc::Batch& batch, const kvpb::LeaseRecord& record) {
  batch.PutMeta(kLeaseTable, LeaseTableKey(record.id()), record.SerializeAsString());
}

}  // namespace

Result<etcdserverpb::LeaseGrantResponse> ApplyLeaseGrant(
    Lessor& lessor, mvcc::Batch& batch, const etcdserverpb::LeaseGrantRequest& request) {
  kvpb::LeaseRecord record;
  GRID_RETURN_IF_ERROR(lessor.Grant(request.id(), request.ttl(), &record));
  PersistRecord(batch, record);
  etcdserverpb::LeaseGrantResponse response;
  response.set_id(record.id());
  response.set_ttl(record.ttl_seconds());
  return response;
}

Result<etcdserverpb::LeaseRevokeResponse> ApplyLeaseRevoke(
    Lessor& lessor, mvcc::Batch& batch, const etcdserverpb::LeaseRevokeRequest& request) {
  GRID_ASSIGN_OR_RETURN(std::vector<std::string> keys, lessor.Revoke(request.id()));
  mvcc::WriteTxn& txn = batch.BeginTxn();
  bool deleted = false;
  for (const std::string& key : keys) {
    if (!txn.DeleteRange(key, "").empty()) deleted = true;
  }
  const int64_t revision = deleted ? txn.WriteRevision() : txn.WriteRevision() - 1;
  batch.EndTxn();
  batch.DeleteMeta(kLeaseTable, LeaseTableKey(request.id()));
  etcdserverpb::LeaseRevokeResponse response;
  response.mutable_header()->set_revision(revision);
  return response;
}

void ApplyLeaseCheckpoint(Lessor& lessor, mvcc::Batch& batch,
                          const kvpb::LeaseCheckpointRequest& request) {
  for (const kvpb::LeaseCheckpoint& checkpoint : request.checkpoints()) {
    kvpb::LeaseRecord record;
    if (lessor.Checkpoint(checkpoint.id(), checkpoint.remaining_ttl_seconds(), &record)) {
      PersistRecord(batch, record);
    }
  }
}

Result<std::vector<kvpb::LeaseRecord>> DecodeLeaseRecords(
    const std::vector<std::pair<std::string, std::string>>& rows) {
  std::vector<kvpb::LeaseRecord> records;
  records.reserve(rows.size());
  for (const auto& [key, value] : rows) {
    kvpb::LeaseRecord& record = records.emplace_back();
    if (key.size() != 8 || !record.ParseFromString(value) || LeaseTableKey(record.id()) != key) {
      return Corruption("lease table: malformed record under key of " +
                        std::to_string(key.size()) + " bytes");
    }
  }
  return records;
}

Result<std::vector<LeasedKey>> KeysWithLeases(const mvcc::ReadView& view) {
  // Pages read the current revision: at start-up nothing writes (and a revision equal to the
  // compacted one may be unreadable).
  std::vector<LeasedKey> leased;
  const std::string all_end(1, '\0');
  std::string from(1, '\0');  // the smallest non-empty key
  mvcc::RangeOptions options;
  options.limit = kRecoverRangePageKeys;
  options.keys_only = true;
  for (;;) {
    GRID_ASSIGN_OR_RETURN(mvcc::RangeResult page, view.Range(from, all_end, options));
    for (const mvccpb::KeyValue& kv : page.kvs) {
      if (kv.lease() != 0) leased.push_back(LeasedKey{kv.key(), kv.lease()});
    }
    if (page.kvs.empty() || static_cast<int64_t>(page.kvs.size()) < kRecoverRangePageKeys) break;
    from = page.kvs.back().key();
    from.push_back('\0');  // the next key after the last one read
  }
  return leased;
}

Result<size_t> RecoverLessor(Lessor& lessor, const mvcc::Store& store) {
  GRID_ASSIGN_OR_RETURN(auto rows, store.ReadMeta(kLeaseTable));
  GRID_ASSIGN_OR_RETURN(std::vector<kvpb::LeaseRecord> records, DecodeLeaseRecords(rows));
  GRID_ASSIGN_OR_RETURN(std::vector<LeasedKey> keys, KeysWithLeases(store));
  return lessor.Recover(records, keys);
}

}  // namespace grid::kv::lease
