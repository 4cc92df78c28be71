// The multi-version key-value store: every change creates a new revision, old revisions stay
// readable until compacted. Values live in RocksDB keyed by revision; an in-memory index maps
// each key to its generations of revisions (as etcd's keyIndex does).
//
// Threads: exactly one writer (the apply thread) uses BeginBatch()/ApplyBatch; any number of
// readers call the const methods concurrently. A batch is invisible to readers until Commit().
//
// Durability: Commit() writes one RocksDB WriteBatch without sync (the write-ahead log above the
// store is the durable record). The batch carries the consistent index, so after a crash the
// store says which log index it has applied and the log replays the rest.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "etcd/kv.pb.h"

namespace grid::mvcc {

// A revision: `main` increments once per committed mutation (one Put, DeleteRange, Txn or lease
// revoke), `sub` numbers the changes inside it from 0.
struct Revision {
  int64_t main = 0;
  int64_t sub = 0;
  friend auto operator<=>(const Revision&, const Revision&) = default;
};

struct Options {
  std::string dir;  // RocksDB directory; created if missing
  // Upper bound on events returned by one EventsInRange call (a watch catch-up pages through).
  size_t max_events_per_read = 1000;
  // Memory: RocksDB block cache (shared by all column families; index and filter blocks are
  // charged to it) and the memtable size and count of the key family.
  size_t block_cache_bytes = 16 << 20;
  size_t write_buffer_bytes = 8 << 20;
  int max_write_buffers = 2;
  // Physical compaction deletes superseded revisions in RocksDB write batches of at most this
  // many scanned revisions (etcd's CompactionBatchLimit).
  size_t compaction_batch_limit = 1000;
};

struct RangeOptions {
  int64_t limit = 0;     // 0: no limit
  int64_t revision = 0;  // 0: current revision
  bool keys_only = false;
  bool count_only = false;
};

struct RangeResult {
  std::vector<mvccpb::KeyValue> kvs;  // sorted by key ascending; at most `limit` entries
  int64_t count = 0;                  // number of keys in range, ignoring `limit`
  int64_t revision = 0;               // the store revision the read was served at
};

// Named errors (messages are etcd's, the API layer maps them to gRPC codes):
//   OutOfRange "mvcc: required revision has been compacted"     (revision <= compacted)
//   OutOfRange "mvcc: required revision is a future revision"   (revision > current)
inline constexpr char kErrCompacted[] = "mvcc: required revision has been compacted";
inline constexpr char kErrFutureRev[] = "mvcc: required revision is a future revision";

// An empty `end` means the single key `key`; end == "\0" means every key >= key (etcd's
// convention for range_end).
class ReadView {
 public:
  virtual ~ReadView() = default;
  virtual Result<RangeResult> Range(std::string_view key, std::string_view end,
                                    const RangeOptions& options) const = 0;
};

// All changes of one revision. Reads through it see its own earlier writes.
class WriteTxn : public ReadView {
 public:
  // Puts key=value with lease (0: none). Returns the previous KeyValue if the key existed.
  virtual std::optional<mvccpb::KeyValue> Put(std::string_view key, std::string_view value,
                                              int64_t lease) = 0;
  // Deletes every key in [key, end). Returns the deleted KeyValues (sorted by key).
  virtual std::vector<mvccpb::KeyValue> DeleteRange(std::string_view key,
                                                    std::string_view end) = 0;
  // The revision this txn writes at (current + 1); valid whether or not it changes anything.
  virtual int64_t WriteRevision() const = 0;
};

// Everything applied from a run of committed log entries, made visible at once.
class Batch {
 public:
  virtual ~Batch() = default;
  // Starts the next revision. At most one open txn at a time; EndTxn() closes it. A txn that
  // changed nothing does not consume a revision.
  virtual WriteTxn& BeginTxn() = 0;
  virtual void EndTxn() = 0;
  // Side tables kept atomically with the data (leases, alarms, members, meta).
  virtual void PutMeta(std::string_view table, std::string_view key, std::string_view value) = 0;
  virtual void DeleteMeta(std::string_view table, std::string_view key) = 0;
  // Marks the last log index applied by this batch.
  virtual void SetConsistentIndex(uint64_t index) = 0;
  // Writes the batch to RocksDB and publishes it to readers. Returns the events it produced in
  // revision order (prev_kv filled for every event whose key existed before).
  virtual Result<std::vector<mvccpb::Event>> Commit() = 0;
};

struct HashResult {
  uint32_t hash = 0;
  int64_t revision = 0;            // hashed up to here
  int64_t compact_revision = 0;
};

// ---- Raw records: a store's whole backend as (family, key, value), for snapshot files ----

enum class RawFamily {
  kKey,   // revision key (revision.h; 17 bytes, +'t' for a deletion) -> mvccpb::KeyValue bytes
  kMeta,  // the store's bookkeeping: "consistent_index", "scheduledCompactRev",
          // "finishedCompactRev", each an 8-byte big-endian integer
  kSide,  // a row of the side table `table` (Batch::PutMeta)
};

struct RawRecord {
  RawFamily family = RawFamily::kKey;
  std::string_view table;  // kSide only: the side table name (1..255 bytes)
  std::string_view key;
  std::string_view value;
};

// Called once per record; a non-OK status stops the export and is returned by it.
using RawVisitor = std::function<Status(const RawRecord& record)>;

class Store : public ReadView {
 public:
  static Result<std::unique_ptr<Store>> Open(const Options& options);
  ~Store() override = default;

