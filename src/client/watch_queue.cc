#include "client/watch_queue.h"

#include <algorithm>
#include <utility>

namespace grid::client {

inline constexpr char kLostWatcherMessage[] = "lost watcher waiting for delete";

Result<std::unique_ptr<WatchQueue>> WatchQueue::Start(Client* client, std::string_view key,
                                                      const WatchOptions& options,
                                                      size_t max_queued) {
  GRID_CHECK(max_queued > 0);
  std::unique_ptr<WatchQueue> q(new WatchQueue());
  q->queue_->max_queued = max_queued;
  auto queue = q->queue_;
  GRID_ASSIGN_OR_RETURN(q->watcher_, client->Watch(key, options, [queue](WatchUpdate&& u) {
    std::unique_lock<std::mutex> lock(queue->mu);
    queue->cv.wait(lock, [&] { return queue->closed || queue->updates.size() < queue->max_queued; });
    if (queue->closed) return;
    queue->updates.push_back(std::move(u));
    queue->cv.notify_all();
  }));
  return q;
}

WatchQueue::~WatchQueue() {
  {
    std::lock_guard<std::mutex> lock(queue_->mu);
    queue_->closed = true;
    queue_->cv.notify_all();
  }
  if (watcher_) watcher_->Cancel();
}

Result<WatchUpdate> WatchQueue::Next(const Context& ctx) {
  std::unique_lock<std::mutex> lock(queue_->mu);
  while (queue_->updates.empty()) {
    GRID_RETURN_IF_ERROR(ctx.Err());
    if (watcher_->ended()) return Unavailable("watcher ended");
    queue_->cv.wait_for(lock, kContextPollInterval);
  }
  WatchUpdate u = std::move(queue_->updates.front());
  queue_->updates.pop_front();
  queue_->cv.notify_all();
  return u;
}

Status WaitDelete(Client* client, std::string_view key, int64_t revision, const Context& ctx) {
  WatchOptions options;
  options.start_revision = revision;
  GRID_ASSIGN_OR_RETURN(auto queue, WatchQueue::Start(client, key, options));
  while (true) {
    auto update = queue->Next(ctx);
    if (!update.ok()) {
      GRID_RETURN_IF_ERROR(ctx.Err());
      return Unavailable(kLostWatcherMessage);
    }
    GRID_RETURN_IF_ERROR(update->status);
    for (const auto& ev : update->events) {
      if (ev.type() == mvccpb::Event::DELETE) return Status::Ok();
    }
  }
}

Result<etcdserverpb::ResponseHeader> WaitDeletes(Client* client, std::string_view prefix,
                                                 int64_t max_create_revision,
                                                 const Context& ctx) {
  GetOptions options = GetOptions::LastCreate();
  options.max_create_revision = max_create_revision;
  while (true) {
    GRID_ASSIGN_OR_RETURN(auto resp, client->Get(prefix, options, ctx));
    if (resp.kvs_size() == 0) return resp.header();
    GRID_RETURN_IF_ERROR(WaitDelete(client, resp.kvs(0).key(), resp.header().revision(), ctx));
  }
}

}  // namespace grid::client
