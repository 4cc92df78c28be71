#include "storage/mvcc/store_impl.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>

#include <rocksdb/cache.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "storage/mvcc/batch_impl.h"
#include "storage/mvcc/crc32c.h"
#include "storage/mvcc/revision.h"

namespace grid::mvcc {
namespace {

constexpr char kKeyFamily[] = "key";
constexpr char kMetaFamily[] = "meta";
constexpr char kSideFamily[] = "side";
// Small families (meta, side tables) get small memtables.
constexpr size_t kSmallWriteBufferBytes = 1 << 20;

// Holds a RocksDB snapshot for the lifetime of a read.
class SnapshotHolder {
 public:
  explicit SnapshotHolder(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {}
  ~SnapshotHolder() { db_->ReleaseSnapshot(snapshot_); }
  SnapshotHolder(const SnapshotHolder&) = delete;
  SnapshotHolder& operator=(const SnapshotHolder&) = delete;
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

bool InRange(std::string_view k, std::string_view key, std::string_view end) {
  if (end.empty()) return k == key;
  if (k < key) return false;
  if (end.size() == 1 && end[0] == '\0') return true;
  return k < end;
}

// The integer stored under `name`, or `missing` when there is none.
Result<int64_t> ReadMetaInt(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                            std::string_view name, int64_t missing) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(name.data(), name.size()),
                              &value);
  if (s.IsNotFound()) return missing;
  if (!s.ok()) return FromRocks(s, "read meta");
  if (value.size() != 8) return Corruption("mvcc: bad meta value for " + std::string(name));
  return static_cast<int64_t>(ReadBigEndian64(value));
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Corruption(msg);
  if (s.IsInvalidArgument()) return InvalidArgument(msg);
  return IOError(msg);
}

std::string SideKeyPrefix(std::string_view table) {
  GRID_CHECK(!table.empty() && table.size() < 256) << "side table name length " << table.size();
  std::string out;
  out.push_back(static_cast<char>(table.size()));
  out.append(table);
  return out;
}

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  GRID_ASSIGN_OR_RETURN(auto store, RocksStore::OpenImpl(options));
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<RocksStore>> RocksStore::OpenImpl(const Options& options) {
  if (options.dir.empty()) return InvalidArgument("mvcc: empty store directory");
  if (options.compaction_batch_limit == 0 || options.max_events_per_read == 0) {
    return InvalidArgument("mvcc: limits must be positive");
  }
  std::unique_ptr<RocksStore> store(new RocksStore(options));
  GRID_RETURN_IF_ERROR(store->OpenDb());
  int64_t scheduled = kNeverCompacted;
  int64_t finished = kNeverCompacted;
  GRID_RETURN_IF_ERROR(store->LoadMeta(&scheduled, &finished));
  GRID_RETURN_IF_ERROR(store->RebuildIndex());
  const int64_t compacted = std::max(scheduled, finished);
  store->compacted_rev_.store(compacted);
  if (store->current_rev_.load() < compacted) store->current_rev_.store(compacted);
  if (compacted != kNeverCompacted) {
    // Finishes an interrupted compaction and drops index entries it superseded.
    std::vector<Revision> keep = store->index_.Compact(compacted);
    if (scheduled > finished) GRID_RETURN_IF_ERROR(store->DeleteCompacted(compacted, keep));
  }
  return store;
}

Status RocksStore::OpenDb() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return IOError("mvcc: create " + options_.dir + ": " + ec.message());

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 2;
  // Writes skip RocksDB's log (WriteToBackend): after a crash the families must hold the same
  // prefix of writes, which only flushing them together guarantees.
  db_options.atomic_flush = true;
  db_options.listeners.push_back(flush_tracker_);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  auto table_factory =
      std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(table));

  rocksdb::ColumnFamilyOptions big;
  big.table_factory = table_factory;
  big.write_buffer_size = options_.write_buffer_bytes;
  big.max_write_buffer_number = options_.max_write_buffers;
  rocksdb::ColumnFamilyOptions small = big;
  small.write_buffer_size = kSmallWriteBufferBytes;
  small.max_write_buffer_number = 2;

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, small},
      {kKeyFamily, big},
      {kMetaFamily, small},
      {kSideFamily, small},
  };
  rocksdb::DB* db = nullptr;
  GRID_RETURN_IF_ERROR(FromRocks(
      rocksdb::DB::Open(db_options, options_.dir, families, &handles_, &db), "mvcc: open"));
  db_.reset(db);
  key_cf_ = handles_[1];
  meta_cf_ = handles_[2];
  side_cf_ = handles_[3];
  return Status::Ok();
}

