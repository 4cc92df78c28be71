#include <algorithm>
#include <climits>
#include <mutex>

#include "storage/mvcc/batch_impl.h"
#include "storage/mvcc/revision.h"

namespace grid::mvcc {
namespace {

// Calls fn(key, value) for the entries of an ordered map in the store.h range [key, end).
template <typename Map, typename Fn>
void ForEachInRange(const Map& map, std::string_view key, std::string_view end, Fn&& fn) {
  if (end.empty()) {
    auto it = map.find(key);
    if (it != map.end()) fn(std::string_view(it->first), it->second);
    return;
  }
  const bool unbounded = end.size() == 1 && end[0] == '\0';
  for (auto it = map.lower_bound(key); it != map.end(); ++it) {
    if (!unbounded && std::string_view(it->first) >= end) break;
    fn(std::string_view(it->first), it->second);
  }
}

// One key of a merged range read: either a committed revision or a pending value.
struct RangeItem {
  std::string_view key;
  Revision rev;
  const mvccpb::KeyValue* pending = nullptr;  // null: committed, read `rev` from RocksDB
  bool deleted = false;                        // pending deletion hides the committed key
};

}  // namespace

// ---- TxnImpl ----

int64_t TxnImpl::WriteRevision() const { return batch_->rev_ + 1; }

void TxnImpl::Reset() {
  sub_ = 0;
  start_state_.clear();
}

Result<RangeResult> TxnImpl::Range(std::string_view key, std::string_view end,
                                   const RangeOptions& options) const {
  RocksStore* store = batch_->store_;
  const int64_t view = batch_->rev_ + (changed() ? 1 : 0);
  int64_t rev = options.revision;
  if (rev > view) return OutOfRange(kErrFutureRev);
  if (rev <= 0) rev = view;
  if (rev < store->compacted_rev_.load()) return OutOfRange(kErrCompacted);
  const int64_t committed_at = std::min(rev, batch_->base_rev_);

  // Committed keys. The string_views point into the index, which only this (the writer)
  // thread mutates, so they stay valid after the lock is released.
  std::vector<RangeItem> committed;
  {
    std::shared_lock lock(store->mu_);
    store->index_.Range(key, end, committed_at,
                        [&](std::string_view k, const KeyIndex::Found& f) {
                          committed.push_back(RangeItem{k, f.modified});
                        });
  }
  std::vector<RangeItem> pending;
  ForEachInRange(batch_->pending_, key, end, [&](std::string_view k, const auto&) {
    const BatchImpl::PendingWrite* w = batch_->PendingAt(k, rev);
    if (w == nullptr) return;
    const mvccpb::Event& ev = batch_->events_[w->event];
    RangeItem item{k, w->rev};
    if (ev.type() == mvccpb::Event::DELETE) {
      item.deleted = true;
    } else {
      item.pending = &ev.kv();
    }
    pending.push_back(item);
  });

  std::vector<RangeItem> items;
  if (pending.empty()) {
    items = std::move(committed);
  } else {
    items.reserve(committed.size() + pending.size());
    size_t i = 0;
    size_t j = 0;
    while (i < committed.size() || j < pending.size()) {
      if (j == pending.size() || (i < committed.size() && committed[i].key < pending[j].key)) {
        items.push_back(committed[i++]);
        continue;
      }
      if (i < committed.size() && committed[i].key == pending[j].key) i++;
      if (!pending[j].deleted) items.push_back(pending[j]);
      j++;
    }
  }

  RangeResult result;
  result.revision = view;
  result.count = static_cast<int64_t>(items.size());
  if (options.count_only || items.empty()) return result;
  if (options.limit > 0 && items.size() > static_cast<size_t>(options.limit)) {
    items.resize(static_cast<size_t>(options.limit));
  }
  std::vector<Revision> revs;
  for (const RangeItem& item : items) {
    if (item.pending == nullptr) revs.push_back(item.rev);
  }
  GRID_ASSIGN_OR_RETURN(auto values, store->ReadValues(nullptr, revs, options.keys_only));
  result.kvs.reserve(items.size());
  size_t next_value = 0;
  for (const RangeItem& item : items) {
    if (item.pending == nullptr) {
      result.kvs.push_back(std::move(values[next_value++]));
    } else {
      result.kvs.push_back(*item.pending);
      if (options.keys_only) result.kvs.back().clear_value();
    }
  }
  return result;
}

std::optional<mvccpb::KeyValue> TxnImpl::Latest(std::string_view key) const {
  if (const BatchImpl::PendingWrite* w = batch_->PendingAt(key, INT64_MAX)) {
    const mvccpb::Event& ev = batch_->events_[w->event];
    if (ev.type() == mvccpb::Event::DELETE) return std::nullopt;
    return ev.kv();
  }
  RocksStore* store = batch_->store_;
  std::optional<KeyIndex::Found> found;
  {
    std::shared_lock lock(store->mu_);
    found = store->index_.Get(key, batch_->base_rev_);
  }
  if (!found) return std::nullopt;
  auto values = store->ReadValues(nullptr, {found->modified}, false);
  // The write path has no way to report a failed read of its own backend.
  GRID_CHECK(values.ok()) << "mvcc: reading the previous value failed: "
                          << values.status().ToString();
  return std::move(values.value()[0]);
}

const std::optional<mvccpb::KeyValue>& TxnImpl::StartState(
    std::string_view key, const std::optional<mvccpb::KeyValue>& now) {
  auto it = start_state_.find(key);
  if (it == start_state_.end()) it = start_state_.emplace(std::string(key), now).first;
  return it->second;
}

std::optional<mvccpb::KeyValue> TxnImpl::Put(std::string_view key, std::string_view value,
                                             int64_t lease) {
  std::optional<mvccpb::KeyValue> prev = Latest(key);
  const std::optional<mvccpb::KeyValue>& before = StartState(key, prev);
  const Revision rev = NextRevision();

  mvccpb::Event ev;
  ev.set_type(mvccpb::Event::PUT);
  mvccpb::KeyValue* kv = ev.mutable_kv();
  kv->set_key(std::string(key));
  kv->set_value(std::string(value));
  kv->set_create_revision(prev ? prev->create_revision() : rev.main);
  kv->set_mod_revision(rev.main);
  kv->set_version(prev ? prev->version() + 1 : 1);
  kv->set_lease(lease);
  batch_->wb_.Put(batch_->store_->key_cf_, RevisionKey(rev), kv->SerializeAsString());
  if (before) *ev.mutable_prev_kv() = *before;
  batch_->AddEvent(std::move(ev), rev);
  return prev;
}

std::vector<mvccpb::KeyValue> TxnImpl::DeleteRange(std::string_view key, std::string_view end) {
  auto live = Range(key, end, RangeOptions{});
  GRID_CHECK(live.ok()) << "mvcc: range at the txn's own revision failed: "
                        << live.status().ToString();
  std::vector<mvccpb::KeyValue> deleted = std::move(live.value().kvs);
  for (const mvccpb::KeyValue& old : deleted) {
    const std::optional<mvccpb::KeyValue>& before = StartState(old.key(), old);
    const Revision rev = NextRevision();
    mvccpb::KeyValue stored;
    stored.set_key(old.key());
    batch_->wb_.Put(batch_->store_->key_cf_, RevisionKey(rev, /*tombstone=*/true),
                    stored.SerializeAsString());
    mvccpb::Event ev;
    ev.set_type(mvccpb::Event::DELETE);
    ev.mutable_kv()->set_key(old.key());
    ev.mutable_kv()->set_mod_revision(rev.main);
    if (before) *ev.mutable_prev_kv() = *before;
    batch_->AddEvent(std::move(ev), rev);
  }
  return deleted;
}

// ---- BatchImpl ----

BatchImpl::BatchImpl(RocksStore* store)
    : store_(store),
      base_rev_(store->current_rev_.load()),
      rev_(base_rev_),
      txn_(this) {}

BatchImpl::~BatchImpl() { store_->EndBatch(); }

WriteTxn& BatchImpl::BeginTxn() {
  GRID_CHECK(!txn_open_) << "BeginTxn with a txn open";
  GRID_CHECK(!committed_) << "BeginTxn after Commit";
  txn_open_ = true;
  txn_.Reset();
  return txn_;
}

void BatchImpl::EndTxn() {
  GRID_CHECK(txn_open_) << "EndTxn without BeginTxn";
  if (txn_.changed()) rev_++;
  txn_.Reset();
  txn_open_ = false;
}

void BatchImpl::PutMeta(std::string_view table, std::string_view key, std::string_view value) {
  std::string k = SideKeyPrefix(table);
  k.append(key);
  wb_.Put(store_->side_cf_, k, rocksdb::Slice(value.data(), value.size()));
}

void BatchImpl::DeleteMeta(std::string_view table, std::string_view key) {
  std::string k = SideKeyPrefix(table);
  k.append(key);
  wb_.Delete(store_->side_cf_, k);
}

void BatchImpl::SetConsistentIndex(uint64_t index) { consistent_index_ = index; }

void BatchImpl::AddEvent(mvccpb::Event event, Revision rev) {
  const size_t index = events_.size();
  auto it = pending_.find(event.kv().key());
  if (it == pending_.end()) {
    it = pending_.emplace(event.kv().key(), std::vector<PendingWrite>()).first;
  }
  it->second.push_back(PendingWrite{rev, index});
  events_.push_back(std::move(event));
  event_revs_.push_back(rev);
}

const BatchImpl::PendingWrite* BatchImpl::PendingAt(std::string_view key, int64_t at_rev) const {
  auto it = pending_.find(key);
  if (it == pending_.end()) return nullptr;
  const std::vector<PendingWrite>& writes = it->second;
  for (size_t i = writes.size(); i-- > 0;) {
    if (writes[i].rev.main <= at_rev) return &writes[i];
  }
  return nullptr;
}

Result<std::vector<mvccpb::Event>> BatchImpl::Commit() {
  GRID_CHECK(!txn_open_) << "Commit with a txn open";
  GRID_CHECK(!committed_) << "Commit twice";
  committed_ = true;
  if (consistent_index_) {
    std::string value;
    AppendBigEndian64(*consistent_index_, &value);
    wb_.Put(store_->meta_cf_, kMetaConsistentIndex, value);
  }
  if (wb_.Count() > 0) GRID_RETURN_IF_ERROR(store_->WriteToBackend(&wb_, "mvcc: commit"));
  store_->Publish(events_, event_revs_, rev_, consistent_index_);
  return std::move(events_);
}

}  // namespace grid::mvcc
