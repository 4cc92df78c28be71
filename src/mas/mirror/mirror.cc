#include "mas/mirror/mirror.h"

#include <algorithm>

#include "client/ops.h"

namespace grid::mas::mirror {
namespace {

using Clock = std::chrono::steady_clock;
const std::string kEndOfKeys(1, '\0');

// etcd refuses an empty key; the whole key space is ["\0", "\0").
std::string BeginKey(const std::string& key) { return key.empty() ? kEndOfKeys : key; }

int64_t OpBytes(const KeyOp& op) {
  return static_cast<int64_t>(op.key.size() + (op.value ? op.value->size() : 0));
}

}  // namespace

Status Validate(const MirrorOptions& o) {
  if (o.primary_endpoints.empty()) return InvalidArgument("mirror: no primary endpoints");
  if (o.standby_endpoints.empty()) return InvalidArgument("mirror: no standby endpoints");
  if (o.page_size < 1 || o.page_size > kMaxPageSize) {
    return InvalidArgument("mirror: page_size must be 1.." + std::to_string(kMaxPageSize));
  }
  if (o.limits.max_ops < 1 || o.limits.max_ops > kStoreMaxTxnOps - 1) {
    return InvalidArgument("mirror: limits.max_ops must be 1.." +
                           std::to_string(kStoreMaxTxnOps - 1));
  }
  if (o.limits.max_bytes < 1 || o.limits.max_bytes > kMaxTxnBytes) {
    return InvalidArgument("mirror: limits.max_bytes must be 1.." + std::to_string(kMaxTxnBytes));
  }
  if (o.max_queued_updates < 1 || o.max_queued_updates > kMaxQueuedUpdatesLimit) {
    return InvalidArgument("mirror: max_queued_updates must be 1.." +
                           std::to_string(kMaxQueuedUpdatesLimit));
  }
  if (o.min_backoff.count() <= 0 || o.max_backoff < o.min_backoff) {
    return InvalidArgument("mirror: need 0 < min_backoff <= max_backoff");
  }
  if (o.poll_interval.count() <= 0) return InvalidArgument("mirror: poll_interval must be > 0");
  return Status::Ok();
}

Result<std::unique_ptr<Mirror>> Mirror::Create(MirrorOptions options) {
  GRID_RETURN_IF_ERROR(Validate(options));
  GRID_ASSIGN_OR_RETURN(KeyFilter filter, KeyFilter::Make(options.prefixes, options.own_prefix + "/"));
  client::ClientOptions co = options.client_options;
  co.dial_timeout = std::chrono::milliseconds(0);  // either side may be down at start
  GRID_ASSIGN_OR_RETURN(auto primary, client::Client::Connect(options.primary_endpoints, co));
  GRID_ASSIGN_OR_RETURN(auto standby, client::Client::Connect(options.standby_endpoints, co));
  return std::unique_ptr<Mirror>(
      new Mirror(std::move(options), std::move(filter), std::move(primary), std::move(standby)));
}

Mirror::Mirror(MirrorOptions options, KeyFilter filter, std::unique_ptr<client::Client> primary,
               std::unique_ptr<client::Client> standby)
    : options_(std::move(options)),
      filter_(std::move(filter)),
      primary_(std::move(primary)),
      standby_(std::move(standby)) {}

Mirror::~Mirror() { Stop(); }

void Mirror::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  GRID_CHECK(!thread_.joinable() && !stop_) << "Mirror started twice";
  thread_ = std::thread([this] { Run(); });
}

void Mirror::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    session_end_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (standby_watch_) standby_watch_->Cancel();
  standby_watch_.reset();
}

MirrorStats Mirror::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  MirrorStats s = stats_;
  s.lag = lag_.Get(Clock::now());
  return s;
}

bool Mirror::Stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

bool Mirror::SleepUnlessStopped(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stop_; });
}

void Mirror::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  while (!Stopping()) {
    const int64_t txns_before = Stats().applied_txns;
    Status s = Session();
    if (Stopping()) break;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.watching = false;
      ++stats_.sessions_failed;
      stats_.last_error = s.ToString();
      if (stats_.applied_txns > txns_before) backoff = options_.min_backoff;
    }
    if (!SleepUnlessStopped(backoff)) break;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Status Mirror::RefreshPrimaryRevision() {
  auto [begin, end] = filter_.CoveringRange(false);
  client::GetOptions g;
  g.range_end = end;
  g.count_only = true;
  GRID_ASSIGN_OR_RETURN(auto resp, primary_->Get(BeginKey(begin), g));
  std::lock_guard<std::mutex> lock(mu_);
  lag_.SeenPrimary(resp.header().revision(), Clock::now());
  return Status::Ok();
}

