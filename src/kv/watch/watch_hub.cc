#include "kv/watch/watch_hub.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <spdlog/spdlog.h>

#include "kv/watch/event_encoding.h"

namespace grid::kv::watch {

namespace {

constexpr int64_t kNoRevisionLimit = std::numeric_limits<int64_t>::max();

// etcd's "\0" range end: every key >= key.
bool IsFromKey(const std::string& end) { return end.size() == 1 && end[0] == '\0'; }

}  // namespace

// One buffered event; `event` may be shared by many watchers (it is never mutated).
struct PendingEvent {
  std::shared_ptr<const mvccpb::Event> event;
  int64_t revision = 0;
  size_t bytes = 0;
};

struct Watcher : std::enable_shared_from_this<Watcher> {
  // Immutable after creation.
  WatchStream* stream = nullptr;
  uint64_t serial = 0;  // hub-wide, never reused
  int64_t id = 0;
  std::string key;
  std::string end;  // empty: one key; "\0": every key >= key
  bool no_put = false;
  bool no_delete = false;
  bool prev_kv = false;
  bool fragment = false;
  bool progress_notify = false;

  // Guarded by the hub's mu_.
  bool removed = false;
  bool synced = true;
  bool queued = false;  // on stream->ready_
  // Synced: the smallest revision it accepts. Unsynced: the first revision neither delivered
  // nor buffered (catch-up resumes there).
  int64_t next_revision = 0;
  std::deque<PendingEvent> buffer;
  int64_t compact_revision = 0;  // > 0: canceled by compaction, notice not yet taken
  bool progress_wanted = false;
  bool sent_since_tick = false;

