// One member's simulated disk. Log writes (snapshot from the leader, entries, hard state) are
// buffered until Sync(); a crash keeps only a prefix of the buffered writes (those the
// device happened to write back), in order, and loses the rest. A local snapshot with its
// compaction, and the state machine's applied index, are written and synced by their own
// flows, so they are durable at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "common/status.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace grid::sim {

using raft::Index;

// What survives a crash.
struct DurableState {
  raft::HardState hard_state;
  raft::Snapshot snapshot;
  // Consecutive entries after `base_index` (a compaction point <= snapshot.meta.index, or
  // the snapshot index itself).
  Index base_index;
  std::vector<raft::Entry> entries;
  // The state machine's persisted applied index (the backend's, which may lag the commit
  // index; never above it).
  Index applied;

  Index LastIndex() const { return base_index + entries.size(); }
};

class Disk {
 public:
  // Buffered writes before the disk writes back by itself (a full page cache).
  static constexpr size_t kMaxUnsyncedWrites = 1024;

  // A new disk whose log starts at `initial` (a bootstrap snapshot at index 0).
  explicit Disk(const raft::Snapshot& initial);

  void WriteSnapshot(const raft::Snapshot& snap);
  // REQUIRES: consecutive, starting at or before the log's last index + 1 (after buffered
  // writes), and after the base index.
  void WriteEntries(const std::vector<raft::Entry>& entries);
  void WriteHardState(const raft::HardState& hs);
  // Every buffered write becomes durable.
  void Sync();
  size_t unsynced_writes() const { return pending_.size(); }

  // Power loss: the first `survivors` buffered writes become durable and, when the next one
  // is an append, its first `torn_entries` entries too (a torn write); the rest is lost.
  // REQUIRES: survivors <= unsynced_writes().
  void Crash(size_t survivors, size_t torn_entries = 0);
  // Entries in the buffered write at `position` (0 when it is not an append).
  size_t EntriesInUnsyncedWrite(size_t position) const;

  // A local snapshot of the applied state at snap.meta.index, then compaction of entries up
  // to compact_to (<= snap.meta.index), both durable at once.
  // REQUIRES: snap.meta.index <= durable last index.
  void SaveLocalSnapshot(const raft::Snapshot& snap, Index compact_to);
  // Persists the state machine's applied index, clipped to the durable commit index.
  void SaveAppliedIndex(Index applied);

  const DurableState& durable() const { return durable_; }
  // The applied index a restart resumes from: the durable applied index, at least the
  // snapshot index, at most the durable commit index.
  Index RestartAppliedIndex() const;
  // Loads the durable state into an empty storage.
  Status Restore(raft::MemoryStorage* storage) const;

  uint64_t syncs() const { return syncs_; }

 private:
  using Write = std::variant<raft::Snapshot, std::vector<raft::Entry>, raft::HardState>;
  void Apply(const Write& w);

  DurableState durable_;
  std::vector<Write> pending_;
  Index pending_last_;  // the log's last index counting buffered writes
  uint64_t syncs_ = 0;
};

}  // namespace grid::sim
