#include "kv/apply/validate.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "kv/apply/errors.h"

namespace grid::kv {
namespace {

using etcdserverpb::RequestOp;

Status CheckTxnRequest(const etcdserverpb::TxnRequest& req, int64_t max_txn_ops);

Status CheckRequestOp(const RequestOp& op, int64_t max_txn_ops) {
  switch (op.request_case()) {
    case RequestOp::kRequestRange:
      return ValidateRange(op.request_range());
    case RequestOp::kRequestPut:
      return ValidatePut(op.request_put());
    case RequestOp::kRequestDeleteRange:
      return ValidateDeleteRange(op.request_delete_range());
    case RequestOp::kRequestTxn:
      return CheckTxnRequest(op.request_txn(), max_txn_ops);
    default:
      return InvalidArgument(kErrKeyNotFound);  // an empty op, as etcd answers it
  }
}

// etcd's "affine" string order: the empty string is +infinity.
int AffineCompare(std::string_view a, std::string_view b) {
  if (a.empty()) return b.empty() ? 0 : 1;
  if (b.empty()) return -1;
  return a < b ? -1 : (a == b ? 0 : 1);
}

struct DeleteInterval {
  std::string begin;
  std::string end;  // exclusive; a single key k is [k, k + "\0")
};

bool Covers(const std::vector<DeleteInterval>& dels, const std::string& key) {
  return std::any_of(dels.begin(), dels.end(), [&](const DeleteInterval& d) {
    return AffineCompare(d.begin, key) <= 0 && AffineCompare(key, d.end) < 0;
  });
}

// etcd's checkIntervals: returns the puts and deletes of `ops` (children included) or
// kErrDuplicateKey when a key is put twice or put and deleted.
Status CheckIntervals(const google::protobuf::RepeatedPtrField<RequestOp>& ops,
                      std::set<std::string>* puts, std::vector<DeleteInterval>* dels) {
  for (const RequestOp& op : ops) {
    if (!op.has_request_delete_range()) continue;
    const auto& d = op.request_delete_range();
    if (d.range_end().empty()) {
      dels->push_back({d.key(), d.key() + std::string(1, '\0')});
    } else {
      dels->push_back({d.key(), d.range_end()});
    }
  }
  for (const RequestOp& op : ops) {
    if (!op.has_request_txn()) continue;
    std::set<std::string> puts_then, puts_else;
    std::vector<DeleteInterval> dels_then, dels_else;
    GRID_RETURN_IF_ERROR(CheckIntervals(op.request_txn().success(), &puts_then, &dels_then));
    GRID_RETURN_IF_ERROR(CheckIntervals(op.request_txn().failure(), &puts_else, &dels_else));
    for (const std::string& k : puts_then) {
      if (puts->count(k) > 0 || Covers(*dels, k)) return InvalidArgument(kErrDuplicateKey);
      puts->insert(k);
    }
    for (const std::string& k : puts_else) {
      // The same key in then and else is fine: only one branch runs.
      if (puts->count(k) > 0 && puts_then.count(k) == 0) return InvalidArgument(kErrDuplicateKey);
      if (Covers(*dels, k)) return InvalidArgument(kErrDuplicateKey);
      puts->insert(k);
    }
    dels->insert(dels->end(), dels_then.begin(), dels_then.end());
    dels->insert(dels->end(), dels_else.begin(), dels_else.end());
  }
  for (const RequestOp& op : ops) {
    if (!op.has_request_put()) continue;
    const std::string& k = op.request_put().key();
    if (puts->count(k) > 0 || Covers(*dels, k)) return InvalidArgument(kErrDuplicateKey);
    puts->insert(k);
  }
  return Status::Ok();
}

}  // namespace

Status ValidateRange(const etcdserverpb::RangeRequest& req) {
  if (req.key().empty()) return InvalidArgument(kErrEmptyKey);
  if (!etcdserverpb::RangeRequest::SortOrder_IsValid(req.sort_order())) {
    return InvalidArgument(kErrInvalidSortOrder);
  }
  if (!etcdserverpb::RangeRequest::SortTarget_IsValid(req.sort_target())) {
    return InvalidArgument(kErrInvalidSortTarget);
  }
  return Status::Ok();
}

Status ValidatePut(const etcdserverpb::PutRequest& req) {
  if (req.key().empty()) return InvalidArgument(kErrEmptyKey);
  if (req.ignore_value() && !req.value().empty()) return InvalidArgument(kErrValueProvided);
  if (req.ignore_lease() && req.lease() != 0) return InvalidArgument(kErrLeaseProvided);
  return Status::Ok();
}

Status ValidateDeleteRange(const etcdserverpb::DeleteRangeRequest& req) {
  if (req.key().empty()) return InvalidArgument(kErrEmptyKey);
  return Status::Ok();
}

namespace {

Status CheckTxnRequest(const etcdserverpb::TxnRequest& req, int64_t max_txn_ops) {
  const int64_t opc = std::max<int64_t>(
      {req.compare_size(), req.success_size(), req.failure_size()});
  if (opc > max_txn_ops) return InvalidArgument(kErrTooManyOps);
  for (const auto& c : req.compare()) {
    if (c.key().empty()) return InvalidArgument(kErrEmptyKey);
  }
  for (const auto& op : req.success()) GRID_RETURN_IF_ERROR(CheckRequestOp(op, max_txn_ops - opc));
  for (const auto& op : req.failure()) GRID_RETURN_IF_ERROR(CheckRequestOp(op, max_txn_ops - opc));
  return Status::Ok();
}

}  // namespace

Status ValidateTxn(const etcdserverpb::TxnRequest& req, int64_t max_txn_ops) {
  GRID_RETURN_IF_ERROR(CheckTxnRequest(req, max_txn_ops));
  // Overlap checks come after the size checks so a huge txn cannot cost quadratic time.
  for (const auto* branch : {&req.success(), &req.failure()}) {
    std::set<std::string> puts;
    std::vector<DeleteInterval> dels;
    GRID_RETURN_IF_ERROR(CheckIntervals(*branch, &puts, &dels));
  }
  return Status::Ok();
}

}  // namespace grid::kv