  bool Matches(const std::string& k) const {
    if (end.empty()) return k == key;
    return k >= key && (IsFromKey(end) || k < end);
  }
  bool Filtered(const mvccpb::Event& ev) const {
    return (no_put && ev.type() == mvccpb::Event::PUT) ||
           (no_delete && ev.type() == mvccpb::Event::DELETE);
  }
};

struct WatchHub::CatchupWork {
  std::shared_ptr<Watcher> watcher;
  int64_t from_revision = 0;
  int64_t to_revision = 0;
  // Results of the read.
  bool failed = false;
  int64_t compact_revision = 0;
  int64_t page_last_revision = 0;  // 0: the page was empty
  std::vector<PendingEvent> events;  // after filters
};

// ---------------------------------------------------------------------------------------------
// WatchStream

WatchStream::WatchStream(WatchHub* hub, std::function<void()> on_ready)
    : hub_(hub), on_ready_(std::move(on_ready)) {}

WatchStream::~WatchStream() { Close(); }

Result<WatchCreated> WatchStream::Watch(const WatchSpec& spec) {
  auto w = std::make_shared<Watcher>();
  w->stream = this;
  w->key = spec.key.empty() ? std::string(1, '\0') : spec.key;
  w->end = spec.range_end;
  if (!w->end.empty() && !IsFromKey(w->end) && w->key >= w->end) {
    return InvalidArgument(kErrEmptyRange);
  }
  w->no_put = spec.no_put;
  w->no_delete = spec.no_delete;
  w->prev_kv = spec.prev_kv;
  w->fragment = spec.fragment;
  w->progress_notify = spec.progress_notify;

  std::lock_guard<std::mutex> lock(hub_->mu_);
  if (closed_) return FailedPrecondition("watch stream closed");
  if (watchers_.size() >= hub_->options_.max_watchers_per_stream) {
    return InvalidArgument(kErrTooManyWatchers);
  }
  if (spec.watch_id == 0) {
    while (watchers_.count(next_auto_id_) != 0) ++next_auto_id_;
    w->id = next_auto_id_++;
  } else if (watchers_.count(spec.watch_id) != 0) {
    return InvalidArgument(kErrDuplicateId);
  } else {
    w->id = spec.watch_id;
  }
  const int64_t revision = hub_->revision_;
  w->serial = hub_->next_serial_++;
  if (spec.start_revision == 0 || spec.start_revision > revision) {
    w->synced = true;
    w->next_revision = std::max(revision + 1, spec.start_revision);
  } else {
    w->synced = false;
    w->next_revision = std::max<int64_t>(spec.start_revision, 1);
    // A progress answer must wait for this watcher too.
    progress_all_revision_ = -1;
  }
  watchers_[w->id] = w;
  hub_->AddWatcherLocked(w);
  if (!w->synced) hub_->MarkUnsyncedLocked(w.get(), w->next_revision);
  return WatchCreated{w->id, revision};
}

bool WatchStream::Cancel(int64_t watch_id) {
  std::lock_guard<std::mutex> lock(hub_->mu_);
  auto it = watchers_.find(watch_id);
  if (it == watchers_.end()) return false;
  hub_->RemoveWatcherLocked(it->second.get());
  watchers_.erase(it);
  return true;
}

void WatchStream::RequestProgress() {
  std::lock_guard<std::mutex> lock(hub_->mu_);
  if (closed_ || progress_all_wanted_) return;
  progress_all_wanted_ = true;
  progress_all_revision_ = -1;
}

std::optional<WatchOutput> WatchStream::Next() {
  std::lock_guard<std::mutex> lock(hub_->mu_);
  if (closed_) return std::nullopt;
  if (progress_all_wanted_) {
    if (progress_all_revision_ < 0 && hub_->AllSyncedLocked(this)) {
      progress_all_revision_ = hub_->revision_;
    }
    if (progress_all_revision_ >= 0) {
      // Everything up to the answer's revision goes out before it.
      for (auto& [id, w] : watchers_) {
        if (!w->buffer.empty() && w->buffer.front().revision <= progress_all_revision_) {
          return hub_->PackLocked(w.get(), progress_all_revision_);
        }
      }
      WatchOutput out;
      out.kind = WatchOutput::Kind::kProgressAll;
      out.watch_id = kInvalidWatchId;
      out.revision = progress_all_revision_;
      progress_all_wanted_ = false;
      progress_all_revision_ = -1;
      return out;
    }
  }
  while (!ready_.empty()) {
    std::shared_ptr<Watcher> w = std::move(ready_.front());
    ready_.pop_front();
    w->queued = false;
    if (w->removed) continue;
    if (!w->buffer.empty()) {
      WatchOutput out = hub_->PackLocked(w.get(), kNoRevisionLimit);
      if (!w->buffer.empty() || w->compact_revision > 0 || w->progress_wanted) {
        w->queued = true;
        ready_.push_back(w);
      }
      return out;
    }
    if (w->compact_revision > 0) {
      WatchOutput out;
      out.kind = WatchOutput::Kind::kCompacted;
      out.watch_id = w->id;
      out.revision = hub_->revision_;
      out.compact_revision = w->compact_revision;
      hub_->RemoveWatcherLocked(w.get());
      watchers_.erase(w->id);
      return out;
    }
    if (w->progress_wanted) {
      w->progress_wanted = false;
      if (!w->synced) continue;
      WatchOutput out;
      out.kind = WatchOutput::Kind::kProgress;
      out.watch_id = w->id;
      out.revision = hub_->revision_;
      return out;
    }
  }
  waiting_ = true;
  return std::nullopt;
}

int64_t WatchStream::Revision() const { return hub_->Revision(); }

void WatchStream::Close() {
  {
    std::lock_guard<std::mutex> lock(callback_mu_);
    callback_closed_ = true;
  }
  std::lock_guard<std::mutex> lock(hub_->mu_);
  if (closed_) return;
  closed_ = true;
  for (auto& [id, w] : watchers_) hub_->RemoveWatcherLocked(w.get());
  watchers_.clear();
  ready_.clear();
}

// ---------------------------------------------------------------------------------------------
// WatchHub

WatchHub::WatchHub(const EventSource* source, HubOptions options)
    : source_(source), options_(std::move(options)) {
  GRID_CHECK(source_ != nullptr);
  GRID_CHECK(options_.max_pending_events > 0);
  GRID_CHECK(options_.max_catchup_watchers_per_round > 0);
  GRID_CHECK(options_.progress_notify_interval.count() > 0);
  revision_ = source_->CurrentRevision();
  catchup_thread_ = std::thread([this] { CatchupLoop(); });
  notify_thread_ = std::thread([this] { NotifyLoop(); });
}

WatchHub::~WatchHub() { Stop(); }

void WatchHub::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  catchup_cv_.notify_all();
  notify_cv_.notify_all();
  if (catchup_thread_.joinable()) catchup_thread_.join();
  if (notify_thread_.joinable()) notify_thread_.join();
}

int64_t WatchHub::Revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

size_t WatchHub::UnsyncedCountForTest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unsynced_.size();
}

