// Batch and WriteTxn of RocksStore. Internal header.
//
// A batch collects the RocksDB writes of its txns in one rocksdb::WriteBatch and keeps an
// in-memory overlay (`pending_`) of what its txns wrote, so reads through a txn see the
// batch's earlier revisions and the txn's own writes. Nothing reaches readers before Commit().
//
// Thread-safety: a batch and its txn are used by the writer thread only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <rocksdb/write_batch.h>

#include "storage/mvcc/store_impl.h"

namespace grid::mvcc {

class BatchImpl;

class TxnImpl final : public WriteTxn {
 public:
  explicit TxnImpl(BatchImpl* batch) : batch_(batch) {}

  Result<RangeResult> Range(std::string_view key, std::string_view end,
                            const RangeOptions& options) const override;
  std::optional<mvccpb::KeyValue> Put(std::string_view key, std::string_view value,
                                      int64_t lease) override;
  std::vector<mvccpb::KeyValue> DeleteRange(std::string_view key, std::string_view end) override;
  int64_t WriteRevision() const override;

  void Reset();
  bool changed() const { return sub_ > 0; }

 private:
  // The key's latest value as this txn sees it, or nullopt if it does not exist.
  std::optional<mvccpb::KeyValue> Latest(std::string_view key) const;
  // Records the key's value before this txn the first time the txn touches it.
  const std::optional<mvccpb::KeyValue>& StartState(std::string_view key,
                                                    const std::optional<mvccpb::KeyValue>& now);
  Revision NextRevision() { return Revision{WriteRevision(), sub_++}; }

  BatchImpl* batch_;
  int64_t sub_ = 0;
  std::map<std::string, std::optional<mvccpb::KeyValue>, std::less<>> start_state_;
};

class BatchImpl final : public Batch {
 public:
  explicit BatchImpl(RocksStore* store);
  ~BatchImpl() override;

  WriteTxn& BeginTxn() override;
  void EndTxn() override;
  void PutMeta(std::string_view table, std::string_view key, std::string_view value) override;
  void DeleteMeta(std::string_view table, std::string_view key) override;
  void SetConsistentIndex(uint64_t index) override;
  Result<std::vector<mvccpb::Event>> Commit() override;

 private:
  friend class TxnImpl;

  // One write of this batch to a key.
  struct PendingWrite {
    Revision rev;
    size_t event;  // index into events_; its kv is the value (DELETE: the key is gone)
  };

  void AddEvent(mvccpb::Event event, Revision rev);
  // The key's latest pending write with main revision <= at_rev, or nullptr.
  const PendingWrite* PendingAt(std::string_view key, int64_t at_rev) const;

  RocksStore* store_;
  rocksdb::WriteBatch wb_;
  int64_t base_rev_;   // the store's revision when the batch began
  int64_t rev_;        // the last revision this batch wrote (base_rev_ if none)
  bool txn_open_ = false;
  bool committed_ = false;
  std::optional<uint64_t> consistent_index_;
  TxnImpl txn_;
  std::vector<mvccpb::Event> events_;
  std::vector<Revision> event_revs_;
  std::map<std::string, std::vector<PendingWrite>, std::less<>> pending_;
};

}  // namespace grid::mvcc
