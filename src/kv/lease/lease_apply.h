// The lease half of the apply layer: what applying a committed lease request does to the
// lessor and to the store. Called only on the apply thread, in log order, inside the batch of
// the entry being applied.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "etcd/rpc.pb.h"
#include "grid/internal.pb.h"
#include "kv/lease/lessor.h"
#include "storage/mvcc/store.h"

namespace grid::kv::lease {

// The store's side table holding one kvpb::LeaseRecord per lease.
inline constexpr char kLeaseTable[] = "lease";

// Keys of kLeaseTable: the id as 8 bytes big-endian (etcd's lease bucket key).
std::string LeaseTableKey(int64_t id);

// Grants the lease and persists its record. The response carries ID and TTL; its header is
// left for the caller. Errors: as Lessor::Grant.
Result<etcdserverpb::LeaseGrantResponse> ApplyLeaseGrant(
    Lessor& lessor, mvcc::Batch& batch, const etcdserverpb::LeaseGrantRequest& request);

// Revokes the lease: deletes every attached key in ONE revision (a single WriteTxn) and the
// lease record. The response header's revision is the store revision after the revoke.
// Errors: NotFound(kErrLeaseNotFound).
// REQUIRES: no txn open on `batch`.
Result<etcdserverpb::LeaseRevokeResponse> ApplyLeaseRevoke(
    Lessor& lessor, mvcc::Batch& batch, const etcdserverpb::LeaseRevokeRequest& request);

// Records each checkpoint in the lessor and persists the changed records. Unknown leases (since
// revoked) are skipped. Never fails.
void ApplyLeaseCheckpoint(Lessor& lessor, mvcc::Batch& batch,
                          const kvpb::LeaseCheckpointRequest& request);

// ---- Start-up ----

// Parses the rows of Store::ReadMeta(kLeaseTable). Errors: Corruption for a malformed row.
Result<std::vector<kvpb::LeaseRecord>> DecodeLeaseRecords(
    const std::vector<std::pair<std::string, std::string>>& rows);

// Keys read per Range call by KeysWithLeases.
inline constexpr int64_t kRecoverRangePageKeys = 10'000;

// Every key of `view` (at its current revision) that carries a lease.
// REQUIRES: nothing writes to `view` meanwhile (start-up).
Result<std::vector<LeasedKey>> KeysWithLeases(const mvcc::ReadView& view);

// Store::ReadMeta + KeysWithLeases + Lessor::Recover. Returns the number of keys whose lease
// record was missing (they keep their lease id but nothing expires them).
Result<size_t> RecoverLessor(Lessor& lessor, const mvcc::Store& store);

}  // namespace grid::kv::lease
