// The in-memory index: for every key, its generations of revisions (a generation runs from a
// creation to a deletion), as etcd's keyIndex/treeIndex. Values are not here; they live in the
// key family under their revision.
//
// Memory: keys sit in a B-tree (absl::btree_map: no allocation per key) as 16-byte KeyBytes
// (inline up to 15 bytes), and a key's generations and revisions are inline vectors that hold
// the common case (one generation, one revision) without one. A key with one revision takes
// a 72-byte slot; key_index_bench (150,000 such keys) measures the heap bytes per key put in
// key order and in random order (storage/mvcc/README.md has the figures).
//
// Thread-safety: none. The store guards a TreeIndex with its shared_mutex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/inlined_vector.h"
#include "storage/mvcc/key_bytes.h"
#include "storage/mvcc/store.h"

namespace grid::mvcc {

struct Generation {
  int64_t ver = 0;          // puts in this generation so far
  Revision created;         // first revision of the generation
  // Ascending; the last one is the tombstone if the generation ended.
  absl::InlinedVector<Revision, 1> revs;
  bool empty() const { return revs.empty(); }
};

class KeyIndex {
 public:
  struct Found {
    Revision modified;
    Revision created;
    int64_t version = 0;
  };

  // REQUIRES: rev greater than every revision already in the index.
  void Put(Revision rev);
  // Starts the index from a revision whose earlier history was compacted away.
  // REQUIRES: empty().
  void Restore(Revision created, Revision modified, int64_t version);
  // Ends the current generation. Returns false (and changes nothing) if the key is not live.
  bool Tombstone(Revision rev);
  // The key's revision at `at_rev`, or nullopt when it did not exist then.
  std::optional<Found> Get(int64_t at_rev) const;
  // Drops revisions superseded at `at_rev`; appends the revision kept at or below at_rev
  // (if any) to `kept`.
  void Compact(int64_t at_rev, std::vector<Revision>* kept);
  // Appends what Compact would keep at or below at_rev, without changing anything.
  void Keep(int64_t at_rev, std::vector<Revision>* kept) const;
  bool empty() const { return generations_.empty() || (generations_.size() == 1 && generations_[0].empty()); }
  bool live() const { return !generations_.empty() && !generations_.back().empty(); }
  using Generations = absl::InlinedVector<Generation, 1>;
  const Generations& generations() const { return generations_; }

 private:
  // Index of the generation to compact at at_rev and the index of the newest revision
  // <= at_rev inside it (-1 if none).
  std::pair<size_t, int64_t> FindCompactPoint(int64_t at_rev) const;
  const Generation* FindGeneration(int64_t at_rev) const;
  // The newest revision in the index (the tombstone if the key is deleted); {} when empty.
  Revision Newest() const;

  Generations generations_;
};

// Keys in byte order. Range bounds follow store.h: end empty = the single key; end == "\0" =
// every key >= key; otherwise [key, end).
class TreeIndex {
 public:
  std::optional<KeyIndex::Found> Get(std::string_view key, int64_t at_rev) const;

  // Calls fn(std::string_view key, const KeyIndex::Found&) for every key in the range that
  // exists at at_rev, in key order. The string_view stays valid until the next mutation.
  template <typename Fn>
  void Range(std::string_view key, std::string_view end, int64_t at_rev, Fn&& fn) const {
    if (end.empty()) {
      auto it = keys_.find(key);
      if (it == keys_.end()) return;
      if (auto f = it->second.Get(at_rev)) fn(it->first.view(), *f);
      return;
    }
    const bool unbounded = end.size() == 1 && end[0] == '\0';
    for (auto it = keys_.lower_bound(key); it != keys_.end(); ++it) {
      if (!unbounded && it->first.view() >= end) break;
      if (auto f = it->second.Get(at_rev)) fn(it->first.view(), *f);
    }
  }

  void Put(std::string_view key, Revision rev);
  bool Tombstone(std::string_view key, Revision rev);
  // Rebuilding from the key family, in revision order: a put of an unknown key restores it
  // from its stored create revision and version; a tombstone of an unknown key is ignored
  // (its generation was compacted away).
  void RestorePut(std::string_view key, Revision rev, int64_t create_revision, int64_t version);
  void RestoreTombstone(std::string_view key, Revision rev);

  // Compacts every key at at_rev and returns the kept revisions <= at_rev, sorted.
  std::vector<Revision> Compact(int64_t at_rev);
  // The revisions <= at_rev a compaction at at_rev would keep, sorted.
  std::vector<Revision> Keep(int64_t at_rev) const;

  size_t key_count() const { return keys_.size(); }

 private:
  // Byte order as one three-way comparison per B-tree step; accepts std::string_view (and
  // KeyBytes through its conversion).
  struct KeyOrder {
    using is_transparent = void;
    absl::weak_ordering operator()(std::string_view a, std::string_view b) const {
      const int c = a.compare(b);
      return c < 0 ? absl::weak_ordering::less
                   : c == 0 ? absl::weak_ordering::equivalent : absl::weak_ordering::greater;
    }
  };
  // Iterators and references move on insert and erase (B-tree slots).
  absl::btree_map<KeyBytes, KeyIndex, KeyOrder> keys_;
};

}  // namespace grid::mvcc