Status RocksStore::WriteToBackend(rocksdb::WriteBatch* batch, std::string_view what) {
  rocksdb::WriteOptions options;
  options.disableWAL = true;
  GRID_RETURN_IF_ERROR(FromRocks(db_->Write(options, batch), what));
  flush_tracker_->AddWritten(static_cast<int64_t>(batch->GetDataSize()));
  return Status::Ok();
}

void RocksStore::FlushTracker::OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo& info) {
  std::lock_guard lock(mu_);
  written_at_begin_.emplace(info.job_id, written_bytes_.load());
}

void RocksStore::FlushTracker::OnFlushCompleted(rocksdb::DB*,
                                                const rocksdb::FlushJobInfo& info) {
  std::lock_guard lock(mu_);
  auto it = written_at_begin_.find(info.job_id);
  if (it == written_at_begin_.end()) return;
  if (it->second > flushed_bytes_.load()) flushed_bytes_.store(it->second);
  written_at_begin_.erase(it);
}

RocksStore::~RocksStore() {
  if (db_ == nullptr) return;
  for (auto* h : handles_) (void)db_->DestroyColumnFamilyHandle(h);
  (void)db_->Close();
}

Status RocksStore::LoadMeta(int64_t* scheduled_compact, int64_t* finished_compact) {
  GRID_ASSIGN_OR_RETURN(int64_t ci,
                        ReadMetaInt(db_.get(), meta_cf_, kMetaConsistentIndex, /*missing=*/0));
  consistent_index_.store(static_cast<uint64_t>(ci));
  GRID_ASSIGN_OR_RETURN(*scheduled_compact, ReadMetaInt(db_.get(), meta_cf_,
                                                       kMetaScheduledCompact, kNeverCompacted));
  GRID_ASSIGN_OR_RETURN(*finished_compact, ReadMetaInt(db_.get(), meta_cf_,
                                                      kMetaFinishedCompact, kNeverCompacted));
  return Status::Ok();
}

Status RocksStore::RebuildIndex() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), key_cf_));
  mvccpb::KeyValue kv;
  int64_t last_main = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Revision rev;
    bool tombstone = false;
    if (!ParseRevisionKey(std::string_view(it->key().data(), it->key().size()), &rev,
                          &tombstone)) {
      return Corruption("mvcc: bad revision key in key family");
    }
    if (!kv.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return Corruption("mvcc: bad value at revision " + std::to_string(rev.main));
    }
    if (tombstone) {
      index_.RestoreTombstone(kv.key(), rev);
    } else {
      index_.RestorePut(kv.key(), rev, kv.create_revision(), kv.version());
    }
    last_main = rev.main;
  }
  GRID_RETURN_IF_ERROR(FromRocks(it->status(), "mvcc: scan key family"));
  // As etcd: an empty store is at revision 1, so the first change is revision 2.
  current_rev_.store(std::max<int64_t>(last_main, 1));
  return Status::Ok();
}

Result<std::vector<mvccpb::KeyValue>> RocksStore::ReadValues(const rocksdb::Snapshot* snapshot,
                                                             const std::vector<Revision>& revs,
                                                             bool keys_only) const {
  std::vector<mvccpb::KeyValue> out(revs.size());
  if (revs.empty()) return out;
  std::vector<std::string> keys(revs.size());
  std::vector<rocksdb::Slice> slices(revs.size());
  for (size_t i = 0; i < revs.size(); ++i) {
    keys[i] = RevisionKey(revs[i]);
    slices[i] = rocksdb::Slice(keys[i]);
  }
  std::vector<rocksdb::PinnableSlice> values(revs.size());
  std::vector<rocksdb::Status> statuses(revs.size());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  db_->MultiGet(ro, key_cf_, revs.size(), slices.data(), values.data(), statuses.data());
  for (size_t i = 0; i < revs.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      return Corruption("mvcc: missing value at revision " + std::to_string(revs[i].main) + "/" +
                        std::to_string(revs[i].sub));
    }
    GRID_RETURN_IF_ERROR(FromRocks(statuses[i], "mvcc: read value"));
    if (!out[i].ParseFromArray(values[i].data(), static_cast<int>(values[i].size()))) {
      return Corruption("mvcc: bad value at revision " + std::to_string(revs[i].main));
    }
    if (keys_only) out[i].clear_value();
  }
  return out;
}

