// etcd 3.4's error texts for the KV API, with the grid::Status codes the gRPC layer maps to
// etcd's gRPC codes (InvalidArgument, NotFound, OutOfRange, ...).
#pragma once

#include "common/status.h"

namespace grid::kv {

inline constexpr char kErrEmptyKey[] = "etcdserver: key is not provided";
inline constexpr char kErrKeyNotFound[] = "etcdserver: key not found";
inline constexpr char kErrValueProvided[] = "etcdserver: value is provided";
inline constexpr char kErrLeaseProvided[] = "etcdserver: lease is provided";
inline constexpr char kErrTooManyOps[] = "etcdserver: too many operations in txn request";
inline constexpr char kErrDuplicateKey[] = "etcdserver: duplicate key given in txn request";
inline constexpr char kErrLeaseNotFound[] = "etcdserver: requested lease not found";
inline constexpr char kErrCompacted[] = "etcdserver: mvcc: required revision has been compacted";
inline constexpr char kErrFutureRev[] = "etcdserver: mvcc: required revision is a future revision";
// etcd has no text for these (it does not check); grid refuses enum values it does not know.
inline constexpr char kErrInvalidSortOrder[] = "etcdserver: invalid sort order";
inline constexpr char kErrInvalidSortTarget[] = "etcdserver: invalid sort target";

// Maps an mvcc::Store error to the API's text: the store's "mvcc: ..." messages get etcd's
// "etcdserver: " prefix, keeping the code; anything else is returned unchanged.
Status FromStoreError(const Status& status);

}  // namespace grid::kv
