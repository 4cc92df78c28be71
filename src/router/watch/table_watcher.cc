#include "router/watch/table_watcher.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "router/watch/backoff.h"
#include "router/watch/snapshot_reader.h"
#include "router/watch/table_cache.h"

namespace grid::router::watch {
namespace {

using table::KeyChange;

// The changes that turn `from` into `to` (puts of identical values are left out).
std::vector<KeyChange> Diff(const table::TableSource& from, const table::TableSource& to) {
  std::vector<KeyChange> delta;
  auto a = from.kvs.begin();
  auto b = to.kvs.begin();
  while (a != from.kvs.end() || b != to.kvs.end()) {
    if (b == to.kvs.end() || (a != from.kvs.end() && a->first < b->first)) {
      delta.push_back({KeyChange::Op::kDelete, a->first, ""});
      ++a;
    } else if (a == from.kvs.end() || b->first < a->first) {
      delta.push_back({KeyChange::Op::kPut, b->first, b->second});
      ++b;
    } else {
      if (a->second != b->second) delta.push_back({KeyChange::Op::kPut, b->first, b->second});
      ++a;
      ++b;
    }
  }
  return delta;
}

}  // namespace

const char* TableOriginName(TableOrigin origin) {
  switch (origin) {
    case TableOrigin::kNone:
      return "none";
    case TableOrigin::kStore:
      return "store";
    case TableOrigin::kCache:
      return "cache";
  }
  return "?";
}

TableWatcher::TableWatcher(std::shared_ptr<client::Client> client, TableWatcherOptions options)
    : client_(std::move(client)), options_(std::move(options)), builder_(options_.prefix) {}

Result<std::unique_ptr<TableWatcher>> TableWatcher::Start(std::shared_ptr<client::Client> client,
                                                          TableWatcherOptions options) {
  if (client == nullptr) return InvalidArgument("table watcher needs a client");
  if (options.prefix.empty() || options.prefix.back() == '/') {
    return InvalidArgument("table prefix \"" + options.prefix +
                           "\" must be non-empty without a '/' at the end");
  }
  if (options.max_page_keys < 1 || options.max_queued_updates < 1) {
    return InvalidArgument("max_page_keys and max_queued_updates must be at least 1");
  }
  if (options.min_retry_backoff.count() <= 0 ||
      options.max_retry_backoff < options.min_retry_backoff ||
      options.connectivity_poll_interval.count() <= 0 ||
      options.watch_create_timeout.count() <= 0) {
    return InvalidArgument(
        "backoff, poll interval and create timeout must be positive, min <= max");
  }
  std::unique_ptr<TableWatcher> w(new TableWatcher(std::move(client), std::move(options)));
  if (!w->options_.cache_path.empty()) w->LoadCache();
  std::lock_guard<std::mutex> lock(w->join_mu_);
  w->thread_ = std::thread([p = w.get()] { p->Run(); });
  return w;
}

TableWatcher::~TableWatcher() { Stop(); }

void TableWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (queue_ != nullptr) queue_->Close();
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

bool TableWatcher::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool TableWatcher::WaitOrStop(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, wait, [&] { return stopping_; });
}

WatcherStatus TableWatcher::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

bool TableWatcher::WaitForRevision(int64_t revision, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return status_.serving_revision >= revision && status_.serving_origin != TableOrigin::kNone;
  });
}

void TableWatcher::LoadCache() {
  Result<CachedSource> cached = ReadCacheFile(options_.cache_path, options_.max_cache_file_bytes);
  if (!cached.ok()) {
    if (cached.status().code() == Code::kNotFound) return;  // first start: nothing cached yet
    std::lock_guard<std::mutex> lock(mu_);
    status_.cache_error = cached.status();
    return;
  }
  if (cached->source.prefix != options_.prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.cache_error =
        FailedPrecondition("cache file " + options_.cache_path + " holds prefix \"" +
                           cached->source.prefix + "\", not \"" + options_.prefix + "\"");
    return;
  }
  auto table = table::BuildTable(cached->source, cached->revision);
  if (!table.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.cache_error = table.status().WithContext("cache file " + options_.cache_path);
    return;
  }
  Publish(std::move(table).value(), TableOrigin::kCache);
}

