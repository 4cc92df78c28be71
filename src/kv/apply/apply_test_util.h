// Fixture for the apply tests: a real store in a temp dir, a fake lessor and helpers that run
// one request in its own batch.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "kv/apply/kv_applier.h"
#include "storage/mvcc/test_util.h"

namespace grid::kv::testing {

class FakeLeases final : public LeaseHooks {
 public:
  bool LeaseExists(int64_t id) const override { return ids.count(id) > 0; }
  void Attach(int64_t id, std::string_view key) override {
    log.push_back("attach " + std::to_string(id) + " " + std::string(key));
  }
  void Detach(int64_t id, std::string_view key) override {
    log.push_back("detach " + std::to_string(id) + " " + std::string(key));
  }
  std::set<int64_t> ids;
  std::vector<std::string> log;
};

template <typename Msg>
Msg Parse(const std::string& text) {
  Msg msg;
  GRID_CHECK(google::protobuf::TextFormat::ParseFromString(text, &msg)) << text;
  return msg;
}

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = mvcc::testing::OpenStore(dir_.path()); }

  // Runs fn(txn) in one batch and commits it.
  template <typename Fn>
  auto Write(Fn&& fn) {
    auto batch = store_->BeginBatch();
    auto result = fn(batch->BeginTxn());
    batch->EndTxn();
    EXPECT_TRUE(batch->Commit().ok());
    return result;
  }
  Result<etcdserverpb::PutResponse> Put(const std::string& text) {
    auto req = Parse<etcdserverpb::PutRequest>(text);
    return Write([&](mvcc::WriteTxn& txn) { return ApplyPut(txn, leases_, req); });
  }
  void MustPut(const std::string& key, const std::string& value, int64_t lease = 0) {
    etcdserverpb::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    req.set_lease(lease);
    auto r = Write([&](mvcc::WriteTxn& txn) { return ApplyPut(txn, leases_, req); });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Result<etcdserverpb::DeleteRangeResponse> Delete(const std::string& text) {
    auto req = Parse<etcdserverpb::DeleteRangeRequest>(text);
    return Write([&](mvcc::WriteTxn& txn) { return ApplyDeleteRange(txn, leases_, req); });
  }
  Result<etcdserverpb::TxnResponse> Txn(const std::string& text) {
    auto req = Parse<etcdserverpb::TxnRequest>(text);
    return Write([&](mvcc::WriteTxn& txn) { return ApplyTxn(txn, leases_, req); });
  }
  Result<etcdserverpb::RangeResponse> Range(const std::string& text) {
    return ApplyRange(*store_, Parse<etcdserverpb::RangeRequest>(text));
  }
  static std::vector<std::string> Keys(const etcdserverpb::RangeResponse& r) {
    std::vector<std::string> out;
    for (const auto& kv : r.kvs()) out.push_back(kv.key());
    return out;
  }

  mvcc::testing::TempDir dir_;
  std::unique_ptr<mvcc::Store> store_;
  FakeLeases leases_;
};

}  // namespace grid::kv::testing