std::shared_ptr<WatchStream> WatchHub::NewStream(std::function<void()> on_ready) {
  return std::shared_ptr<WatchStream>(new WatchStream(this, std::move(on_ready)));
}

void WatchHub::OnCommit(std::vector<mvccpb::Event>&& events, int64_t revision) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    GRID_CHECK_LE(revision_, revision);
    // First the watchers each event goes to, then each matched event is moved once into a
    // shared event (no copy: for a revision of 10,000 events copying cost milliseconds on the
    // path from commit to watcher). prev_kv stays in the shared event; a watcher that did not
    // ask for it has it left out when its response is encoded (event_encoding.h), and its
    // byte count is that of the encoding it gets. A buffered event of such a watcher therefore
    // holds its prev_kv's memory too, at most about twice the event it is sent as.
    std::unordered_map<Watcher*, std::vector<size_t>> matched;  // event indexes per watcher
    int64_t last = revision_;
    for (size_t i = 0; i < events.size(); ++i) {
      const mvccpb::Event& ev = events[i];
      const int64_t rev = ev.kv().mod_revision();
      GRID_CHECK(rev > revision_ && rev <= revision && rev >= last)
          << "event revision " << rev << " out of order (hub " << revision_ << ", batch "
          << revision << ", previous " << last << ")";
      last = rev;
      auto visit = [&](Watcher* w) {
        if (!w->synced || rev < w->next_revision || w->Filtered(ev)) return;
        matched[w].push_back(i);
      };
      const std::string& key = ev.kv().key();
      if (auto it = key_watchers_.find(key); it != key_watchers_.end()) {
        for (Watcher* w : it->second) visit(w);
      }
      for (auto it = range_watchers_.begin(), stop = range_watchers_.upper_bound(key); it != stop;
           ++it) {
        if (it->second->Matches(key)) visit(it->second);
      }
    }
    std::vector<std::shared_ptr<const mvccpb::Event>> shared(events.size());
    std::vector<PendingEvent> pending;
    for (auto& [w, indexes] : matched) {
      pending.clear();
      pending.reserve(indexes.size());
      for (size_t i : indexes) {
        if (shared[i] == nullptr) {
          shared[i] = std::make_shared<const mvccpb::Event>(std::move(events[i]));
        }
        PendingEvent p;
        p.event = shared[i];
        p.revision = shared[i]->kv().mod_revision();
        p.bytes = EncodedEventBytes(*shared[i], w->prev_kv);
        pending.push_back(std::move(p));
      }
      const int64_t missed = AppendLocked(w, pending);
      if (missed != 0) MarkUnsyncedLocked(w, missed);
    }
    revision_ = revision;
  }
}

void WatchHub::OnRestore(int64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  GRID_CHECK_LE(revision_, revision);
  for (Watcher* w : all_) {
    if (w->removed || !w->synced) continue;
    MarkUnsyncedLocked(w, std::max(w->next_revision, revision_ + 1));
  }
  revision_ = revision;
}

void WatchHub::AddWatcherLocked(const std::shared_ptr<Watcher>& w) {
  all_.insert(w.get());
  if (w->end.empty()) {
    key_watchers_[w->key].insert(w.get());
  } else {
    range_watchers_.emplace(w->key, w.get());
  }
}

void WatchHub::RemoveWatcherLocked(Watcher* w) {
  if (w->removed) return;
  w->removed = true;
  w->buffer.clear();
  all_.erase(w);
  unsynced_.erase(w->serial);
  if (w->end.empty()) {
    auto it = key_watchers_.find(w->key);
    GRID_CHECK(it != key_watchers_.end());
    it->second.erase(w);
    if (it->second.empty()) key_watchers_.erase(it);
  } else {
    auto [begin, end] = range_watchers_.equal_range(w->key);
    for (auto it = begin; it != end; ++it) {
      if (it->second == w) {
        range_watchers_.erase(it);
        break;
      }
    }
  }
}

void WatchHub::MarkUnsyncedLocked(Watcher* w, int64_t next_revision) {
  w->synced = false;
  w->next_revision = next_revision;
  unsynced_[w->serial] = w;
  if (CatchupEligibleLocked(w)) WakeCatchupLocked();
}

bool WatchHub::CatchupEligibleLocked(const Watcher* w) const {
  return !w->synced && !w->removed && w->compact_revision == 0 &&
         w->buffer.size() <= options_.max_pending_events / 2;
}

void WatchHub::WakeCatchupLocked() {
  catchup_wanted_ = true;
  catchup_cv_.notify_one();
}

