// The durable log as the core sees it: read-only from the core's side. The caller appends to
// it after it has persisted a Ready's entries (and installs snapshots it persisted), so
// everything visible here is durable.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "raft/types.h"

namespace grid::raft {

struct InitialState {
  HardState hard_state;
  ConfState conf_state;
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  virtual InitialState GetInitialState() const = 0;
  // Entries [lo, hi), at least one if any is in range, then as many as fit in max_bytes
  // (sum of data sizes). OutOfRange when lo <= the snapshot index (compacted), or hi >
  // LastIndex() + 1.
  virtual Result<std::vector<Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const = 0;
  // Term of entry i; for i == the snapshot index, the snapshot's term. OutOfRange when
  // compacted or beyond LastIndex().
  virtual Result<Term> TermAt(Index i) const = 0;
  // The snapshot index + 1.
  virtual Index FirstIndex() const = 0;
  virtual Index LastIndex() const = 0;
  // The most recent snapshot (for sending to a follower that is behind FirstIndex()).
  // Unavailable when it is being created: the leader retries later.
  virtual Result<Snapshot> GetSnapshot() const = 0;
};

// Entries kept in memory, as etcd's MemoryStorage. The server mirrors its WAL here; tests and
// the simulator use it directly. Thread-safety: none; the thread that drives the node also
// persists and mirrors into it.
class MemoryStorage final : public LogStorage {
 public:
  MemoryStorage();

  InitialState GetInitialState() const override;
  Result<std::vector<Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const override;
  Result<Term> TermAt(Index i) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  Result<Snapshot> GetSnapshot() const override;

  void SetHardState(const HardState& hs);
  // Appends entries; ones that overlap existing entries replace them and everything after
  // them (the conflicting tail). Entries at or before the snapshot index are ignored.
  // REQUIRES: entries are consecutive and the first is <= LastIndex() + 1.
  void Append(const std::vector<Entry>& entries);
  // Replaces the whole content by `snap` (a snapshot from the leader). OutOfRange if older
  // than the current snapshot.
  Status ApplySnapshot(const Snapshot& snap);
  // Records a snapshot of the applied state at `index` (<= LastIndex()). OutOfRange if older
  // than the current snapshot.
  Status CreateSnapshot(Index index, const ConfState& cs, std::string data);
  // Drops entries before `compact_index` (<= the last applied snapshot's... any index up to
  // LastIndex()); entry compact_index's term stays known. OutOfRange if already compacted.
  Status Compact(Index compact_index);

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  // entries_[0] is a dummy holding the index and term of the snapshot (or of the compaction
  // point); real entries follow.
  std::vector<Entry> entries_;
};

}  // namespace grid::raft
