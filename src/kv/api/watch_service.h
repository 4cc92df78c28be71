// etcdserverpb::Watch over the watch hub, on gRPC's callback API. One stream multiplexes many
// watchers; responses are written one at a time in the order the hub and the client's requests
// produce them (created before a watcher's events, canceled after its last ones).
//
// The method is registered raw (byte buffers, not messages): requests are parsed here, and a
// response with events is written in one buffer straight from the hub's shared events
// (event_encoding.h) instead of through a WatchResponse holding a copy of each.
#pragma once

#include <functional>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <unordered_set>

#include "etcd/rpc.grpc.pb.h"
#include "kv/server/member.h"
#include "kv/watch/watch_hub.h"

namespace grid::kv::api {

struct WatchServiceOptions {
  // Responses queued on one stream behind the one being written (etcd's ctrlStreamBufLen).
  // At the bound the stream stops reading requests until the queue drains; watch events do
  // not count: they stay in the hub's bounded per-watcher buffers until the stream can write.
  size_t max_queued_responses = 16;
  // True while this member is a learner: new streams are refused with etcd's "rpc not
  // supported for learner" (unset: never).
  std::function<bool()> is_learner;
};

class WatchStreamReactor;

// Thread-safety: gRPC calls Watch() from its threads; Stop() from any thread.
class WatchService final
    : public etcdserverpb::Watch::WithRawCallbackMethod_Watch<etcdserverpb::Watch::Service> {
 public:
  // `hub` and `identity` must outlive the service.
  WatchService(watch::WatchHub* hub, const MemberIdentity* identity,
               WatchServiceOptions options = {});
  // REQUIRES: the grpc::Server is shut down (so every stream is done).
  ~WatchService() override;

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Watch(
      grpc::CallbackServerContext* context) override;

  // Finishes every open stream with UNAVAILABLE "etcdserver: server stopped" and refuses new
  // ones. Does not wait: streams whose client stopped reading end when the server shuts down.
  void Stop();

  size_t OpenStreamsForTest() const;

 private:
  friend class WatchStreamReactor;
  void Unregister(WatchStreamReactor* reactor);

  watch::WatchHub* const hub_;
  const MemberIdentity* const identity_;
  const WatchServiceOptions options_;

  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  bool stopped_ = false;
  std::unordered_set<WatchStreamReactor*> streams_;
};

}  // namespace grid::kv::api
