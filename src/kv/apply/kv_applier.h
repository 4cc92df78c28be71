// The KV half of etcd's apply layer: executes Range, Put, DeleteRange and Txn against the
// store, producing etcd's responses. Pure functions over a read view or a write txn: no
// threads, no I/O beyond the store.
//
// Contract with the caller (the apply loop):
//  - Requests were validated (validate.h) before they were proposed.
//  - Mutations run in one WriteTxn (one revision); on error nothing was written to the txn.
//  - header.revision is set (the store revision after the op); the caller fills cluster_id,
//    member_id and raft_term of the top-level header.
//  - LeaseHooks is called only from the thread that owns the txn.
#pragma once

#include "common/status.h"
#include "etcd/rpc.pb.h"
#include "kv/apply/lease_hooks.h"
#include "storage/mvcc/store.h"

namespace grid::kv {

// Reads at req.revision (0: the view's current revision). Sorting, min/max revision filters,
// limit/more and count behave as etcd 3.4's applier: count is the number of keys in the range
// before filters and limit.
Result<etcdserverpb::RangeResponse> ApplyRange(const mvcc::ReadView& view,
                                               const etcdserverpb::RangeRequest& req);

// Errors: NotFound kErrLeaseNotFound; InvalidArgument kErrKeyNotFound (ignore_value or
// ignore_lease on a missing key). Attaches the new lease, detaches the old one.
Result<etcdserverpb::PutResponse> ApplyPut(mvcc::WriteTxn& txn, LeaseHooks& leases,
                                           const etcdserverpb::PutRequest& req);

// Detaches the deleted keys from their leases.
Result<etcdserverpb::DeleteRangeResponse> ApplyDeleteRange(
    mvcc::WriteTxn& txn, LeaseHooks& leases, const etcdserverpb::DeleteRangeRequest& req);

// Evaluates every compare of the txn tree on the view before the txn, checks the chosen
// branch (leases, ignore_* keys, range revisions) and only then applies it.
Result<etcdserverpb::TxnResponse> ApplyTxn(mvcc::WriteTxn& txn, LeaseHooks& leases,
                                           const etcdserverpb::TxnRequest& req);

}  // namespace grid::kv
