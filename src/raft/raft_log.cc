#include "raft/raft_log.h"

#include <algorithm>

namespace grid::raft {

uint64_t EntryBytes(const Entry& e) { return e.data.size(); }

uint64_t EntriesBytes(const std::vector<Entry>& es) {
  uint64_t n = 0;
  for (const Entry& e : es) n += EntryBytes(e);
  return n;
}

RaftLog::RaftLog(LogStorage* storage) : storage_(storage) {
  const Index first = storage_->FirstIndex();
  committed_ = first - 1;
  applied_ = first - 1;
  unstable_offset_ = storage_->LastIndex() + 1;
}

Index RaftLog::FirstIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->meta.index + 1;
  return storage_->FirstIndex();
}

Index RaftLog::LastIndex() const {
  if (!unstable_entries_.empty()) return unstable_offset_ + (unstable_entries_.size() - 1);
  if (unstable_snapshot_) return unstable_snapshot_->meta.index;
  return storage_->LastIndex();
}

Index RaftLog::StableLastIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->meta.index - 1;
  if (!unstable_entries_.empty()) return unstable_offset_ - 1;
  return storage_->LastIndex();
}

std::optional<Term> RaftLog::UnstableTerm(Index i) const {
  if (unstable_snapshot_ && unstable_snapshot_->meta.index == i) return unstable_snapshot_->meta.term;
  if (unstable_entries_.empty() || i < unstable_offset_) return std::nullopt;
  const uint64_t k = i - unstable_offset_;
  if (k >= unstable_entries_.size()) return std::nullopt;
  return unstable_entries_[k].term;
}

Result<Term> RaftLog::TermAt(Index i) const {
  const Index dummy = FirstIndex() - 1;
  if (i < dummy) return OutOfRange("term of a compacted entry");
  if (i > LastIndex()) return OutOfRange("term of an entry beyond the last");
  if (auto t = UnstableTerm(i)) return *t;
  return storage_->TermAt(i);
}

Term RaftLog::TermOrZero(Index i) const {
  auto t = TermAt(i);
  return t.ok() ? t.value() : Term(0);
}

Term RaftLog::LastTerm() const {
  auto t = TermAt(LastIndex());
  GRID_CHECK(t.ok()) << "term of the last entry unknown: " << t.status().ToString();
  return t.value();
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  auto got = TermAt(i);
  return got.ok() && got.value() == t;
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  const Term my_term = LastTerm();
  return last_term > my_term || (last_term == my_term && last_index >= LastIndex());
}

std::optional<Index> RaftLog::MaybeAppend(Index prev_index, Term prev_term, Index commit,
                                          const std::vector<Entry>& entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const Index last_new = prev_index + entries.size();
  const Index conflict = FindConflict(entries);
  if (conflict != Index(0)) {
    GRID_CHECK(conflict > committed_) << "entry " << conflict.value()
                                      << " conflicts with committed " << committed_.value();
    const uint64_t skip = conflict - (prev_index + 1);
    Append(std::vector<Entry>(entries.begin() + static_cast<std::ptrdiff_t>(skip), entries.end()));
  }
  CommitTo(std::min(commit, last_new));
  return last_new;
}

Index RaftLog::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return LastIndex();
  const Index after = entries.front().index;
  GRID_CHECK(after > committed_) << "append at " << after.value() << " below commit "
                                 << committed_.value();
  GRID_CHECK(after <= LastIndex() + 1) << "append at " << after.value() << " leaves a gap";
  if (!unstable_entries_.empty() && after == unstable_offset_ + unstable_entries_.size()) {
    // plain append
  } else if (unstable_entries_.empty() || after <= unstable_offset_) {
    // Replaces the whole unstable tail (and, once persisted, the storage suffix from `after`).
    unstable_entries_.clear();
    unstable_offset_ = after;
  } else {
    unstable_entries_.resize(after - unstable_offset_);
  }
  unstable_entries_.insert(unstable_entries_.end(), entries.begin(), entries.end());
  return LastIndex();
}

Index RaftLog::FindConflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!MatchTerm(e.index, e.term)) return e.index;
  }
  return Index(0);
}

