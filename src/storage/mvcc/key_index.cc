#include "storage/mvcc/key_index.h"

#include <algorithm>

namespace grid::mvcc {

// The slot size key_index.h states.
static_assert(sizeof(std::pair<const KeyBytes, KeyIndex>) <= 72);

Revision KeyIndex::Newest() const {
  for (size_t i = generations_.size(); i-- > 0;) {
    if (!generations_[i].empty()) return generations_[i].revs.back();
  }
  return Revision{};
}

void KeyIndex::Put(Revision rev) {
  const Revision newest = Newest();
  GRID_CHECK(rev > newest) << "put at revision " << rev.main << "/" << rev.sub << " not after "
                           << newest.main << "/" << newest.sub;
  if (generations_.empty()) generations_.emplace_back();
  Generation& g = generations_.back();
  if (g.revs.empty()) g.created = rev;
  g.revs.push_back(rev);
  g.ver++;
}

void KeyIndex::Restore(Revision created, Revision modified, int64_t version) {
  GRID_CHECK(generations_.empty()) << "restore of a non-empty key index";
  Generation g;
  g.created = created;
  g.ver = version;
  g.revs.push_back(modified);
  generations_.push_back(std::move(g));
}

bool KeyIndex::Tombstone(Revision rev) {
  if (!live()) return false;
  Put(rev);
  generations_.emplace_back();
  return true;
}

const Generation* KeyIndex::FindGeneration(int64_t at_rev) const {
  const size_t last = generations_.size() - 1;
  for (size_t i = generations_.size(); i-- > 0;) {
    const Generation& g = generations_[i];
    if (g.empty()) continue;
    if (i != last && g.revs.back().main <= at_rev) return nullptr;  // deleted by then
    if (g.revs.front().main <= at_rev) return &g;
  }
  return nullptr;
}

std::optional<KeyIndex::Found> KeyIndex::Get(int64_t at_rev) const {
  if (generations_.empty()) return std::nullopt;
  const Generation* g = FindGeneration(at_rev);
  if (g == nullptr) return std::nullopt;
  for (size_t i = g->revs.size(); i-- > 0;) {
    if (g->revs[i].main <= at_rev) {
      const int64_t newer = static_cast<int64_t>(g->revs.size() - 1 - i);
      return Found{g->revs[i], g->created, g->ver - newer};
    }
  }
  return std::nullopt;
}

std::pair<size_t, int64_t> KeyIndex::FindCompactPoint(int64_t at_rev) const {
  size_t gi = 0;
  while (gi + 1 < generations_.size()) {
    const Generation& g = generations_[gi];
    if (!g.empty() && g.revs.back().main > at_rev) break;
    gi++;
  }
  const Generation& g = generations_[gi];
  for (size_t i = g.revs.size(); i-- > 0;) {
    if (g.revs[i].main <= at_rev) return {gi, static_cast<int64_t>(i)};
  }
  return {gi, -1};
}

void KeyIndex::Compact(int64_t at_rev, std::vector<Revision>* kept) {
  if (empty()) return;
  auto [gi, ri] = FindCompactPoint(at_rev);
  Generation& g = generations_[gi];
  if (!g.empty()) {
    if (ri >= 0) {
      kept->push_back(g.revs[ri]);
      g.revs.erase(g.revs.begin(), g.revs.begin() + ri);
      // A generation reduced to its tombstone is gone.
      if (g.revs.size() == 1 && gi + 1 != generations_.size()) {
        kept->pop_back();
        gi++;
      }
    }
  }
  generations_.erase(generations_.begin(), generations_.begin() + static_cast<long>(gi));
}

void KeyIndex::Keep(int64_t at_rev, std::vector<Revision>* kept) const {
  if (empty()) return;
  auto [gi, ri] = FindCompactPoint(at_rev);
  const Generation& g = generations_[gi];
  if (g.empty() || ri < 0) return;
  const bool is_tombstone = static_cast<size_t>(ri) == g.revs.size() - 1 && gi + 1 != generations_.size();
  if (!is_tombstone) kept->push_back(g.revs[ri]);
}

std::optional<KeyIndex::Found> TreeIndex::Get(std::string_view key, int64_t at_rev) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::nullopt;
  return it->second.Get(at_rev);
}

void TreeIndex::Put(std::string_view key, Revision rev) {
  auto it = keys_.lower_bound(key);
  if (it == keys_.end() || it->first.view() != key) it = keys_.emplace_hint(it, key, KeyIndex());
  it->second.Put(rev);
}

bool TreeIndex::Tombstone(std::string_view key, Revision rev) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return false;
  return it->second.Tombstone(rev);
}

void TreeIndex::RestorePut(std::string_view key, Revision rev, int64_t create_revision,
                           int64_t version) {
  auto it = keys_.lower_bound(key);
  if (it == keys_.end() || it->first.view() != key) {
    it = keys_.emplace_hint(it, key, KeyIndex());
    it->second.Restore(Revision{create_revision, 0}, rev, version);
    return;
  }
  it->second.Put(rev);
}

void TreeIndex::RestoreTombstone(std::string_view key, Revision rev) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  (void)it->second.Tombstone(rev);
}

std::vector<Revision> TreeIndex::Compact(int64_t at_rev) {
  std::vector<Revision> kept;
  for (auto it = keys_.begin(); it != keys_.end();) {
    it->second.Compact(at_rev, &kept);
    if (it->second.empty()) {
      it = keys_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

std::vector<Revision> TreeIndex::Keep(int64_t at_rev) const {
  std::vector<Revision> kept;
  for (const auto& [key, ki] : keys_) ki.Keep(at_rev, &kept);
  std::sort(kept.begin(), kept.end());
  return kept;
}

}  // namespace grid::mvcc
