#include "client/ops.h"

namespace grid::client {
namespace {

// Fills [key, range_end) the way clientv3 does for WithPrefix/WithFromKey/WithRange.
std::string RangeEndFor(std::string_view key, bool prefix, bool from_key,
                        const std::string& range_end) {
  if (from_key) return std::string(1, '\0');
  if (prefix) {
    if (key.empty()) return std::string(1, '\0');  // the whole keyspace
    return PrefixRangeEnd(key);
  }
  return range_end;
}

etcdserverpb::Compare MakeCompare(std::string_view key, CompareResult result,
                                  etcdserverpb::Compare::CompareTarget target) {
  etcdserverpb::Compare c;
  c.set_key(std::string(key));
  c.set_result(result);
  c.set_target(target);
  return c;
}

}  // namespace

std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  for (int i = static_cast<int>(end.size()) - 1; i >= 0; --i) {
    if (static_cast<unsigned char>(end[i]) < 0xff) {
      end[i] = static_cast<char>(static_cast<unsigned char>(end[i]) + 1);
      end.resize(i + 1);
      return end;
    }
  }
  return std::string(1, '\0');
}

GetOptions GetOptions::FirstCreate() {
  GetOptions o;
  o.prefix = true;
  o.sort_target = etcdserverpb::RangeRequest::CREATE;
  o.sort_order = etcdserverpb::RangeRequest::ASCEND;
  o.limit = 1;
  return o;
}

GetOptions GetOptions::LastCreate() {
  GetOptions o = FirstCreate();
  o.sort_order = etcdserverpb::RangeRequest::DESCEND;
  return o;
}

etcdserverpb::RangeRequest MakeRangeRequest(std::string_view key, const GetOptions& o) {
  etcdserverpb::RangeRequest r;
  r.set_key(key.empty() && (o.prefix || o.from_key) ? std::string(1, '\0') : std::string(key));
  r.set_range_end(RangeEndFor(key, o.prefix, o.from_key, o.range_end));
  r.set_revision(o.revision);
  r.set_limit(o.limit);
  r.set_serializable(o.serializable);
  r.set_keys_only(o.keys_only);
  r.set_count_only(o.count_only);
  r.set_sort_target(o.sort_target);
  r.set_sort_order(o.sort_order);
  r.set_min_create_revision(o.min_create_revision);
  r.set_max_create_revision(o.max_create_revision);
  return r;
}

etcdserverpb::PutRequest MakePutRequest(std::string_view key, std::string_view value,
                                        const PutOptions& o) {
  etcdserverpb::PutRequest r;
  r.set_key(std::string(key));
  r.set_value(std::string(value));
  r.set_lease(o.lease);
  r.set_prev_kv(o.prev_kv);
  r.set_ignore_value(o.ignore_value);
  r.set_ignore_lease(o.ignore_lease);
  return r;
}

etcdserverpb::DeleteRangeRequest MakeDeleteRequest(std::string_view key,
                                                   const DeleteOptions& o) {
  etcdserverpb::DeleteRangeRequest r;
  r.set_key(key.empty() && (o.prefix || o.from_key) ? std::string(1, '\0') : std::string(key));
  r.set_range_end(RangeEndFor(key, o.prefix, o.from_key, o.range_end));
  r.set_prev_kv(o.prev_kv);
  return r;
}

etcdserverpb::RequestOp OpGet(std::string_view key, const GetOptions& options) {
  etcdserverpb::RequestOp op;
  *op.mutable_request_range() = MakeRangeRequest(key, options);
  return op;
}

etcdserverpb::RequestOp OpPut(std::string_view key, std::string_view value,
                              const PutOptions& options) {
  etcdserverpb::RequestOp op;
  *op.mutable_request_put() = MakePutRequest(key, value, options);
  return op;
}

etcdserverpb::RequestOp OpDelete(std::string_view key, const DeleteOptions& options) {
  etcdserverpb::RequestOp op;
  *op.mutable_request_delete_range() = MakeDeleteRequest(key, options);
  return op;
}

etcdserverpb::Compare CompareValue(std::string_view key, CompareResult result,
                                   std::string_view value) {
  auto c = MakeCompare(key, result, etcdserverpb::Compare::VALUE);
  c.set_value(std::string(value));
  return c;
}

etcdserverpb::Compare CompareVersion(std::string_view key, CompareResult result,
                                     int64_t version) {
  auto c = MakeCompare(key, result, etcdserverpb::Compare::VERSION);
  c.set_version(version);
  return c;
}

etcdserverpb::Compare CompareCreateRevision(std::string_view key, CompareResult result,
                                            int64_t revision) {
  auto c = MakeCompare(key, result, etcdserverpb::Compare::CREATE);
  c.set_create_revision(revision);
  return c;
}

etcdserverpb::Compare CompareModRevision(std::string_view key, CompareResult result,
                                         int64_t revision) {
  auto c = MakeCompare(key, result, etcdserverpb::Compare::MOD);
  c.set_mod_revision(revision);
  return c;
}

etcdserverpb::Compare CompareLease(std::string_view key, CompareResult result, int64_t lease) {
  auto c = MakeCompare(key, result, etcdserverpb::Compare::LEASE);
  c.set_lease(lease);
  return c;
}

}  // namespace grid::client
