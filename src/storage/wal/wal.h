// Write-ahead log: the only durable record of acknowledged writes. Stores Raft log entries,
// hard state, snapshot markers and the member's metadata in preallocated segment files (format
// in README.md). The state machine above it is written without sync and, after a crash,
// replays the entries that Open returns after its consistent index.
//
// Thread-safety: none. One thread uses a Wal at a time (the caller serialises Append, Sync,
// SaveSnapshotMarker and ReleaseBefore; group commit is the caller's: append many entries,
// then Sync once).
//
// Failure: after any write, preallocation or sync error, the Wal is unusable and every later
// call returns that same IOError. The caller must stop using it (and stop the member);
// everything made durable by an earlier successful Sync survives and is replayed by Open.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/wal/env.h"
#include "storage/wal/format.h"
#include "storage/wal/reader.h"

namespace grid::wal {

inline constexpr uint64_t kDefaultSegmentBytes = 64ull << 20;
// Smallest segment_bytes accepted: room for the header, the per-segment preamble and a few
// records.
inline constexpr uint64_t kMinSegmentBytes = 1024;
// 10 MiB of entry data (the largest request the server accepts) plus slack for framing.
inline constexpr uint32_t kDefaultMaxRecordBytes = (10u << 20) + (64u << 10);
inline constexpr uint64_t kDefaultZeroAheadBytes = 1ull << 20;
inline constexpr uint64_t kMaxZeroAheadBytes = 16ull << 20;

struct Options {
  std::string dir;  // holds only this log's segment files
  // Preallocated size of each segment file. A record that does not fit in the current
  // segment's free space starts a new segment; a record larger than a whole segment gets an
  // oversize segment of its own (sized to fit).
  uint64_t segment_bytes = kDefaultSegmentBytes;
  // Largest record payload. For an entry that is kEntryFixedBytes + data.size(); a larger
  // entry is refused with InvalidArgument and nothing is written. At most
  // kFormatMaxRecordBytes.
  uint32_t max_record_bytes = kDefaultMaxRecordBytes;
  // The segment is kept written with zeros at least this far past its last record (in the
  // same pwrite as the records that cross the mark). Preallocated space is "unwritten" to
  // the file system, and a write into it changes extent metadata that every fdatasync then
  // has to write as well; space already written with zeros needs only its data flushed.
  // 0 turns it off; at most kMaxZeroAheadBytes.
  uint64_t zero_ahead_bytes = kDefaultZeroAheadBytes;
  Env* env = nullptr;                      // not owned; null means Env::Default()
  std::shared_ptr<spdlog::logger> logger;  // null means spdlog's default logger
};

class Wal {
 public:
  // Creates a new log in `options.dir` (created if missing; its parent must exist) holding
  // one durable segment with `metadata`. Fails with AlreadyExists if the dir has segments.
  static Result<std::unique_ptr<Wal>> Create(const Options& options, const Metadata& metadata);

  // Opens an existing log, replaying every segment into *out (see ReplayResult). A torn tail
  // in the last segment is zeroed with a warning; any other damage is Corruption naming the
  // file and byte offset. NotFound if the dir has no segments.
  static Result<std::unique_ptr<Wal>> Open(const Options& options, ReplayResult* out);

  // True when `options.dir` exists and holds at least one segment.
  static Result<bool> Exists(const Options& options);

  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;
  ~Wal();  // closes files; does not sync

  // Writes `entries` and then `*hs` (if not null) with one write per segment touched; no
  // sync. REQUIRES of the input (else InvalidArgument, nothing written): entries have
  // consecutive indexes, the first one <= LastIndex() + 1 and > the snapshot marker's index;
  // each entry's payload <= max_record_bytes. An entry with index <= LastIndex() overwrites
  // that index and everything after it (Raft's conflicting tail).
  Status Append(const std::vector<Entry>& entries, const HardState* hs);

  // Makes everything appended so far durable: fdatasync of the current segment, plus fsync
  // of the dir when a segment was created or removed since the last Sync.
  Status Sync();

  // Records that the state machine holds everything up to `marker.index`, then Syncs.
  // Entries <= marker.index are no longer replayed; if marker.index > LastIndex(), LastIndex
  // moves up to it. REQUIRES: marker.index >= the previous marker's index.
  Status SaveSnapshotMarker(const SnapshotMarker& marker);

  // Deletes whole segments all of whose live entries are < `index`; never the last segment.
  // Every segment repeats the metadata, snapshot marker and hard state current when it was
  // started, so nothing else is lost. The caller passes an index it no longer needs to
  // replay (at most its durable snapshot's index + 1).
  Status ReleaseBefore(uint64_t index);

  // Index of the last entry (or of the snapshot marker if that is higher); 0 when empty.
  uint64_t LastIndex() const { return last_index_; }

  // Segment file names, oldest first (for tests and diagnostics).
  std::vector<std::string> SegmentNames() const;

 private:
  struct Segment {
    uint64_t sequence;
    uint64_t first_index;
    std::string name;
  };

  explicit Wal(const Options& options);

  static Status ValidateOptions(const Options& options);
  // Records repeated at the start of each segment.
  std::string Preamble() const;
  // Durably creates segment (sequence, first_index) of `capacity_bytes`, starting with the
  // header and `preamble`, through a temporary name; makes it the current segment.
  Status CreateSegment(uint64_t sequence, uint64_t first_index, uint64_t capacity_bytes,
                       const std::string& preamble);
  // Ensures a record of `record_bytes` fits after the pending batch, flushing the batch and
  // rolling to a new segment if not.
  Status Reserve(uint64_t record_bytes);
  Status Roll(uint64_t record_bytes);
  // Writes the pending batch at the current offset, followed by zeros up to
  // zero_ahead_bytes past it when it crosses written_until_ (one pwrite).
  Status Flush();
  // Appends to `out` the zeros that keep the segment written zero_ahead_bytes past `end`
  // (an offset in the last segment), given what is written already; updates written_until_.
  void AppendZeroAhead(uint64_t end, std::string* out);
  Status WriteRecords(const std::vector<Entry>& entries, const HardState* hs,
                      const SnapshotMarker* marker);
  // Remembers the first write error; the Wal is unusable afterwards.
  Status Fail(Status s);
  std::string PathOf(const std::string& name) const;

  const Options options_;
  Env* const env_;
  const std::shared_ptr<spdlog::logger> logger_;

  Metadata metadata_;
  HardState hard_state_;
  SnapshotMarker snapshot_;
  uint64_t last_index_ = 0;

  std::vector<Segment> segments_;  // oldest first; the last one is being written
  std::unique_ptr<File> file_;     // the last segment
  uint64_t capacity_bytes_ = 0;    // of the last segment
  uint64_t offset_ = 0;            // next write position in the last segment
  // The last segment holds written bytes (records or zeros) below this offset.
  uint64_t written_until_ = 0;

  // Records not yet written; reused, unless a flush of zeros ahead grew it past
  // kRetainedBatchBytes (then freed, not kept at zero_ahead_bytes for the segment's life).
  std::string batch_;
  static constexpr size_t kRetainedBatchBytes = 256 << 10;
  bool unsynced_ = false;
  bool dir_dirty_ = false;
  Status failed_;
};

}  // namespace grid::wal