Result<RangeResult> RocksStore::Range(std::string_view key, std::string_view end,
                                      const RangeOptions& options) const {
  std::vector<Revision> revs;
  RangeResult result;
  std::optional<SnapshotHolder> snapshot;
  {
    std::shared_lock lock(mu_);
    const int64_t current = current_rev_.load();
    int64_t rev = options.revision;
    if (rev > current) return OutOfRange(kErrFutureRev);
    if (rev <= 0) rev = current;
    if (rev < compacted_rev_.load()) return OutOfRange(kErrCompacted);
    result.revision = current;
    const size_t limit = options.limit > 0 ? static_cast<size_t>(options.limit) : SIZE_MAX;
    index_.Range(key, end, rev, [&](std::string_view, const KeyIndex::Found& f) {
      result.count++;
      if (!options.count_only && revs.size() < limit) revs.push_back(f.modified);
    });
    if (revs.empty()) return result;
    snapshot.emplace(db_.get());
  }
  GRID_ASSIGN_OR_RETURN(result.kvs, ReadValues(snapshot->get(), revs, options.keys_only));
  return result;
}

Result<std::vector<mvccpb::Event>> RocksStore::EventsInRange(std::string_view key,
                                                             std::string_view end,
                                                             int64_t from_revision,
                                                             int64_t to_revision,
                                                             bool with_prev_kv) const {
  std::vector<mvccpb::Event> events;
  std::optional<SnapshotHolder> snapshot;
  {
    std::shared_lock lock(mu_);
    // As etcd's watchable store: a start strictly below the compacted revision is compacted.
    if (from_revision < compacted_rev_.load()) return OutOfRange(kErrCompacted);
    to_revision = std::min(to_revision, current_rev_.load());
    if (from_revision > to_revision) return events;
    snapshot.emplace(db_.get());
  }
  const std::string lower = RevisionKey(Revision{std::max<int64_t>(from_revision, 0), 0});
  const std::string upper = RevisionKey(Revision{to_revision + 1, 0});
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot->get();
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, key_cf_));
  mvccpb::KeyValue kv;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    Revision rev;
    bool tombstone = false;
    if (!ParseRevisionKey(std::string_view(it->key().data(), it->key().size()), &rev,
                          &tombstone)) {
      return Corruption("mvcc: bad revision key in key family");
    }
    // A page ends on a revision boundary so that the caller can resume at last + 1.
    if (events.size() >= options_.max_events_per_read &&
        rev.main != events.back().kv().mod_revision()) {
      break;
    }
    if (!kv.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return Corruption("mvcc: bad value at revision " + std::to_string(rev.main));
    }
    if (!InRange(kv.key(), key, end)) continue;
    mvccpb::Event& ev = events.emplace_back();
    if (tombstone) {
      ev.set_type(mvccpb::Event::DELETE);
      ev.mutable_kv()->set_key(kv.key());
      ev.mutable_kv()->set_mod_revision(rev.main);
    } else {
      ev.set_type(mvccpb::Event::PUT);
      *ev.mutable_kv() = std::move(kv);
      kv.Clear();
    }
  }
  GRID_RETURN_IF_ERROR(FromRocks(it->status(), "mvcc: scan events"));
  if (!with_prev_kv || events.empty()) return events;

  // prev_kv is the key's value just before the event's revision, as etcd's watch fills it.
  std::vector<Revision> prev_revs;
  std::vector<size_t> prev_of;
  std::optional<SnapshotHolder> prev_snapshot;
  {
    std::shared_lock lock(mu_);
    if (from_revision < compacted_rev_.load()) return OutOfRange(kErrCompacted);
    for (size_t i = 0; i < events.size(); ++i) {
      auto f = index_.Get(events[i].kv().key(), events[i].kv().mod_revision() - 1);
      if (!f) continue;
      prev_revs.push_back(f->modified);
      prev_of.push_back(i);
    }
    if (prev_revs.empty()) return events;
    prev_snapshot.emplace(db_.get());
  }
  GRID_ASSIGN_OR_RETURN(auto prevs, ReadValues(prev_snapshot->get(), prev_revs, false));
  for (size_t j = 0; j < prevs.size(); ++j) {
    *events[prev_of[j]].mutable_prev_kv() = std::move(prevs[j]);
  }
  return events;
}