Status Mirror::Session() {
  GRID_RETURN_IF_ERROR(RefreshPrimaryRevision());
  GRID_ASSIGN_OR_RETURN(auto got, standby_->Get(progress_key()));
  Progress progress;
  std::string copy_reason;
  if (got.kvs_size() == 0) {
    fence_ = 0;
    copy_reason = "no progress";
  } else {
    fence_ = got.kvs(0).mod_revision();
    GRID_ASSIGN_OR_RETURN(progress, DecodeProgress(got.kvs(0).value()));
    if (progress.copying) copy_reason = "copy interrupted";
  }
  EnsureStandbyWatch(fence_ > 0 ? fence_ + 1 : 0);
  int64_t resume = progress.revision;
  if (!copy_reason.empty()) {
    GRID_RETURN_IF_ERROR(FullCopy(copy_reason, &resume));
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    lag_.Applied(resume);
  }
  for (;;) {
    int64_t compacted = 0;
    Status s = WatchAndApply(resume + 1, &compacted);
    if (compacted == 0) return s;
    GRID_RETURN_IF_ERROR(FullCopy("compacted: watch from revision " + std::to_string(resume + 1) +
                                      ", primary compacted at " + std::to_string(compacted),
                                  &resume));
  }
}

Status Mirror::Commit(std::vector<KeyOp> ops, const Progress& progress) {
  etcdserverpb::TxnRequest req;
  *req.add_compare() = client::CompareModRevision(progress_key(), etcdserverpb::Compare::EQUAL, fence_);
  for (auto& op : ops) {
    *req.add_success() = op.value ? client::OpPut(op.key, *op.value) : client::OpDelete(op.key);
  }
  *req.add_success() = client::OpPut(progress_key(), EncodeProgress(progress));
  GRID_ASSIGN_OR_RETURN(auto resp, standby_->Txn(req));
  if (!resp.succeeded()) {
    return FailedPrecondition("mirror: the progress record " + progress_key() +
                              " changed under the mirror (expected mod revision " +
                              std::to_string(fence_) + ")");
  }
  fence_ = resp.header().revision();
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.applied_txns;
  return Status::Ok();
}

Status Mirror::FullCopy(const std::string& reason, int64_t* copied_revision) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.watching = false;
    stats_.copy_keys_put = stats_.copy_keys_deleted = stats_.copy_keys_unchanged = 0;
  }
  auto [begin, end] = filter_.CoveringRange(false);
  client::GetOptions g;
  g.range_end = end;
  g.count_only = true;
  GRID_ASSIGN_OR_RETURN(auto head, primary_->Get(BeginKey(begin), g));
  const int64_t revision = head.header().revision();
  std::vector<KeyOp> pending;
  int64_t pending_bytes = 0;
  for (const auto& prefix : filter_.prefixes()) {
    GRID_RETURN_IF_ERROR(CopyRange(BeginKey(prefix), client::PrefixRangeEnd(prefix), revision,
                                   &pending, &pending_bytes));
  }
  Progress done;
  done.revision = revision;
  GRID_RETURN_IF_ERROR(Commit(std::move(pending), done));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.full_copies;
  stats_.last_full_copy_reason = reason;
  stats_.last_copy_revision = revision;
  lag_.SeenPrimary(revision, Clock::now());
  lag_.Applied(revision);
  *copied_revision = revision;
  return Status::Ok();
}

Status Mirror::CopyRange(const std::string& begin, const std::string& end, int64_t revision,
                         std::vector<KeyOp>* pending, int64_t* pending_bytes) {
  Progress copying;
  copying.copying = true;
  copying.copy_revision = revision;
  auto add = [&](std::vector<KeyOp> ops) -> Status {
    for (auto& op : ops) {
      const int64_t b = OpBytes(op);
      if (!pending->empty() && (static_cast<int>(pending->size()) >= options_.limits.max_ops ||
                                *pending_bytes + b > options_.limits.max_bytes)) {
        GRID_RETURN_IF_ERROR(Commit(std::move(*pending), copying));
        pending->clear();
        *pending_bytes = 0;
      }
      *pending_bytes += b;
      pending->push_back(std::move(op));
    }
    return Status::Ok();
  };
  std::string cursor = begin;
  for (;;) {
    if (Stopping()) return Unavailable("mirror stopping");
    client::GetOptions pg;
    pg.range_end = end;
    pg.revision = revision;
    pg.limit = options_.page_size;
    GRID_ASSIGN_OR_RETURN(auto page, primary_->Get(cursor, pg));
    const bool more = page.more() && page.kvs_size() > 0;
    const std::string hi = more ? page.kvs(page.kvs_size() - 1).key() + '\0' : end;
    std::vector<mvccpb::KeyValue> primary_kvs(page.kvs().begin(), page.kvs().end());
    // The standby's keys in [cursor, hi), a page at a time, each diffed against the slice
    // of the primary page it spans.
    std::string scursor = cursor;
    size_t p = 0;
    for (;;) {
      client::GetOptions sg;
      sg.range_end = hi;
      sg.limit = options_.page_size;
      GRID_ASSIGN_OR_RETURN(auto spage, standby_->Get(scursor, sg));
      const bool smore = spage.more() && spage.kvs_size() > 0;
      const std::string shi = smore ? spage.kvs(spage.kvs_size() - 1).key() + '\0' : hi;
      std::vector<mvccpb::KeyValue> slice;
      while (p < primary_kvs.size() && (!smore || primary_kvs[p].key() < shi)) {
        slice.push_back(primary_kvs[p++]);
      }
      std::vector<mvccpb::KeyValue> standby_kvs(spage.kvs().begin(), spage.kvs().end());
      PageDiff diff = DiffPage(slice, standby_kvs, filter_);
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.copy_keys_unchanged += diff.unchanged;
        for (const auto& op : diff.ops) ++(op.value ? stats_.copy_keys_put : stats_.copy_keys_deleted);
      }
      GRID_RETURN_IF_ERROR(add(std::move(diff.ops)));
      if (!smore) break;
      scursor = shi;
    }
    if (!more) return Status::Ok();
    cursor = hi;
  }
}

