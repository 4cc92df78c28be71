#include "kv/apply/kv_applier.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "kv/apply/errors.h"

namespace grid::kv {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;

Status FromStoreError(const Status& status) {
  if (status.message() == mvcc::kErrCompacted) return OutOfRange(kErrCompacted);
  if (status.message() == mvcc::kErrFutureRev) return OutOfRange(kErrFutureRev);
  return status;
}

namespace {

// The view's current revision (for a write txn: including its own changes so far).
int64_t ViewRevision(const mvcc::ReadView& view, const std::string& key) {
  mvcc::RangeOptions ro;
  ro.count_only = true;
  auto r = view.Range(key, "", ro);
  GRID_CHECK(r.ok()) << "count at the current revision failed: " << r.status().ToString();
  return r.value().revision;
}

bool NeedsSort(const RangeRequest& req) {
  return req.sort_order() != RangeRequest::NONE || req.sort_target() != RangeRequest::KEY;
}

void SortKvs(const RangeRequest& req, std::vector<mvccpb::KeyValue>* kvs) {
  RangeRequest::SortOrder order = req.sort_order();
  // The store returns keys ascending; etcd sorts ascending by default only for other targets.
  if (req.sort_target() != RangeRequest::KEY && order == RangeRequest::NONE) {
    order = RangeRequest::ASCEND;
  }
  if (order != RangeRequest::ASCEND && order != RangeRequest::DESCEND) return;
  std::function<bool(const mvccpb::KeyValue&, const mvccpb::KeyValue&)> less;
  switch (req.sort_target()) {
    case RangeRequest::KEY:
      less = [](const auto& a, const auto& b) { return a.key() < b.key(); };
      break;
    case RangeRequest::VERSION:
      less = [](const auto& a, const auto& b) { return a.version() < b.version(); };
      break;
    case RangeRequest::CREATE:
      less = [](const auto& a, const auto& b) { return a.create_revision() < b.create_revision(); };
      break;
    case RangeRequest::MOD:
      less = [](const auto& a, const auto& b) { return a.mod_revision() < b.mod_revision(); };
      break;
    case RangeRequest::VALUE:
      less = [](const auto& a, const auto& b) { return a.value() < b.value(); };
      break;
    default:
      return;  // refused by ValidateRange
  }
  if (order == RangeRequest::ASCEND) {
    std::stable_sort(kvs->begin(), kvs->end(), less);
  } else {
    std::stable_sort(kvs->begin(), kvs->end(),
                     [&](const auto& a, const auto& b) { return less(b, a); });
  }
}

int CompareInt(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

bool CompareKv(const Compare& c, const mvccpb::KeyValue& kv) {
  int result = 0;
  switch (c.target()) {
    case Compare::VALUE: {
      const std::string& v = c.value();  // empty when the union holds another field
      result = kv.value() < v ? -1 : (kv.value() == v ? 0 : 1);
      break;
    }
    case Compare::CREATE:
      result = CompareInt(kv.create_revision(), c.create_revision());
      break;
    case Compare::MOD:
      result = CompareInt(kv.mod_revision(), c.mod_revision());
      break;
    case Compare::VERSION:
      result = CompareInt(kv.version(), c.version());
      break;
    case Compare::LEASE:
      result = CompareInt(kv.lease(), c.lease());
      break;
    default:
      break;
  }
  switch (c.result()) {
    case Compare::EQUAL:
      return result == 0;
    case Compare::NOT_EQUAL:
      return result != 0;
    case Compare::GREATER:
      return result > 0;
    case Compare::LESS:
      return result < 0;
    default:
      return true;
  }
}

// A compare over a range holds only if it holds for every key in it; on no key, a VALUE
// compare fails and the others compare against a zero KeyValue (etcd 3.4).
bool ApplyCompare(const mvcc::ReadView& view, const Compare& c) {
  auto r = view.Range(c.key(), c.range_end(), mvcc::RangeOptions{});
  if (!r.ok()) return false;
  if (r.value().kvs.empty()) {
    if (c.target() == Compare::VALUE) return false;
    return CompareKv(c, mvccpb::KeyValue());
  }
  return std::all_of(r.value().kvs.begin(), r.value().kvs.end(),
                     [&](const mvccpb::KeyValue& kv) { return CompareKv(c, kv); });
}

// The outcome of every txn in the tree, in pre-order of the branches that will run.
void CompareToPath(const mvcc::ReadView& view, const TxnRequest& req, std::vector<bool>* path) {
  const bool ok = std::all_of(req.compare().begin(), req.compare().end(),
                              [&](const Compare& c) { return ApplyCompare(view, c); });
  path->push_back(ok);
  for (const RequestOp& op : ok ? req.success() : req.failure()) {
    if (op.has_request_txn()) CompareToPath(view, op.request_txn(), path);
  }
}

bool IsReadOnly(const TxnRequest& req) {
  auto ranges_only = [](const auto& ops) {
    return std::all_of(ops.begin(), ops.end(),
                       [](const RequestOp& op) { return op.has_request_range(); });
  };
  return ranges_only(req.success()) && ranges_only(req.failure());
}

class TxnRunner {
 public:
  TxnRunner(mvcc::WriteTxn& txn, LeaseHooks& leases, const std::vector<bool>& path)
      : txn_(txn), leases_(leases), path_(path) {}

  // Checks the branches the txn will run, before anything is written.
  Status Check(const TxnRequest& req, bool check_puts) {
    const bool ok = path_[pos_++];
    for (const RequestOp& op : ok ? req.success() : req.failure()) {
      if (op.has_request_txn()) {
        GRID_RETURN_IF_ERROR(Check(op.request_txn(), check_puts));
      } else if (op.has_request_put() && check_puts) {
        GRID_RETURN_IF_ERROR(CheckPut(op.request_put()));
      } else if (op.has_request_range()) {
        GRID_RETURN_IF_ERROR(CheckRange(op.request_range()));
      }
    }
    return Status::Ok();
  }

  Status Apply(const TxnRequest& req, etcdserverpb::TxnResponse* resp) {
    const bool ok = path_[pos_++];
    resp->set_succeeded(ok);
    for (const RequestOp& op : ok ? req.success() : req.failure()) {
      etcdserverpb::ResponseOp* out = resp->add_responses();
      switch (op.request_case()) {
        case RequestOp::kRequestRange: {
          GRID_ASSIGN_OR_RETURN(*out->mutable_response_range(),
                                ApplyRange(txn_, op.request_range()));
          break;
        }
        case RequestOp::kRequestPut: {
          GRID_ASSIGN_OR_RETURN(*out->mutable_response_put(), Put(op.request_put()));
          break;
        }
        case RequestOp::kRequestDeleteRange: {
          GRID_ASSIGN_OR_RETURN(*out->mutable_response_delete_range(),
                                ApplyDeleteRange(txn_, leases_, op.request_delete_range()));
          break;
        }
        case RequestOp::kRequestTxn: {
          etcdserverpb::TxnResponse* nested = out->mutable_response_txn();
          nested->mutable_header();  // etcd leaves nested headers empty
          GRID_RETURN_IF_ERROR(Apply(op.request_txn(), nested));
          break;
        }
        default:
          break;  // an empty op: refused by ValidateTxn, ignored here as etcd does
      }
    }
    return Status::Ok();
  }

  // A Put whose lease and ignore_* preconditions were checked.
  Result<etcdserverpb::PutResponse> Put(const etcdserverpb::PutRequest& req) {
    etcdserverpb::PutResponse resp;
    std::string value = req.value();
    int64_t lease = req.lease();
    if (req.ignore_value() || req.ignore_lease()) {
      auto r = txn_.Range(req.key(), "", mvcc::RangeOptions{});
      if (!r.ok()) return FromStoreError(r.status());
      if (r.value().kvs.empty()) return InvalidArgument(kErrKeyNotFound);
      const mvccpb::KeyValue& old = r.value().kvs[0];
      if (req.ignore_value()) value = old.value();
      if (req.ignore_lease()) lease = old.lease();
    }
    std::optional<mvccpb::KeyValue> prev = txn_.Put(req.key(), value, lease);
    if (prev && prev->lease() != 0) leases_.Detach(prev->lease(), req.key());
    if (lease != 0) leases_.Attach(lease, req.key());
    if (req.prev_kv() && prev) *resp.mutable_prev_kv() = std::move(*prev);
    resp.mutable_header()->set_revision(txn_.WriteRevision());
    return resp;
  }

  Status CheckPut(const etcdserverpb::PutRequest& req) {
    if (req.ignore_value() || req.ignore_lease()) {
      auto r = txn_.Range(req.key(), "", mvcc::RangeOptions{.count_only = true});
      if (!r.ok()) return FromStoreError(r.status());
      if (r.value().count == 0) return InvalidArgument(kErrKeyNotFound);
    }
    if (req.lease() != 0 && !leases_.LeaseExists(req.lease())) {
      return NotFound(kErrLeaseNotFound);
    }
    return Status::Ok();
  }

  Status CheckRange(const RangeRequest& req) {
    if (req.revision() == 0) return Status::Ok();
    auto r = txn_.Range(req.key(), "",
                        mvcc::RangeOptions{.revision = req.revision(), .count_only = true});
    return r.ok() ? Status::Ok() : FromStoreError(r.status());
  }

  void Rewind() { pos_ = 0; }

 private:
  mvcc::WriteTxn& txn_;
  LeaseHooks& leases_;
  const std::vector<bool>& path_;
  size_t pos_ = 0;
};

}  // namespace

Result<etcdserverpb::RangeResponse> ApplyRange(const mvcc::ReadView& view,
                                               const RangeRequest& req) {
  const bool filters = req.min_mod_revision() != 0 || req.max_mod_revision() != 0 ||
                       req.min_create_revision() != 0 || req.max_create_revision() != 0;
  mvcc::RangeOptions ro;
  // Sorting and filtering need every key; otherwise one extra key tells whether there is more.
  ro.limit = (req.sort_order() != RangeRequest::NONE || filters) ? 0 : req.limit();
  if (ro.limit > 0) ro.limit++;
  ro.revision = req.revision();
  ro.count_only = req.count_only();
  ro.keys_only = req.keys_only() && !(NeedsSort(req) && req.sort_target() == RangeRequest::VALUE);
  auto r = view.Range(req.key(), req.range_end(), ro);
  if (!r.ok()) return FromStoreError(r.status());
  mvcc::RangeResult& rr = r.value();

  auto prune = [&](auto&& drop) {
    rr.kvs.erase(std::remove_if(rr.kvs.begin(), rr.kvs.end(), drop), rr.kvs.end());
  };
  if (req.max_mod_revision() != 0) {
    prune([&](const auto& kv) { return kv.mod_revision() > req.max_mod_revision(); });
  }
  if (req.min_mod_revision() != 0) {
    prune([&](const auto& kv) { return kv.mod_revision() < req.min_mod_revision(); });
  }
  if (req.max_create_revision() != 0) {
    prune([&](const auto& kv) { return kv.create_revision() > req.max_create_revision(); });
  }
  if (req.min_create_revision() != 0) {
    prune([&](const auto& kv) { return kv.create_revision() < req.min_create_revision(); });
  }
  SortKvs(req, &rr.kvs);

  etcdserverpb::RangeResponse resp;
  if (req.limit() > 0 && rr.kvs.size() > static_cast<size_t>(req.limit())) {
    rr.kvs.resize(static_cast<size_t>(req.limit()));
    resp.set_more(true);
  }
  resp.mutable_header()->set_revision(rr.revision);
  resp.set_count(rr.count);
  for (mvccpb::KeyValue& kv : rr.kvs) {
    if (req.keys_only()) kv.clear_value();
    *resp.add_kvs() = std::move(kv);
  }
  return resp;
}

Result<etcdserverpb::PutResponse> ApplyPut(mvcc::WriteTxn& txn, LeaseHooks& leases,
                                           const etcdserverpb::PutRequest& req) {
  const std::vector<bool> no_path;
  TxnRunner runner(txn, leases, no_path);
  // A single Put checks the lease before the key (a txn checks them the other way round).
  if (req.lease() != 0 && !leases.LeaseExists(req.lease())) return NotFound(kErrLeaseNotFound);
  GRID_RETURN_IF_ERROR(runner.CheckPut(req));
  return runner.Put(req);
}

Result<etcdserverpb::DeleteRangeResponse> ApplyDeleteRange(
    mvcc::WriteTxn& txn, LeaseHooks& leases, const etcdserverpb::DeleteRangeRequest& req) {
  etcdserverpb::DeleteRangeResponse resp;
  std::vector<mvccpb::KeyValue> deleted = txn.DeleteRange(req.key(), req.range_end());
  resp.set_deleted(static_cast<int64_t>(deleted.size()));
  for (mvccpb::KeyValue& kv : deleted) {
    if (kv.lease() != 0) leases.Detach(kv.lease(), kv.key());
    if (req.prev_kv()) *resp.add_prev_kvs() = std::move(kv);
  }
  resp.mutable_header()->set_revision(ViewRevision(txn, req.key()));
  return resp;
}

Result<etcdserverpb::TxnResponse> ApplyTxn(mvcc::WriteTxn& txn, LeaseHooks& leases,
                                           const TxnRequest& req) {
  std::vector<bool> path;
  CompareToPath(txn, req, &path);
  TxnRunner runner(txn, leases, path);
  GRID_RETURN_IF_ERROR(runner.Check(req, /*check_puts=*/!IsReadOnly(req)));
  runner.Rewind();
  etcdserverpb::TxnResponse resp;
  GRID_RETURN_IF_ERROR(runner.Apply(req, &resp));
  const std::string& probe = req.compare_size() > 0 ? req.compare(0).key() : std::string("\0", 1);
  resp.mutable_header()->set_revision(ViewRevision(txn, probe));
  return resp;
}

}  // namespace grid::kv