std::unique_ptr<Batch> RocksStore::BeginBatch() {
  GRID_CHECK(!batch_open_.exchange(true)) << "a batch is already open";
  return std::make_unique<BatchImpl>(this);
}

void RocksStore::Publish(const std::vector<mvccpb::Event>& events,
                         const std::vector<Revision>& revs, int64_t new_current,
                         std::optional<uint64_t> consistent_index) {
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].type() == mvccpb::Event::DELETE) {
      GRID_CHECK(index_.Tombstone(events[i].kv().key(), revs[i])) << "tombstone of a dead key";
    } else {
      index_.Put(events[i].kv().key(), revs[i]);
    }
  }
  current_rev_.store(new_current);
  if (consistent_index) consistent_index_.store(*consistent_index);
}

Status RocksStore::Compact(int64_t revision) {
  if (revision <= compacted_rev_.load()) return OutOfRange(kErrCompacted);
  if (revision > current_rev_.load()) return OutOfRange(kErrFutureRev);
  std::string value;
  AppendBigEndian64(static_cast<uint64_t>(revision), &value);
  rocksdb::WriteBatch scheduled;
  GRID_RETURN_IF_ERROR(
      FromRocks(scheduled.Put(meta_cf_, kMetaScheduledCompact, value), "mvcc: schedule compaction"));
  GRID_RETURN_IF_ERROR(WriteToBackend(&scheduled, "mvcc: schedule compaction"));
  std::vector<Revision> keep;
  {
    std::unique_lock lock(mu_);
    compacted_rev_.store(revision);
    keep = index_.Compact(revision);
  }
  return DeleteCompacted(revision, keep);
}

Status RocksStore::DeleteCompacted(int64_t revision, const std::vector<Revision>& keep) {
  const std::string upper = RevisionKey(Revision{revision + 1, 0});
  rocksdb::Slice upper_slice(upper);
  std::string next;  // where the next chunk starts; empty: the beginning
  while (true) {
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, key_cf_));
    rocksdb::WriteBatch wb;
    size_t scanned = 0;
    std::string last;
    for (it->Seek(next); it->Valid() && scanned < options_.compaction_batch_limit;
         it->Next(), ++scanned) {
      Revision rev;
      bool tombstone = false;
      if (!ParseRevisionKey(std::string_view(it->key().data(), it->key().size()), &rev,
                            &tombstone)) {
        return Corruption("mvcc: bad revision key in key family");
      }
      if (tombstone || !std::binary_search(keep.begin(), keep.end(), rev)) {
        wb.Delete(key_cf_, it->key());
      }
      last.assign(it->key().data(), it->key().size());
    }
    GRID_RETURN_IF_ERROR(FromRocks(it->status(), "mvcc: scan for compaction"));
    const bool done = !it->Valid();
    if (done) {
      std::string value;
      AppendBigEndian64(static_cast<uint64_t>(revision), &value);
      wb.Put(meta_cf_, kMetaFinishedCompact, value);
    }
    GRID_RETURN_IF_ERROR(WriteToBackend(&wb, "mvcc: compact"));
    if (done) return Status::Ok();
    next = last;
    next.push_back('\0');  // the smallest key after `last`
  }
}

Result<std::vector<std::pair<std::string, std::string>>> RocksStore::ReadMeta(
    std::string_view table) const {
  const std::string prefix = SideKeyPrefix(table);
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), side_cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.emplace_back(it->key().ToString().substr(prefix.size()), it->value().ToString());
  }
  GRID_RETURN_IF_ERROR(FromRocks(it->status(), "mvcc: read side table"));
  return out;
}