void TableWatcher::SetConnected(bool connected, const ::grid::Status& error) {
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = status_.connected != connected;
    status_.connected = connected;
    if (!error.ok()) status_.store_error = error;
    cv_.notify_all();
  }
  if (changed && options_.callbacks.on_connection) options_.callbacks.on_connection(connected);
}

void TableWatcher::Publish(TablePtr table, TableOrigin origin) {
  const int64_t revision = table->revision();
  slot_.Publish(table);
  if (options_.callbacks.on_table) options_.callbacks.on_table(table, origin);
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.serving_revision = revision;
    status_.serving_origin = origin;
    status_.last_update = std::chrono::system_clock::now();
    if (origin == TableOrigin::kStore) {
      status_.store_revision = revision;
      status_.refused.reset();
    }
    ++status_.swaps;
    cv_.notify_all();
  }
  if (origin == TableOrigin::kStore && !options_.cache_path.empty()) {
    ::grid::Status s = WriteCacheFile(options_.cache_path, builder_.source(), revision,
                                      options_.max_cache_file_bytes);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      status_.cache_error = s;
    }
  }
}

void TableWatcher::Refuse(int64_t revision, ::grid::Status error) {
  if (options_.callbacks.on_refused) options_.callbacks.on_refused(revision, error);
  {
    std::lock_guard<std::mutex> lock(mu_);
    RefusedChange refused{revision, error, std::chrono::system_clock::now()};
    status_.store_revision = revision;
    status_.refused = refused;
    status_.last_refused = std::move(refused);
    cv_.notify_all();
  }
}

void TableWatcher::ApplyDelta(std::span<const KeyChange> delta, int64_t revision) {
  Result<TablePtr> table = builder_.Apply(delta, revision);
  if (table.ok()) {
    Publish(std::move(table).value(), TableOrigin::kStore);
  } else {
    Refuse(revision, table.status());
  }
}

::grid::Status TableWatcher::Reload() {
  SnapshotOptions so;
  so.max_page_keys = options_.max_page_keys;
  so.max_snapshot_keys = options_.max_snapshot_keys;
  GRID_ASSIGN_OR_RETURN(Snapshot snap, ReadSnapshot(*client_, options_.prefix, so));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++status_.reloads;
  }
  SetConnected(true, ::grid::Status::Ok());
  const std::vector<KeyChange> delta = Diff(builder_.source(), snap.source);
  ApplyDelta(delta, snap.revision);
  next_revision_ = snap.revision + 1;
  return ::grid::Status::Ok();
}

TableWatcher::FollowEnd TableWatcher::Follow(client::Watcher& watcher, UpdateQueue& queue) {
  grpc::Channel& channel = *client_->channel();
  while (true) {
    const grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
    const bool up = state == GRPC_CHANNEL_READY;
    SetConnected(
        up, up ? ::grid::Status::Ok() : Unavailable("store connection lost; watch reconnecting"));
    // While the channel is down this thread waits on the channel itself: a thread waiting on it
    // is what drives a reconnection's handshake (otherwise only gRPC's backup poller does, every
    // few seconds). No update arrives while it is down.
    if (!up) {
      channel.WaitForStateChange(
          state, std::chrono::system_clock::now() + options_.connectivity_poll_interval);
    }
    std::vector<client::WatchUpdate> updates =
        queue.PopAll(std::chrono::steady_clock::now() +
                     (up ? options_.connectivity_poll_interval : std::chrono::milliseconds(0)));
    if (stopping()) return FollowEnd::kStopped;
    std::vector<KeyChange> delta;
    int64_t revision = 0;
    std::optional<FollowEnd> end;
    for (client::WatchUpdate& u : updates) {
      if (u.compact_revision > 0) {
        end = FollowEnd::kCompacted;
        break;
      }
      if (!u.status.ok()) {
        SetConnected(false, u.status);
        end = FollowEnd::kEnded;
        break;
      }
      for (mvccpb::Event& ev : u.events) {
        KeyChange change;
        change.op =
            ev.type() == mvccpb::Event::DELETE ? KeyChange::Op::kDelete : KeyChange::Op::kPut;
        change.key = std::move(*ev.mutable_kv()->mutable_key());
        if (change.op == KeyChange::Op::kPut)
          change.value = std::move(*ev.mutable_kv()->mutable_value());
        revision = ev.kv().mod_revision();
        delta.push_back(std::move(change));
      }
    }
    if (!delta.empty()) {
      ApplyDelta(delta, revision);
      next_revision_ = revision + 1;
    }
    if (end) return *end;
    if (updates.empty() && watcher.ended()) return FollowEnd::kEnded;
  }
}