Status Mirror::WatchAndApply(int64_t from_revision, int64_t* compacted) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    session_end_ = stop_;
    queue_.clear();
    stats_.watching = true;
  }
  auto [begin, end] = filter_.CoveringRange(false);
  client::WatchOptions wo;
  wo.range_end = end;
  wo.start_revision = from_revision;
  auto watcher = primary_->Watch(BeginKey(begin), wo, [this](const client::WatchUpdate& u) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return session_end_ || queue_.size() < options_.max_queued_updates; });
    if (session_end_) return;
    queue_.push_back(u);
    cv_.notify_all();
  });
  if (!watcher.ok()) return watcher.status();
  auto end_watch = [&] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      session_end_ = true;
    }
    cv_.notify_all();
    (*watcher)->Cancel();
    std::lock_guard<std::mutex> lock(mu_);
    queue_.clear();
  };
  for (;;) {
    client::WatchUpdate update;
    bool got = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      got = cv_.wait_for(lock, options_.poll_interval,
                                    [this] { return stop_ || !queue_.empty(); });
      if (stop_) {
        lock.unlock();
        end_watch();
        return Unavailable("mirror stopping");
      }
      if (got) {
        update = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
      }
    }
    if (!got) {
      // Idle: refresh the primary's revision for the lag, and the standby watch.
      Status s = RefreshPrimaryRevision();
      if (!s.ok()) {
        end_watch();
        return s;
      }
      EnsureStandbyWatch(0);
      continue;
    }
    if (update.compact_revision > 0) {
      end_watch();
      *compacted = update.compact_revision;
      return update.status;
    }
    if (!update.status.ok()) {
      end_watch();
      return update.status;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      lag_.SeenPrimary(update.header_revision, Clock::now());
    }
    for (Batch& b : PlanBatches(update.events, filter_, options_.limits)) {
      const int64_t progress_revision = b.partial ? b.first_revision - 1 : b.last_revision;
      const int64_t n = static_cast<int64_t>(b.ops.size());
      if (n > 0) {
        Progress p;
        p.revision = progress_revision;
        Status s = Commit(std::move(b.ops), p);
        if (!s.ok()) {
          end_watch();
          return s;
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      stats_.applied_events += n;
      if (b.partial) ++stats_.split_revisions;
      lag_.Applied(progress_revision);
    }
  }
}

void Mirror::EnsureStandbyWatch(int64_t from_revision) {
  if (standby_watch_ && !standby_watch_->ended()) return;
  int64_t start = from_revision;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (standby_watch_) {
      // Ended (compacted or a permanent error): resume after the last revision seen.
      start = standby_seen_ + 1;
    }
  }
  if (standby_watch_) standby_watch_->Cancel();
  standby_watch_.reset();
  auto [begin, end] = filter_.CoveringRange(true);
  client::WatchOptions wo;
  wo.range_end = end;
  wo.start_revision = start;
  auto w = standby_->Watch(BeginKey(begin), wo,
                           [this](const client::WatchUpdate& u) { OnStandbyUpdate(u); });
  if (w.ok()) standby_watch_ = std::move(w).value();
}

void Mirror::OnStandbyUpdate(const client::WatchUpdate& update) {
  std::lock_guard<std::mutex> lock(mu_);
  if (update.compact_revision > 0) {
    // Standby revisions before it cannot be examined any more.
    ++stats_.standby_watch_gaps;
    standby_seen_ = update.compact_revision - 1;
    return;
  }
  const std::string progress = progress_key();
  size_t i = 0;
  const auto& ev = update.events;
  while (i < ev.size()) {
    const int64_t revision = ev[i].kv().mod_revision();
    size_t j = i;
    bool mirror_made = false;
    for (; j < ev.size() && ev[j].kv().mod_revision() == revision; ++j) {
      if (ev[j].type() == mvccpb::Event::PUT && ev[j].kv().key() == progress) mirror_made = true;
    }
    if (!mirror_made) {
      for (size_t k = i; k < j; ++k) {
        if (!filter_.Mirrored(ev[k].kv().key())) continue;
        ++stats_.foreign_writes;
        stats_.last_foreign_key = ev[k].kv().key();
        stats_.last_foreign_revision = revision;
      }
    }
    standby_seen_ = std::max(standby_seen_, revision);
    i = j;
  }
}

}  // namespace grid::mas::mirror
