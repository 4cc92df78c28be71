// Request builders for the etcd v3 KV API: Get/Put/Delete options, the RequestOps and
// Compares of a transaction, and a small TxnBuilder. Plain values; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "etcd/rpc.pb.h"

namespace grid::client {

// The smallest key greater than every key that starts with `prefix` ("\0" when there is
// none, i.e. the range reaches the end of the keyspace), as etcd's clientv3 computes it.
std::string PrefixRangeEnd(std::string_view prefix);

struct GetOptions {
  std::string range_end;  // explicit end of [key, range_end); ignored when prefix/from_key
  bool prefix = false;    // every key starting with key
  bool from_key = false;  // every key >= key
  int64_t revision = 0;   // 0 = current
  int64_t limit = 0;      // 0 = no limit
  bool serializable = false;
  bool keys_only = false;
  bool count_only = false;
  etcdserverpb::RangeRequest::SortTarget sort_target = etcdserverpb::RangeRequest::KEY;
  etcdserverpb::RangeRequest::SortOrder sort_order = etcdserverpb::RangeRequest::NONE;
  int64_t min_create_revision = 0;
  int64_t max_create_revision = 0;

  // clientv3.WithFirstCreate(): the key of the prefix with the lowest create revision.
  static GetOptions FirstCreate();
  // clientv3.WithLastCreate(): the key of the prefix with the highest create revision.
  static GetOptions LastCreate();
};

struct PutOptions {
  int64_t lease = 0;
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;
};

struct DeleteOptions {
  std::string range_end;
  bool prefix = false;
  bool from_key = false;
  bool prev_kv = false;
};

etcdserverpb::RangeRequest MakeRangeRequest(std::string_view key, const GetOptions& options);
etcdserverpb::PutRequest MakePutRequest(std::string_view key, std::string_view value,
                                        const PutOptions& options);
etcdserverpb::DeleteRangeRequest MakeDeleteRequest(std::string_view key,
                                                   const DeleteOptions& options);

etcdserverpb::RequestOp OpGet(std::string_view key, const GetOptions& options = {});
etcdserverpb::RequestOp OpPut(std::string_view key, std::string_view value,
                              const PutOptions& options = {});
etcdserverpb::RequestOp OpDelete(std::string_view key, const DeleteOptions& options = {});

// Compares on one key, e.g. CompareCreateRevision(k, Compare::EQUAL, 0) is "k does not exist".
using CompareResult = etcdserverpb::Compare::CompareResult;
etcdserverpb::Compare CompareValue(std::string_view key, CompareResult result,
                                   std::string_view value);
etcdserverpb::Compare CompareVersion(std::string_view key, CompareResult result, int64_t version);
etcdserverpb::Compare CompareCreateRevision(std::string_view key, CompareResult result,
                                            int64_t revision);
etcdserverpb::Compare CompareModRevision(std::string_view key, CompareResult result,
                                         int64_t revision);
etcdserverpb::Compare CompareLease(std::string_view key, CompareResult result, int64_t lease);

// Txn().If(c).Then(op1, op2).Else(op3).request()
class TxnBuilder {
 public:
  template <typename... C>
  TxnBuilder& If(C&&... compares) {
    ((*req_.add_compare() = std::forward<C>(compares)), ...);
    return *this;
  }
  template <typename... O>
  TxnBuilder& Then(O&&... ops) {
    ((*req_.add_success() = std::forward<O>(ops)), ...);
    return *this;
  }
  template <typename... O>
  TxnBuilder& Else(O&&... ops) {
    ((*req_.add_failure() = std::forward<O>(ops)), ...);
    return *this;
  }
  const etcdserverpb::TxnRequest& request() const { return req_; }

 private:
  etcdserverpb::TxnRequest req_;
};

}  // namespace grid::client