  virtual int64_t CurrentRevision() const = 0;
  virtual int64_t CompactedRevision() const = 0;
  virtual uint64_t ConsistentIndex() const = 0;

  // Events with revision in [from_revision, to_revision] on keys in [key, end), revision order,
  // at most Options::max_events_per_read. prev_kv is filled when `with_prev_kv`.
  // OutOfRange(kErrCompacted) when from_revision <= CompactedRevision().
  virtual Result<std::vector<mvccpb::Event>> EventsInRange(std::string_view key,
                                                           std::string_view end,
                                                           int64_t from_revision,
                                                           int64_t to_revision,
                                                           bool with_prev_kv) const = 0;

  // The writer's entry point. REQUIRES: no other batch open.
  virtual std::unique_ptr<Batch> BeginBatch() = 0;

  // Physical compaction: drops every revision older than `revision` that is superseded.
  // Called by the applier after the compaction was committed in the log. Errors:
  // OutOfRange(kErrCompacted) if revision <= compacted, OutOfRange(kErrFutureRev) if > current.
  virtual Status Compact(int64_t revision) = 0;

  // Side tables: reads every (key, value) of `table` (used at start to rebuild leases, alarms).
  virtual Result<std::vector<std::pair<std::string, std::string>>> ReadMeta(
      std::string_view table) const = 0;

  // Maintenance.Hash (whole backend) and Maintenance.HashKV (MVCC key space up to `revision`,
  // 0 = current), crc32 Castagnoli-style as etcd computes them conceptually: two members with
  // the same history must return the same value.
  virtual Result<uint32_t> HashBackend() const = 0;
  virtual Result<HashResult> HashKV(int64_t revision) const = 0;

  virtual Status Defragment() = 0;
  // Makes everything committed so far durable in the backend's own files (RocksDB flush),
  // including the consistent index: the log before it is then no longer needed.
  // REQUIRES: called by the writer thread, with no batch open.
  virtual Status Flush() { return Unimplemented("mvcc: Flush"); }
  virtual int64_t DbSizeBytes() const = 0;        // on-disk size of the backend
  virtual int64_t DbSizeInUseBytes() const = 0;   // live data estimate

  // Writes a consistent copy of the backend into `dir` (must not exist) with RocksDB's
  // checkpoint; Maintenance.Snapshot streams it.
  virtual Status Checkpoint(const std::string& dir) const = 0;

  // Visits every record of one consistent view of the backend: the key family in revision
  // order, then the meta family in name order, then the side tables (grouped by table, each in
  // key order). Runs concurrently with the writer; the records are those of one instant.
  // Default: Unimplemented (stores that have no raw backend).
  virtual Status ExportRaw(const RawVisitor& visit) const {
    return Unimplemented("mvcc: this store has no raw export");
  }
};

// Builds a new store's backend from raw records, in any order (the inverse of ExportRaw).
// Store::Open on the same directory afterwards rebuilds the index and finishes a compaction
// that was scheduled but not finished. Thread-safety: one thread uses an importer.
class RawImporter {
 public:
  // Records are written in RocksDB batches of about this many bytes.
  static constexpr size_t kBatchBytes = 4 << 20;

  // Errors: FailedPrecondition if options.dir exists.
  static Result<std::unique_ptr<RawImporter>> Create(const Options& options);
  virtual ~RawImporter() = default;
  // Corruption for a record that is not what its family holds (a key that is not a revision
  // key, an undecodable KeyValue, an unknown meta name or a meta value that is not 8 bytes, an
  // empty or over-long side table name). A later put of the same key replaces the earlier one.
  virtual Status Add(const RawRecord& record) = 0;
  // Writes what is buffered, flushes and closes the backend. REQUIRES: called once, last.
  virtual Status Finish() = 0;
};

}  // namespace grid::mvcc
