#include "raft/storage.h"

#include <string>

namespace grid::raft {
namespace {

std::string Str(Index i) { return std::to_string(i.value()); }

}  // namespace

MemoryStorage::MemoryStorage() : entries_(1) {}

InitialState MemoryStorage::GetInitialState() const {
  return InitialState{hard_state_, snapshot_.meta.conf_state};
}

Result<std::vector<Entry>> MemoryStorage::Entries(Index lo, Index hi, uint64_t max_bytes) const {
  const Index offset = entries_.front().index;
  const Index last = offset + (entries_.size() - 1);
  if (lo <= offset) return OutOfRange("entries from " + Str(lo) + " are compacted");
  if (hi > last + 1) return OutOfRange("entries up to " + Str(hi) + " beyond last " + Str(last));
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

Result<Term> MemoryStorage::TermAt(Index i) const {
  const Index offset = entries_.front().index;
  if (i < offset) return OutOfRange("term of " + Str(i) + ": compacted");
  if (i - offset >= entries_.size()) return OutOfRange("term of " + Str(i) + ": beyond last");
  return entries_[i - offset].term;
}

Index MemoryStorage::FirstIndex() const {
  return entries_.front().index + 1;
}

Index MemoryStorage::LastIndex() const {
  return entries_.front().index + (entries_.size() - 1);
}

Result<Snapshot> MemoryStorage::GetSnapshot() const {
  return snapshot_;
}

void MemoryStorage::SetHardState(const HardState& hs) {
  hard_state_ = hs;
}

void MemoryStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  const Index offset = entries_.front().index;
  const Index first = offset + 1;
  const Index incoming_last = entries.back().index;
  if (incoming_last < first) return;  // all compacted
  size_t skip = 0;
  if (first > entries.front().index) skip = first - entries.front().index;
  const Index start = entries[skip].index;
  const uint64_t pos = start - offset;
  GRID_CHECK(pos <= entries_.size()) << "append leaves a gap: entry " << start.value()
                                     << " after last " << (offset + (entries_.size() - 1)).value();
  entries_.resize(pos);
  entries_.insert(entries_.end(), entries.begin() + static_cast<std::ptrdiff_t>(skip),
                  entries.end());
}

Status MemoryStorage::ApplySnapshot(const Snapshot& snap) {
  if (snap.meta.index < snapshot_.meta.index) {
    return OutOfRange("snapshot at " + Str(snap.meta.index) + " older than current " +
                      Str(snapshot_.meta.index));
  }
  snapshot_ = snap;
  entries_.assign(1, Entry{snap.meta.term, snap.meta.index, EntryType::kNormal, {}});
  return Status::Ok();
}

Status MemoryStorage::CreateSnapshot(Index index, const ConfState& cs, std::string data) {
  const Index offset = entries_.front().index;
  const Index last = offset + (entries_.size() - 1);
  if (index < snapshot_.meta.index) {
    return OutOfRange("snapshot at " + Str(index) + " older than current " +
                      Str(snapshot_.meta.index));
  }
  if (index < offset) return OutOfRange("snapshot at " + Str(index) + ": compacted");
  if (index > last) return OutOfRange("snapshot at " + Str(index) + " beyond last " + Str(last));
  snapshot_.meta.index = index;
  snapshot_.meta.term = entries_[index - offset].term;
  snapshot_.meta.conf_state = cs;
  snapshot_.data = std::move(data);
  return Status::Ok();
}

Status MemoryStorage::Compact(Index compact_index) {
  const Index offset = entries_.front().index;
  const Index last = offset + (entries_.size() - 1);
  if (compact_index <= offset) return OutOfRange("already compacted to " + Str(offset));
  if (compact_index > last) {
    return OutOfRange("compact " + Str(compact_index) + " beyond last " + Str(last));
  }
  const uint64_t pos = compact_index - offset;
  std::vector<Entry> kept;
  kept.reserve(entries_.size() - pos);
  kept.push_back(Entry{entries_[pos].term, entries_[pos].index, EntryType::kNormal, {}});
  for (uint64_t i = pos + 1; i < entries_.size(); ++i) kept.push_back(std::move(entries_[i]));
  entries_ = std::move(kept);
  return Status::Ok();
}

}  // namespace grid::raft