Index RaftLog::FindConflictByTerm(Index index, Term term) const {
  if (index > LastIndex()) return index;
  while (index > Index(0)) {
    auto t = TermAt(index);
    if (!t.ok() || t.value() <= term) break;
    index = index - 1;
  }
  return index;
}

bool RaftLog::MaybeCommit(Index max_index, Term term) {
  if (max_index > committed_ && TermOrZero(max_index) == term) {
    CommitTo(max_index);
    return true;
  }
  return false;
}

void RaftLog::CommitTo(Index i) {
  if (i <= committed_) return;
  GRID_CHECK(i <= LastIndex()) << "commit " << i.value() << " beyond last " << LastIndex().value();
  committed_ = i;
}

void RaftLog::AppliedTo(Index i) {
  if (i == Index(0)) return;
  GRID_CHECK(i <= committed_ && i >= applied_)
      << "applied " << i.value() << " outside [" << applied_.value() << ", "
      << committed_.value() << "]";
  applied_ = i;
}

Result<std::vector<Entry>> RaftLog::Slice(Index lo, Index hi, uint64_t max_bytes) const {
  if (lo < FirstIndex()) return OutOfRange("slice from a compacted index");
  if (hi > LastIndex() + 1) return OutOfRange("slice beyond the last index");
  std::vector<Entry> out;
  if (lo >= hi) return out;
  uint64_t bytes = 0;
  if (lo < unstable_offset_) {
    const Index stored_hi = std::min(hi, unstable_offset_);
    auto stored = storage_->Entries(lo, stored_hi, max_bytes);
    if (!stored.ok()) return stored.status();
    out = std::move(stored).value();
    if (out.size() < stored_hi - lo) return out;  // the byte limit cut it
    bytes = EntriesBytes(out);
  }
  for (Index i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const Entry& e = unstable_entries_[i - unstable_offset_];
    if (!out.empty() && bytes + EntryBytes(e) > max_bytes) break;
    bytes += EntryBytes(e);
    out.push_back(e);
  }
  return out;
}

Result<std::vector<Entry>> RaftLog::EntriesFrom(Index lo, uint64_t max_bytes) const {
  if (lo > LastIndex()) return std::vector<Entry>{};
  return Slice(lo, LastIndex() + 1, max_bytes);
}

void RaftLog::StableTo(Index i, Term t) {
  auto got = UnstableTerm(i);
  if (!got || *got != t || i < unstable_offset_) return;
  const uint64_t n = i - unstable_offset_ + 1;
  unstable_entries_.erase(unstable_entries_.begin(),
                          unstable_entries_.begin() + static_cast<std::ptrdiff_t>(n));
  unstable_offset_ = i + 1;
}

void RaftLog::StableSnapshotTo(Index i) {
  if (unstable_snapshot_ && unstable_snapshot_->meta.index == i) unstable_snapshot_.reset();
}

bool RaftLog::HasNextCommittedEntries() const {
  if (unstable_snapshot_) return false;
  const Index lo = std::max(applied_ + 1, FirstIndex());
  const Index hi = std::min(committed_, StableLastIndex());
  return lo <= hi;
}

std::vector<Entry> RaftLog::NextCommittedEntries(uint64_t max_bytes) const {
  if (!HasNextCommittedEntries()) return {};
  const Index lo = std::max(applied_ + 1, FirstIndex());
  const Index hi = std::min(committed_, StableLastIndex());
  auto es = Slice(lo, hi + 1, max_bytes);
  GRID_CHECK(es.ok()) << "committed entries unavailable: " << es.status().ToString();
  return std::move(es).value();
}

void RaftLog::Restore(const Snapshot& snap) {
  committed_ = snap.meta.index;
  unstable_snapshot_ = snap;
  unstable_entries_.clear();
  unstable_offset_ = snap.meta.index + 1;
}

Result<Snapshot> RaftLog::SnapshotToSend() const {
  if (unstable_snapshot_) return *unstable_snapshot_;
  return storage_->GetSnapshot();
}

}  // namespace grid::raft
