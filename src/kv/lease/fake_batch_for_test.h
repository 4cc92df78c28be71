// Tests only: an in-memory mvcc::Batch (single-version keys, one revision per changing txn,
// side tables) enough to exercise the lease apply functions without a store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/check.h"
#include "storage/mvcc/store.h"

namespace grid::kv::lease::testing {

class FakeBatch final : public mvcc::Batch, private mvcc::WriteTxn {
 public:
  // Test helpers.
  void PutKey(std::string key, int64_t lease) {
    mvccpb::KeyValue kv;
    kv.set_key(key);
    kv.set_lease(lease);
    kv.set_mod_revision(++revision_);
    kvs_[std::move(key)] = kv;
  }
  int64_t revision() const { return revision_; }
  int ranges() const { return ranges_; }
  const mvcc::ReadView& view() const { return *this; }
  int txns_begun() const { return txns_begun_; }
  bool txn_open() const { return open_; }
  const std::map<std::string, mvccpb::KeyValue>& kvs() const { return kvs_; }
  std::map<std::string, std::map<std::string, std::string>> meta;

  // mvcc::Batch
  mvcc::WriteTxn& BeginTxn() override {
    GRID_CHECK(!open_) << "txn already open";
    open_ = true;
    changed_ = false;
    ++txns_begun_;
    return *this;
  }
  void EndTxn() override {
    GRID_CHECK(open_) << "no txn open";
    open_ = false;
    if (changed_) ++revision_;
  }
  void PutMeta(std::string_view table, std::string_view key, std::string_view value) override {
    meta[std::string(table)][std::string(key)] = std::string(value);
  }
  void DeleteMeta(std::string_view table, std::string_view key) override {
    meta[std::string(table)].erase(std::string(key));
  }
  void SetConsistentIndex(uint64_t) override {}
  Result<std::vector<mvccpb::Event>> Commit() override { return std::vector<mvccpb::Event>{}; }

 private:
  // mvcc::WriteTxn (only what lease code uses).
  Result<mvcc::RangeResult> Range(std::string_view key, std::string_view end,
                                  const mvcc::RangeOptions& options) const override {
    mvcc::RangeResult result;
    result.revision = revision_;
    for (const auto& [k, kv] : kvs_) {
      if (!InRange(k, key, end)) continue;
      ++result.count;
      if (options.limit == 0 || static_cast<int64_t>(result.kvs.size()) < options.limit) {
        result.kvs.push_back(kv);
      }
    }
    ++ranges_;
    return result;
  }
  std::optional<mvccpb::KeyValue> Put(std::string_view key, std::string_view value,
                                      int64_t lease) override {
    GRID_CHECK(open_);
    changed_ = true;
    std::optional<mvccpb::KeyValue> prev;
    auto it = kvs_.find(std::string(key));
    if (it != kvs_.end()) prev = it->second;
    mvccpb::KeyValue& kv = kvs_[std::string(key)];
    kv.set_key(std::string(key));
    kv.set_value(std::string(value));
    kv.set_lease(lease);
    kv.set_mod_revision(revision_ + 1);
    return prev;
  }
  std::vector<mvccpb::KeyValue> DeleteRange(std::string_view key,
                                            std::string_view end) override {
    GRID_CHECK(open_);
    std::vector<mvccpb::KeyValue> deleted;
    for (auto it = kvs_.begin(); it != kvs_.end();) {
      if (InRange(it->first, key, end)) {
        deleted.push_back(it->second);
        it = kvs_.erase(it);
      } else {
        ++it;
      }
    }
    if (!deleted.empty()) changed_ = true;
    return deleted;
  }
  int64_t WriteRevision() const override { return revision_ + 1; }

  static bool InRange(std::string_view k, std::string_view key, std::string_view end) {
    if (end.empty()) return k == key;
    if (end == std::string_view("\0", 1)) return k >= key;
    return k >= key && k < end;
  }

  std::map<std::string, mvccpb::KeyValue> kvs_;
  int64_t revision_ = 0;
  bool open_ = false;
  bool changed_ = false;
  int txns_begun_ = 0;
  mutable int ranges_ = 0;
};

}  // namespace grid::kv::lease::testing