int64_t WatchHub::AppendLocked(Watcher* w, std::vector<PendingEvent>& events) {
  bool appended = false;
  int64_t missed = 0;
  for (size_t i = 0; i < events.size();) {
    const int64_t rev = events[i].revision;
    size_t j = i;
    while (j < events.size() && events[j].revision == rev) ++j;
    if (!w->buffer.empty() && w->buffer.size() + (j - i) > options_.max_pending_events) {
      missed = rev;
      break;
    }
    for (; i < j; ++i) w->buffer.push_back(std::move(events[i]));
    appended = true;
  }
  if (appended) MakeReadyLocked(w);
  return missed;
}

WatchOutput WatchHub::PackLocked(Watcher* w, int64_t max_revision) {
  WatchOutput out;
  out.kind = WatchOutput::Kind::kEvents;
  out.watch_id = w->id;
  out.prev_kv = w->prev_kv;
  out.fragment = w->fragment;
  size_t bytes = 0;
  while (!w->buffer.empty() && w->buffer.front().revision <= max_revision) {
    const int64_t rev = w->buffer.front().revision;
    size_t group_bytes = 0;
    size_t n = 0;
    for (; n < w->buffer.size() && w->buffer[n].revision == rev; ++n) {
      group_bytes += w->buffer[n].bytes;
    }
    if (!out.events.empty() && bytes + group_bytes > options_.max_response_bytes) break;
    for (size_t k = 0; k < n; ++k) {
      out.events.push_back(std::move(w->buffer.front().event));
      w->buffer.pop_front();
    }
    bytes += group_bytes;
    out.revision = rev;
  }
  GRID_CHECK(!out.events.empty());
  w->sent_since_tick = true;
  w->progress_wanted = false;
  if (CatchupEligibleLocked(w) && unsynced_.count(w->serial) != 0) WakeCatchupLocked();
  return out;
}

void WatchHub::MakeReadyLocked(Watcher* w) {
  WatchStream* s = w->stream;
  if (!w->queued) {
    w->queued = true;
    s->ready_.push_back(w->shared_from_this());
  }
  NotifyIfWaitingLocked(s);
}

void WatchHub::NotifyIfWaitingLocked(WatchStream* s) {
  if (!s->waiting_) return;
  s->waiting_ = false;
  to_notify_.push_back(s->weak_from_this());
  notify_cv_.notify_one();
}

bool WatchHub::AllSyncedLocked(const WatchStream* s) const {
  for (const auto& [id, w] : s->watchers_) {
    if (!w->synced && w->compact_revision == 0) return false;
  }
  return true;
}

std::vector<std::shared_ptr<WatchStream>> WatchHub::TakeNotifiesLocked() {
  std::vector<std::shared_ptr<WatchStream>> out;
  for (auto& weak : to_notify_) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  to_notify_.clear();
  return out;
}

void WatchHub::InvokeReady(const std::vector<std::shared_ptr<WatchStream>>& streams) {
  for (const auto& s : streams) {
    std::lock_guard<std::mutex> lock(s->callback_mu_);
    if (!s->callback_closed_ && s->on_ready_) s->on_ready_();
  }
}

// ---------------------------------------------------------------------------------------------
// Catch-up thread

void WatchHub::CatchupLoop() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_tick = Clock::now() + options_.progress_notify_interval;
  Clock::time_point retry_at = Clock::time_point::max();
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    catchup_cv_.wait_until(lock, std::min(next_tick, retry_at),
                           [&] { return stop_ || catchup_wanted_; });
    if (stop_) return;
    const Clock::time_point now = Clock::now();
    if (now >= retry_at) {
      retry_at = Clock::time_point::max();
      catchup_wanted_ = true;
    }
    if (now >= next_tick) {
      ProgressTickLocked();
      next_tick = now + options_.progress_notify_interval;
    }
    std::vector<CatchupWork> work;
    if (catchup_wanted_) {
      catchup_wanted_ = false;
      if (ChooseCatchupLocked(&work)) catchup_wanted_ = true;  // more than one round's worth
    }
    if (!work.empty()) {
      lock.unlock();
      ReadCatchup(work);
      lock.lock();
      if (ApplyCatchupLocked(work)) retry_at = Clock::now() + options_.catchup_retry_interval;
    }
  }
}

