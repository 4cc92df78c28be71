// The member's log as the consensus flows see it: the durable part in LogStorage followed by
// an unstable tail (entries, or a snapshot from the leader, not yet persisted by the caller).
#pragma once

#include <optional>
#include <vector>

#include "common/status.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace grid::raft {

// Sum of payload sizes: the unit of every byte limit of the core.
uint64_t EntryBytes(const Entry& e);
uint64_t EntriesBytes(const std::vector<Entry>& es);

class RaftLog {
 public:
  // Starts with storage's content; committed and applied at storage's first index - 1 until
  // the caller sets them.
  explicit RaftLog(LogStorage* storage);

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  // OutOfRange when i is compacted (below FirstIndex() - 1) or beyond LastIndex().
  Result<Term> TermAt(Index i) const;
  // Term of i, or Term(0) when unknown.
  Term TermOrZero(Index i) const;
  bool MatchTerm(Index i, Term t) const;
  // §5.4.1: whether a log ending at (last_index, last_term) is at least as up to date.
  bool IsUpToDate(Index last_index, Term last_term) const;

  // The last index known durable: everything at or below it is in storage.
  Index StableLastIndex() const;

  // §5.3: appends `entries` after (prev_index, prev_term) if that entry matches, overwriting
  // a conflicting tail, and commits up to min(commit, last new index). Returns the last new
  // index, or nullopt on mismatch.
  std::optional<Index> MaybeAppend(Index prev_index, Term prev_term, Index commit,
                                   const std::vector<Entry>& entries);
  // Appends to the unstable tail (truncating a conflicting suffix). Returns the last index.
  Index Append(const std::vector<Entry>& entries);
  // Index of the first entry whose term differs from the log's (or that is new); 0 if none.
  Index FindConflict(const std::vector<Entry>& entries) const;
  // Fast backtracking: the largest index <= `index` whose term is <= `term`.
  Index FindConflictByTerm(Index index, Term term) const;

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  // §5.4.2: commits max_index when it advances the commit index and has term `term`.
  bool MaybeCommit(Index max_index, Term term);
  // REQUIRES: i <= LastIndex().
  void CommitTo(Index i);
  void AppliedTo(Index i);

  // Entries [lo, hi): at least one if any, then as many as fit in max_bytes. OutOfRange when
  // lo is compacted or hi is beyond LastIndex() + 1.
  Result<std::vector<Entry>> Slice(Index lo, Index hi, uint64_t max_bytes) const;
  Result<std::vector<Entry>> EntriesFrom(Index lo, uint64_t max_bytes) const;

  // The unstable tail.
  const std::vector<Entry>& UnstableEntries() const { return unstable_entries_; }
  const std::optional<Snapshot>& UnstableSnapshot() const { return unstable_snapshot_; }
  // The caller persisted the unstable entries up to (i, t) / the unstable snapshot at i.
  void StableTo(Index i, Term t);
  void StableSnapshotTo(Index i);

  // Committed entries after applied(), never beyond StableLastIndex(), at least one if any
  // then up to max_bytes.
  bool HasNextCommittedEntries() const;
  std::vector<Entry> NextCommittedEntries(uint64_t max_bytes) const;

  // Resets the log to a snapshot from the leader (it becomes the unstable snapshot).
  void Restore(const Snapshot& snap);
  // The snapshot to send to a follower: the unstable one if any, else the storage's.
  Result<Snapshot> SnapshotToSend() const;

 private:
  std::optional<Term> UnstableTerm(Index i) const;

  LogStorage* storage_;
  Index committed_;
  Index applied_;
  std::optional<Snapshot> unstable_snapshot_;
  std::vector<Entry> unstable_entries_;  // unstable_entries_[k].index == unstable_offset_ + k
  Index unstable_offset_;
};

}  // namespace grid::raft