Result<uint32_t> RocksStore::HashBackend() const {
  SnapshotHolder snapshot(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.get();
  Crc32c crc;
  for (auto* cf : {key_cf_, meta_cf_, side_cf_}) {
    crc.Update(cf->GetName());
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      crc.Update(std::string_view(it->key().data(), it->key().size()));
      crc.Update(std::string_view(it->value().data(), it->value().size()));
    }
    GRID_RETURN_IF_ERROR(FromRocks(it->status(), "mvcc: hash backend"));
  }
  return crc.value();
}

Result<HashResult> RocksStore::HashKV(int64_t revision) const {
  HashResult result;
  std::vector<Revision> keep;
  std::optional<SnapshotHolder> snapshot;
  {
    std::shared_lock lock(mu_);
    result.compact_revision = compacted_rev_.load();  // -1 if never compacted, as etcd
    const int64_t current = current_rev_.load();
    if (revision > 0 && revision <= result.compact_revision) return OutOfRange(kErrCompacted);
    if (revision > current) return OutOfRange(kErrFutureRev);
    result.revision = revision > 0 ? revision : current;
    // Revisions at or below the compacted one count only if the compaction keeps them, so the
    // hash does not depend on how far the physical deletion has progressed.
    keep = index_.Keep(result.compact_revision);
    snapshot.emplace(db_.get());
  }
  const std::string upper = RevisionKey(Revision{result.revision + 1, 0});
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot->get();
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, key_cf_));
  Crc32c crc;
  crc.Update(kKeyFamily);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Revision rev;
    bool tombstone = false;
    std::string_view k(it->key().data(), it->key().size());
    if (!ParseRevisionKey(k, &rev, &tombstone)) {
      return Corruption("mvcc: bad revision key in key family");
    }
    if (rev.main <= result.compact_revision &&
        (tombstone || !std::binary_search(keep.begin(), keep.end(), rev))) {
      continue;
    }
    crc.Update(k);
    crc.Update(std::string_view(it->value().data(), it->value().size()));
  }
  GRID_RETURN_IF_ERROR(FromRocks(it->status(), "mvcc: hash kv"));
  result.hash = crc.value();
  return result;
}

Status RocksStore::Flush() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  return FromRocks(db_->Flush(flush, handles_), "mvcc: flush");
}

Status RocksStore::Defragment() {
  rocksdb::FlushOptions flush;
  GRID_RETURN_IF_ERROR(FromRocks(db_->Flush(flush, handles_), "mvcc: flush"));
  rocksdb::CompactRangeOptions cro;
  cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* cf : handles_) {
    GRID_RETURN_IF_ERROR(
        FromRocks(db_->CompactRange(cro, cf, nullptr, nullptr), "mvcc: defragment"));
  }
  return Status::Ok();
}

int64_t RocksStore::DbSizeBytes() const {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  if (now_ms - db_size_at_ms_.load(std::memory_order_relaxed) < kDbSizeRefreshMs) {
    return db_size_bytes_.load(std::memory_order_relaxed);
  }
  // Flushed data is in SST files; data not yet flushed counts the bytes written since the last
  // flush began (the memtables' arena size would count reserved memory). RocksDB's log files
  // of a store written before writes skipped that log still count until they are deleted.
  uint64_t sst = 0;
  (void)db_->GetAggregatedIntProperty("rocksdb.total-sst-files-size", &sst);
  uint64_t logged = 0;
  rocksdb::VectorLogPtr logs;
  if (db_->GetSortedWalFiles(logs).ok()) {
    for (const auto& log : logs) {
      if (log->Type() == rocksdb::kAliveLogFile) logged += log->SizeFileBytes();
    }
  }
  const int64_t size =
      static_cast<int64_t>(sst + logged) + flush_tracker_->UnflushedBytes();
  db_size_bytes_.store(size, std::memory_order_relaxed);
  db_size_at_ms_.store(now_ms, std::memory_order_relaxed);
  return size;
}

int64_t RocksStore::DbSizeInUseBytes() const {
  uint64_t live = 0;
  uint64_t mem = 0;
  (void)db_->GetAggregatedIntProperty("rocksdb.estimate-live-data-size", &live);
  (void)db_->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
  return static_cast<int64_t>(live + mem);
}

Status RocksStore::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  GRID_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw),
                                 "mvcc: checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return FromRocks(cp->CreateCheckpoint(dir), "mvcc: checkpoint");
}

}  // namespace grid::mvcc
