#include "sim/disk.h"

#include <algorithm>

#include "common/check.h"

namespace grid::sim {

Disk::Disk(const raft::Snapshot& initial) {
  durable_.snapshot = initial;
  durable_.base_index = initial.meta.index;
  durable_.applied = initial.meta.index;
  durable_.hard_state.commit = initial.meta.index;
  pending_last_ = durable_.LastIndex();
}

void Disk::WriteSnapshot(const raft::Snapshot& snap) {
  pending_.emplace_back(snap);
  pending_last_ = snap.meta.index;
  if (pending_.size() >= kMaxUnsyncedWrites) Sync();
}

void Disk::WriteEntries(const std::vector<raft::Entry>& entries) {
  if (entries.empty()) return;
  GRID_CHECK(entries.front().index <= pending_last_ + 1)
      << "entries from " << entries.front().index.value() << " leave a gap after "
      << pending_last_.value();
  for (size_t i = 1; i < entries.size(); ++i) {
    GRID_CHECK(entries[i].index == entries[i - 1].index + 1) << "entries not consecutive";
  }
  pending_.emplace_back(entries);
  // A conflicting tail is replaced: the log now ends with these entries.
  pending_last_ = std::max(durable_.base_index, entries.back().index);
  if (pending_.size() >= kMaxUnsyncedWrites) Sync();
}

void Disk::WriteHardState(const raft::HardState& hs) {
  pending_.emplace_back(hs);
  if (pending_.size() >= kMaxUnsyncedWrites) Sync();
}

void Disk::Apply(const Write& w) {
  if (const auto* snap = std::get_if<raft::Snapshot>(&w)) {
    durable_.snapshot = *snap;
    durable_.base_index = snap->meta.index;
    durable_.entries.clear();
    durable_.applied = snap->meta.index;
    return;
  }
  if (const auto* hs = std::get_if<raft::HardState>(&w)) {
    durable_.hard_state = *hs;
    return;
  }
  const auto& entries = std::get<std::vector<raft::Entry>>(w);
  // Entries at or before the base are already covered (compacted or in the snapshot).
  auto first = std::find_if(entries.begin(), entries.end(),
                            [&](const raft::Entry& e) { return e.index > durable_.base_index; });
  if (first == entries.end()) return;
  const uint64_t pos = first->index - (durable_.base_index + 1);
  GRID_CHECK(pos <= durable_.entries.size()) << "durable log gap at " << first->index.value();
  // A conflicting tail is replaced, as a WAL replay keeps the last write of an index.
  durable_.entries.resize(pos);
  durable_.entries.insert(durable_.entries.end(), first, entries.end());
}

void Disk::Sync() {
  for (const Write& w : pending_) Apply(w);
  pending_.clear();
  pending_last_ = durable_.LastIndex();
  ++syncs_;
}

size_t Disk::EntriesInUnsyncedWrite(size_t position) const {
  if (position >= pending_.size()) return 0;
  const auto* entries = std::get_if<std::vector<raft::Entry>>(&pending_[position]);
  return entries == nullptr ? 0 : entries->size();
}

void Disk::Crash(size_t survivors, size_t torn_entries) {
  GRID_CHECK(survivors <= pending_.size()) << survivors << " survivors of " << pending_.size();
  for (size_t i = 0; i < survivors; ++i) Apply(pending_[i]);
  const size_t torn = std::min(torn_entries, EntriesInUnsyncedWrite(survivors));
  if (torn > 0) {
    const auto& entries = std::get<std::vector<raft::Entry>>(pending_[survivors]);
    Apply(std::vector<raft::Entry>(entries.begin(),
                                   entries.begin() + static_cast<std::ptrdiff_t>(torn)));
  }
  pending_.clear();
  pending_last_ = durable_.LastIndex();
}

void Disk::SaveLocalSnapshot(const raft::Snapshot& snap, Index compact_to) {
  GRID_CHECK(snap.meta.index <= durable_.LastIndex())
      << "local snapshot at " << snap.meta.index.value() << " beyond durable last "
      << durable_.LastIndex().value();
  GRID_CHECK(compact_to <= snap.meta.index) << "compaction beyond the snapshot";
  if (snap.meta.index > durable_.snapshot.meta.index) durable_.snapshot = snap;
  if (compact_to > durable_.base_index) {
    const uint64_t drop = compact_to - durable_.base_index;
    durable_.entries.erase(durable_.entries.begin(),
                           durable_.entries.begin() + static_cast<std::ptrdiff_t>(drop));
    durable_.base_index = compact_to;
  }
  durable_.applied = std::max(durable_.applied, snap.meta.index);
}

void Disk::SaveAppliedIndex(Index applied) {
  durable_.applied = std::max(durable_.applied, std::min(applied, durable_.hard_state.commit));
}

Index Disk::RestartAppliedIndex() const {
  const Index snap = durable_.snapshot.meta.index;
  const Index commit = std::min(durable_.hard_state.commit, durable_.LastIndex());
  return std::max(snap, std::min(durable_.applied, commit));
}

Status Disk::Restore(raft::MemoryStorage* storage) const {
  GRID_RETURN_IF_ERROR(storage->ApplySnapshot(durable_.snapshot));
  if (!durable_.entries.empty()) storage->Append(durable_.entries);
  storage->SetHardState(durable_.hard_state);
  return Status::Ok();
}

}  // namespace grid::sim
