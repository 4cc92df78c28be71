// The checks etcd's KV service makes before a request is proposed (etcd 3.4
// etcdserver/api/v3rpc/key.go). Pure functions of the request; no store access.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "etcd/rpc.pb.h"

namespace grid::kv {

// etcd's --max-txn-ops default: the most compares, success ops or failure ops in one txn.
inline constexpr int64_t kDefaultMaxTxnOps = 128;

Status ValidateRange(const etcdserverpb::RangeRequest& req);
Status ValidatePut(const etcdserverpb::PutRequest& req);
Status ValidateDeleteRange(const etcdserverpb::DeleteRangeRequest& req);
// Op counts (nested txns count against what the parent leaves, as etcd), empty keys, each op,
// then overlapping puts/deletes in the success and the failure branch.
Status ValidateTxn(const etcdserverpb::TxnRequest& req, int64_t max_txn_ops = kDefaultMaxTxnOps);

}  // namespace grid::kv
