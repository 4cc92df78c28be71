// WatchQueue: a Watcher whose updates are pulled by the caller with Next() instead of being
// pushed to a callback. Used by the blocking waits of Mutex and Election.
//
// At most kMaxQueuedWatchUpdates updates wait in the queue; beyond that the watcher thread
// blocks (back-pressure on the stream) until the consumer catches up.
//
// Thread-safety: one consumer thread calls Next(); destruction must not race with Next().
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>

#include "client/client.h"

namespace grid::client {

inline constexpr size_t kMaxQueuedWatchUpdates = 1024;

class WatchQueue {
 public:
  static Result<std::unique_ptr<WatchQueue>> Start(Client* client, std::string_view key,
                                                   const WatchOptions& options,
                                                   size_t max_queued = kMaxQueuedWatchUpdates);
  ~WatchQueue();

  // The next update; ctx.Err() when ctx is done first. An update with a non-OK status is the
  // last one.
  Result<WatchUpdate> Next(const Context& ctx);

 private:
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<WatchUpdate> updates;  // guarded by mu
    bool closed = false;              // guarded by mu
    size_t max_queued = 0;
  };
  WatchQueue() = default;
  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
  std::unique_ptr<Watcher> watcher_;
};

// Blocks until `key` is deleted at or after revision `revision` (etcd's waitDelete).
Status WaitDelete(Client* client, std::string_view key, int64_t revision, const Context& ctx);

// Blocks until every key under `prefix` with create revision <= max_create_revision is
// deleted (etcd's waitDeletes); returns the header of the final, empty Get.
Result<etcdserverpb::ResponseHeader> WaitDeletes(Client* client, std::string_view prefix,
                                                 int64_t max_create_revision,
                                                 const Context& ctx);

}  // namespace grid::client