bool TableWatcher::WaitBeforeRetry(std::chrono::milliseconds wait) {
  grpc::Channel& channel = *client_->channel();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return stopping();
    const auto slice = std::min<std::chrono::steady_clock::duration>(
        deadline - now, options_.connectivity_poll_interval);
    const grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_READY) {
      if (WaitOrStop(std::chrono::duration_cast<std::chrono::milliseconds>(slice) +
                     std::chrono::milliseconds(1))) {
        return true;
      }
      continue;
    }
    if (stopping()) return true;
    // Waiting on the channel drives its reconnection (see Follow); the store being reachable
    // again ends the wait early.
    const auto until = std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(slice);
    if (channel.WaitForStateChange(state, until) && channel.GetState(false) == GRPC_CHANNEL_READY) {
      return stopping();
    }
  }
}

void TableWatcher::Run() {
  Backoff backoff(options_.min_retry_backoff, options_.max_retry_backoff);
  bool need_reload = true;
  const std::string key = options_.prefix + "/";
  while (!stopping()) {
    if (need_reload) {
      ::grid::Status s = Reload();
      if (!s.ok()) {
        SetConnected(false, s);
        if (WaitBeforeRetry(backoff.Next())) break;
        continue;
      }
      need_reload = false;
      backoff.Reset();
    }

    auto queue = std::make_shared<UpdateQueue>(options_.max_queued_updates);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
      queue_ = queue;
    }
    client::WatchOptions wo;
    wo.prefix = true;
    wo.start_revision = next_revision_;
    client::WatcherOptions wopts;
    wopts.create_timeout = options_.watch_create_timeout;
    wopts.min_retry_backoff = options_.min_retry_backoff;
    wopts.max_retry_backoff = options_.max_retry_backoff;
    auto watcher =
        client::Watcher::Start(client_->channel(), key, wo, wopts,
                               [queue](client::WatchUpdate&& u) { queue->Push(std::move(u)); });
    FollowEnd end = FollowEnd::kEnded;
    if (watcher.ok()) {
      const auto started = std::chrono::steady_clock::now();
      end = Follow(**watcher, *queue);
      // A watch that lived longer than the longest wait was healthy: start the backoff over.
      if (std::chrono::steady_clock::now() - started > options_.max_retry_backoff) backoff.Reset();
    } else {
      SetConnected(false, watcher.status());
    }
    queue->Close();  // unblocks the stream thread if it waits for room
    if (watcher.ok()) (*watcher)->Cancel();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.reset();
    }
    switch (end) {
      case FollowEnd::kStopped:
        return;
      case FollowEnd::kCompacted:
        need_reload = true;  // at once: the store answered, it is not a failure
        backoff.Reset();
        break;
      case FollowEnd::kEnded:
        if (WaitBeforeRetry(backoff.Next())) return;
        break;
    }
  }
}

}  // namespace grid::router::watch
