// RocksDB-backed implementation of Store (see store.h for the contract). Internal header:
// other modules use store.h only.
//
// Column families:
//   "key"  revision key (revision.h) -> serialized mvccpb::KeyValue (a deletion stores only key)
//   "meta" the store's own bookkeeping: consistent index, scheduled/finished compaction
//   "side" the side tables of Batch::PutMeta, keyed <1 byte table length><table><key>
//
// Locking: `mu_` (shared_mutex) guards the index and the current/compacted revisions as one
// state. Readers hold it shared while they look up revisions and take a RocksDB snapshot, then
// release it and read values from the snapshot. The writer takes it exclusively only to publish
// a committed batch and to compact the index; RocksDB writes happen outside the lock.
//
// Durability: every write goes to RocksDB without its log (WriteToBackend). The consensus log
// is the store's log: a crash loses the memtables, the consistent index in the "meta" family
// falls back with them (families are flushed atomically), and the caller replays its log past
// ConsistentIndex(). Flush() makes everything written so far durable.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/listener.h>

#include "storage/mvcc/key_index.h"
#include "storage/mvcc/store.h"

namespace grid::mvcc {

class BatchImpl;

Status FromRocks(const rocksdb::Status& s, std::string_view what);

// The internal compacted revision of a store that was never compacted (etcd's -1).
inline constexpr int64_t kNeverCompacted = -1;

class RocksStore final : public Store {
 public:
  static Result<std::unique_ptr<RocksStore>> OpenImpl(const Options& options);
  ~RocksStore() override;

  Result<RangeResult> Range(std::string_view key, std::string_view end,
                            const RangeOptions& options) const override;
  int64_t CurrentRevision() const override { return current_rev_.load(); }
  // 0 until the first compaction (internally kNeverCompacted, see below).
  int64_t CompactedRevision() const override {
    return std::max<int64_t>(compacted_rev_.load(), 0);
  }
  uint64_t ConsistentIndex() const override { return consistent_index_.load(); }
  Result<std::vector<mvccpb::Event>> EventsInRange(std::string_view key, std::string_view end,
                                                   int64_t from_revision, int64_t to_revision,
                                                   bool with_prev_kv) const override;
  std::unique_ptr<Batch> BeginBatch() override;
  Status Compact(int64_t revision) override;
  Result<std::vector<std::pair<std::string, std::string>>> ReadMeta(
      std::string_view table) const override;
  Result<uint32_t> HashBackend() const override;
  Result<HashResult> HashKV(int64_t revision) const override;
  Status Defragment() override;
  Status Flush() override;
  int64_t DbSizeBytes() const override;
  int64_t DbSizeInUseBytes() const override;
  Status Checkpoint(const std::string& dir) const override;
  Status ExportRaw(const RawVisitor& visit) const override;  // raw_io.cc

 private:
  friend class BatchImpl;
  friend class TxnImpl;
  friend class RawImporterImpl;

  // Counts the bytes written since open and how many of them are in SST files, for
  // DbSizeBytes: data written before a flush began is in the files once it completes.
  class FlushTracker final : public rocksdb::EventListener {
   public:
    void OnFlushBegin(rocksdb::DB* db, const rocksdb::FlushJobInfo& info) override;
    void OnFlushCompleted(rocksdb::DB* db, const rocksdb::FlushJobInfo& info) override;
    void AddWritten(int64_t bytes) { written_bytes_.fetch_add(bytes); }
    int64_t UnflushedBytes() const {
      return std::max<int64_t>(written_bytes_.load() - flushed_bytes_.load(), 0);
    }

   private:
    std::atomic<int64_t> written_bytes_{0};
    std::atomic<int64_t> flushed_bytes_{0};
    std::mutex mu_;
    std::unordered_map<int, int64_t> written_at_begin_;  // by flush job id; guarded by mu_
  };

  explicit RocksStore(const Options& options) : options_(options) {}
  Status OpenDb();
  // Writes `batch` without RocksDB's log (see Durability above). Every write of the store goes
  // through here: a logged write after log-less ones could survive a crash that they did not.
  Status WriteToBackend(rocksdb::WriteBatch* batch, std::string_view what);
  Status LoadMeta(int64_t* scheduled_compact, int64_t* finished_compact);
  Status RebuildIndex();
  // Deletes from the key family every revision <= revision not in `keep` (sorted), in chunks of
  // Options::compaction_batch_limit, then records the compaction as finished.
  Status DeleteCompacted(int64_t revision, const std::vector<Revision>& keep);
  // Reads and parses the values at `revs` (nullptr snapshot: latest). Corruption if missing.
  Result<std::vector<mvccpb::KeyValue>> ReadValues(const rocksdb::Snapshot* snapshot,
                                                   const std::vector<Revision>& revs,
                                                   bool keys_only) const;
  // Called by a batch after its WriteBatch is in RocksDB: applies events[i] at revs[i] to the
  // index (DELETE: tombstone) and moves the current revision, under the exclusive lock.
  void Publish(const std::vector<mvccpb::Event>& events, const std::vector<Revision>& revs,
               int64_t new_current, std::optional<uint64_t> consistent_index);
  void EndBatch() { batch_open_.store(false); }

  const Options options_;
  std::shared_ptr<FlushTracker> flush_tracker_ = std::make_shared<FlushTracker>();
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* key_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* side_cf_ = nullptr;

  mutable std::shared_mutex mu_;
  TreeIndex index_;  // guarded by mu_ (mutated only by the writer)
  // As etcd 3.4's store: an empty store is at revision 1 (its first change is revision 2), and
  // a store never compacted has compacted revision -1, so Compact(0) succeeds once and HashKV
  // reports compact_revision -1.
  // DbSizeBytes() is read on every write (the quota check): it is recomputed at most every
  // kDbSizeRefreshMs, like etcd's backend whose file grows at each periodic commit.
  static constexpr int64_t kDbSizeRefreshMs = 100;
  mutable std::atomic<int64_t> db_size_bytes_{0};
  mutable std::atomic<int64_t> db_size_at_ms_{-kDbSizeRefreshMs};
  std::atomic<int64_t> current_rev_{1};                  // written under mu_ exclusive
  std::atomic<int64_t> compacted_rev_{kNeverCompacted};  // written under mu_ exclusive
  std::atomic<uint64_t> consistent_index_{0};
  std::atomic<bool> batch_open_{false};
};

// Meta keys in the "meta" family.
inline constexpr char kMetaConsistentIndex[] = "consistent_index";
inline constexpr char kMetaScheduledCompact[] = "scheduledCompactRev";
inline constexpr char kMetaFinishedCompact[] = "finishedCompactRev";

std::string SideKeyPrefix(std::string_view table);

}  // namespace grid::mvcc