void WatchHub::NotifyLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    notify_cv_.wait(lock, [&] { return stop_ || !to_notify_.empty(); });
    if (stop_) return;
    std::vector<std::shared_ptr<WatchStream>> streams = TakeNotifiesLocked();
    lock.unlock();
    InvokeReady(streams);
    streams.clear();  // a stream may be destroyed here: not under mu_
    lock.lock();
  }
}

bool WatchHub::ChooseCatchupLocked(std::vector<CatchupWork>* work) {
  if (unsynced_.empty()) return false;
  // Round-robin from the watcher after the last one served, so none starves.
  auto it = unsynced_.upper_bound(catchup_cursor_);
  for (size_t visited = 0; visited < unsynced_.size(); ++visited, ++it) {
    if (it == unsynced_.end()) it = unsynced_.begin();
    Watcher* w = it->second;
    if (!CatchupEligibleLocked(w)) continue;
    if (work->size() == options_.max_catchup_watchers_per_round) return true;
    CatchupWork item;
    item.watcher = w->shared_from_this();
    item.from_revision = w->next_revision;
    item.to_revision = revision_;
    work->push_back(std::move(item));
    catchup_cursor_ = w->serial;
  }
  return false;
}

void WatchHub::ReadCatchup(std::vector<CatchupWork>& work) const {
  const int64_t compacted = source_->CompactedRevision();
  for (CatchupWork& item : work) {
    const Watcher& w = *item.watcher;  // key, end and flags are immutable
    if (item.from_revision < compacted) {
      item.compact_revision = compacted;
      continue;
    }
    if (item.from_revision > item.to_revision) continue;
    Result<std::vector<mvccpb::Event>> page = source_->EventsInRange(
        w.key, w.end, item.from_revision, item.to_revision, w.prev_kv);
    if (!page.ok()) {
      if (page.status().code() == Code::kOutOfRange) {
        // The first revision still readable is past both the compaction and from_revision.
        item.compact_revision = std::max(source_->CompactedRevision(), item.from_revision + 1);
      } else {
        spdlog::warn("watch catch-up read [{}, {}] failed: {}", item.from_revision,
                     item.to_revision, page.status().ToString());
        item.failed = true;
      }
      continue;
    }
    int64_t last = item.from_revision;
    for (mvccpb::Event& ev : *page) {
      const int64_t rev = ev.kv().mod_revision();
      GRID_CHECK(rev >= last && rev <= item.to_revision)
          << "event source returned revision " << rev << " outside [" << last << ", "
          << item.to_revision << "]";
      last = rev;
      item.page_last_revision = rev;
      if (w.Filtered(ev)) continue;
      PendingEvent pending;
      pending.revision = rev;
      pending.bytes = EncodedEventBytes(ev, w.prev_kv);
      pending.event = std::make_shared<const mvccpb::Event>(std::move(ev));
      item.events.push_back(std::move(pending));
    }
  }
}

bool WatchHub::ApplyCatchupLocked(std::vector<CatchupWork>& work) {
  bool failed = false;
  for (CatchupWork& item : work) {
    Watcher* w = item.watcher.get();
    if (w->removed) continue;
    GRID_CHECK(!w->synced && w->next_revision == item.from_revision);
    if (item.failed) {
      failed = true;
      continue;
    }
    if (item.compact_revision > 0) {
      w->compact_revision = item.compact_revision;
      unsynced_.erase(w->serial);
      MakeReadyLocked(w);
      continue;
    }
    int64_t next = item.to_revision + 1;
    if (item.from_revision > item.to_revision) {
      next = item.from_revision;
    } else if (item.page_last_revision != 0) {
      const int64_t missed = AppendLocked(w, item.events);
      next = missed != 0 ? missed : item.page_last_revision + 1;
    }
    w->next_revision = next;
    if (next > revision_) {
      w->synced = true;
      unsynced_.erase(w->serial);
      WatchStream* s = w->stream;
      if (s->progress_all_wanted_ && AllSyncedLocked(s)) NotifyIfWaitingLocked(s);
    } else if (CatchupEligibleLocked(w)) {
      catchup_wanted_ = true;
    }
  }
  return failed;
}

void WatchHub::ProgressTickLocked() {
  for (Watcher* w : all_) {
    if (!w->progress_notify) continue;
    if (!w->sent_since_tick && w->synced && w->buffer.empty() && w->compact_revision == 0) {
      w->progress_wanted = true;
      MakeReadyLocked(w);
    }
    w->sent_since_tick = false;
  }
}

}  // namespace grid::kv::watch
