#include "kv/replication/durable_log.h"

#include <spdlog/spdlog.h>

namespace grid::kv::replication {

raft::Entry ToRaftEntry(wal::Entry e) {
  return raft::Entry{raft::Term(e.term), raft::Index(e.index),
                     e.type == wal::kEntryConfChange ? raft::EntryType::kConfChange
                                                     : raft::EntryType::kNormal,
                     std::move(e.data)};
}

wal::Entry ToWalEntry(const raft::Entry& e) {
  return wal::Entry{e.term.value(), e.index.value(),
                    e.type == raft::EntryType::kConfChange ? wal::kEntryConfChange
                                                           : wal::kEntryNormal,
                    e.data};
}

Result<wal::ReplayResult> BootstrapLog(wal::Wal* wal, uint64_t base_index,
                                       const std::vector<uint64_t>& member_ids,
                                       const std::vector<std::string>& contexts) {
  GRID_CHECK_EQ(member_ids.size(), contexts.size());
  wal::ReplayResult replay;
  replay.snapshot = wal::SnapshotMarker{base_index, base_index == 0 ? 0u : 1u};
  for (size_t i = 0; i < member_ids.size(); ++i) {
    raft::ConfChange cc{raft::ConfChangeType::kAddVoter, raft::MemberId(member_ids[i]),
                        contexts[i]};
    replay.entries.push_back(
        wal::Entry{1, base_index + i + 1, wal::kEntryConfChange, raft::EncodeConfChange(cc)});
  }
  replay.hard_state = wal::HardState{1, 0, base_index + member_ids.size()};
  GRID_RETURN_IF_ERROR(wal->Append(replay.entries, &replay.hard_state));
  GRID_RETURN_IF_ERROR(wal->Sync());
  return replay;
}

DurableLog::DurableLog(std::unique_ptr<wal::Wal> wal, wal::ReplayResult replayed,
                       raft::ConfState conf_state)
    : wal_(std::move(wal)), released_(replayed.snapshot.index) {
  raft::Snapshot base;
  base.meta.index = raft::Index(replayed.snapshot.index);
  base.meta.term = raft::Term(replayed.snapshot.term);
  base.meta.conf_state = std::move(conf_state);
  GRID_CHECK(storage_.ApplySnapshot(base).ok());
  std::vector<raft::Entry> entries;
  entries.reserve(replayed.entries.size());
  for (auto& e : replayed.entries) entries.push_back(ToRaftEntry(std::move(e)));
  if (!entries.empty()) storage_.Append(entries);
  storage_.SetHardState(raft::HardState{raft::Term(replayed.hard_state.term),
                                        raft::MemberId(replayed.hard_state.vote),
                                        raft::Index(replayed.hard_state.commit)});
}

Status DurableLog::Persist(const raft::Ready& ready) {
  if (ready.snapshot) {
    const raft::SnapshotMeta& meta = ready.snapshot->meta;
    GRID_RETURN_IF_ERROR(
        wal_->SaveSnapshotMarker(wal::SnapshotMarker{meta.index.value(), meta.term.value()}));
  }
  std::vector<wal::Entry> entries;
  entries.reserve(ready.entries.size());
  for (const raft::Entry& e : ready.entries) entries.push_back(ToWalEntry(e));
  wal::HardState hs;
  if (ready.hard_state) {
    hs = wal::HardState{ready.hard_state->term.value(), ready.hard_state->vote.value(),
                        ready.hard_state->commit.value()};
  }
  if (!entries.empty() || ready.hard_state) {
    GRID_RETURN_IF_ERROR(wal_->Append(entries, ready.hard_state ? &hs : nullptr));
  }
  if (ready.must_sync || ready.snapshot) GRID_RETURN_IF_ERROR(wal_->Sync());
  if (ready.snapshot) {
    GRID_RETURN_IF_ERROR(storage_.ApplySnapshot(*ready.snapshot));
    released_ = ready.snapshot->meta.index;
  }
  if (!ready.entries.empty()) storage_.Append(ready.entries);
  if (ready.hard_state) storage_.SetHardState(*ready.hard_state);
  return Status::Ok();
}

void DurableLog::Release(raft::Index index, const raft::ConfState& conf_state,
                         uint64_t keep_entries) {
  if (index <= released_) return;
  Result<raft::Term> term = storage_.TermAt(index);
  if (!term.ok()) {
    spdlog::warn("raft log: cannot release up to {}: {}", index.value(),
                 term.status().ToString());
    return;
  }
  Status s = wal_->SaveSnapshotMarker(wal::SnapshotMarker{index.value(), term->value()});
  if (s.ok()) s = wal_->ReleaseBefore(index.value() + 1);
  if (!s.ok()) {
    spdlog::warn("wal: releasing entries up to {} failed: {}", index.value(), s.ToString());
    return;
  }
  released_ = index;
  if (Status cs = storage_.CreateSnapshot(index, conf_state, std::string()); !cs.ok()) {
    spdlog::warn("raft log: snapshot at {}: {}", index.value(), cs.ToString());
    return;
  }
  if (index.value() > keep_entries) {
    const raft::Index compact_to(index.value() - keep_entries);
    if (compact_to >= storage_.FirstIndex()) (void)storage_.Compact(compact_to);
  }
  spdlog::info("wal: entries up to {} are in the backend; older segments released",
               index.value());
}

}  // namespace grid::kv::replication
