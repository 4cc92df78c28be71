// Watcher: one etcd v3 watch over its own bidi Watch stream, delivering events to a
// callback. When the stream breaks (server restart, network) the watcher reconnects with
// backoff and re-creates the watch from the revision after the last one it delivered, so
// events are neither lost nor repeated. A compacted start revision ends the watcher with a
// final update carrying compact_revision.
//
// Threads: each Watcher owns one thread, which reads the stream and runs the callback;
// updates are delivered in order, one at a time. Cancel() and the destructor are
// thread-safe and may be called from inside the callback (the thread then finishes on its
// own after the callback returns).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "common/status.h"
#include "etcd/kv.pb.h"

namespace grid::client {

struct WatchOptions {
  std::string range_end;  // explicit end of [key, range_end); ignored when prefix/from_key
  bool prefix = false;
  bool from_key = false;
  int64_t start_revision = 0;  // 0 = changes after the current revision
  bool prev_kv = false;
  bool progress_notify = false;
  bool no_put = false;
  bool no_delete = false;
};

struct WatchUpdate {
  int64_t header_revision = 0;
  // Events in revision order; empty for a progress notification.
  std::vector<mvccpb::Event> events;
  // > 0 when the requested revision was compacted; the watcher has ended.
  int64_t compact_revision = 0;
  // Not OK when the watcher has ended: OutOfRange "etcdserver: mvcc: required revision has
  // been compacted", or the server's cancel reason / permanent stream error.
  Status status;
};

// The update is handed over as an rvalue: a callback that keeps it (queues it for another
// thread) takes `WatchUpdate&&` and moves it, instead of copying every event of a large
// response on the stream thread. A callback taking `const WatchUpdate&` works too.
using WatchCallback = std::function<void(WatchUpdate&&)>;

struct WatcherOptions {
  // How long Start() waits for the server to confirm the watch.
  std::chrono::milliseconds create_timeout{5000};
  std::chrono::milliseconds min_retry_backoff{50};
  std::chrono::milliseconds max_retry_backoff{1000};
};

class Watcher {
 public:
  // Opens the stream and waits until the server confirms the watch (or ends it, which is
  // reported to `callback` too). Unavailable when no confirmation arrives in time.
  static Result<std::unique_ptr<Watcher>> Start(std::shared_ptr<grpc::Channel> channel,
                                                std::string key, WatchOptions options,
                                                WatcherOptions watcher_options,
                                                WatchCallback callback);
  ~Watcher();  // Cancel()
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Stops the watch. After it returns the callback is not running and will not run again,
  // unless Cancel is called from the callback itself.
  void Cancel();
  // True once the watcher has ended (cancelled, compacted, or a permanent error).
  bool ended() const;
  // The revision the watcher resumes from after a stream break.
  int64_t next_revision() const;

  struct State;

 private:
  explicit Watcher(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace grid::client
