// Reading side of the write-ahead log: validates one segment's records and applies them, in
// log order, to a Replayer that implements Raft's overwrite rule. Used by Wal::Open.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/wal/env.h"
#include "storage/wal/format.h"

namespace grid::wal {

// What Wal::Open recovers.
struct ReplayResult {
  Metadata metadata;
  HardState hard_state;     // the last one written; zero if none
  SnapshotMarker snapshot;  // the last one written; zero if none
  // Live entries after `snapshot.index`, ascending and consecutive.
  std::vector<Entry> entries;
  // Bytes of a torn tail that Open zeroed (0 when the log ended cleanly).
  uint64_t torn_bytes_dropped = 0;
};

// Folds records into a ReplayResult. Rules (the writer keeps the same ones):
//  - an entry must have index <= last + 1 (no gap) and index > snapshot.index;
//  - an entry with index i removes every earlier entry with index >= i;
//  - a snapshot marker s drops entries <= s.index, and moves last up to s.index;
//  - every metadata record must equal the first one.
// Errors are Corruption without location; the caller adds file and offset.
class Replayer {
 public:
  // `first_index` is the first segment's first index: entries start at most there.
  explicit Replayer(uint64_t first_index) : last_index_(first_index - 1) {}

  // REQUIRES: called for every segment after the first, in order.
  Status BeginSegment(uint64_t first_index) const;
  Status ApplyEntry(Entry e);
  void ApplyHardState(const HardState& hs) { result_.hard_state = hs; }
  void ApplySnapshotMarker(const SnapshotMarker& m);
  Status ApplyMetadata(const Metadata& m);

  uint64_t last_index() const { return last_index_; }
  bool has_metadata() const { return has_metadata_; }
  ReplayResult& result() { return result_; }

 private:
  uint64_t last_index_;
  bool has_metadata_ = false;
  ReplayResult result_;
};

// Outcome of scanning one segment.
struct SegmentScan {
  SegmentHeader header;
  uint64_t file_bytes = 0;
  // Offset just after the last valid record: where the next record goes.
  uint64_t end_offset = 0;
  // Set when the segment ends in a torn record: bytes [end_offset, end_offset + torn_bytes)
  // hold it and must be zeroed before the segment is appended to.
  uint64_t torn_bytes = 0;
};

// Reads the segment `name` (already opened as `file`), checks its header against the name
// and every record, and applies the records to `replay`. Only in the last segment
// (`is_last`) may a bad record be a torn tail (see README.md); anything else is Corruption
// naming `name` and the byte offset. Reads the whole segment into memory.
Status ScanSegment(File* file, const std::string& name, bool is_last, Replayer* replay,
                   SegmentScan* out);

}  // namespace grid::wal
