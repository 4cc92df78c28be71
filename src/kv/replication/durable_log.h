// The member's Raft log on disk: the WAL, mirrored in a raft::MemoryStorage that the
// consensus core reads. Everything in the storage is durable: Persist() writes (and syncs when
// the Ready requires it) before it mirrors.
//
// Thread-safety: none; only the raft thread uses it (and the storage it mirrors into).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "raft/storage.h"
#include "raft/types.h"
#include "storage/wal/reader.h"
#include "storage/wal/wal.h"

namespace grid::kv::replication {

raft::Entry ToRaftEntry(wal::Entry e);
wal::Entry ToWalEntry(const raft::Entry& e);

// Writes a new cluster's first entries into `wal`, after `base_index` (0 for an empty log; the
// snapshot marker's index after a restore): one kConfChange entry per initial member (term 1,
// each carrying an InternalRequest that adds the member, so that every member's backend
// learns the membership by applying them), and hard state {term 1, commit = the last of
// them}, synced. Returns what a replay of the log would then return.
[[nodiscard]] Result<wal::ReplayResult> BootstrapLog(wal::Wal* wal, uint64_t base_index,
                                                     const std::vector<uint64_t>& member_ids,
                                                     const std::vector<std::string>& contexts);

class DurableLog {
 public:
  // `replayed` is what Wal::Open returned (or the empty result of a Create). `conf_state` is
  // the configuration in force at the replayed commit index (the caller rebuilt it from the
  // backend after replaying the committed tail).
  DurableLog(std::unique_ptr<wal::Wal> wal, wal::ReplayResult replayed,
             raft::ConfState conf_state);

  raft::MemoryStorage* storage() { return &storage_; }

  // Writes the Ready's entries and hard state (a snapshot's marker comes first: the caller
  // installed the snapshot's data before), syncing when `ready.must_sync` or a snapshot is
  // present, then mirrors them into the storage. After an error the log is unusable (the
  // member must stop taking writes); nothing was mirrored.
  [[nodiscard]] Status Persist(const raft::Ready& ready);

  // The backend holds every entry up to `index` (of `term`) durably: records a snapshot
  // marker in the WAL, releases older segments, records a snapshot in the storage (for
  // followers that fall behind) and drops in-memory entries older than `keep_entries` before
  // it. A failure is logged and retried at the next call.
  void Release(raft::Index index, const raft::ConfState& conf_state, uint64_t keep_entries);

 private:
  std::unique_ptr<wal::Wal> wal_;
  raft::MemoryStorage storage_;
  raft::Index released_;
};

}  // namespace grid::kv::replication
