// Unary calls to one peer (the lease calls), on gRPC's async API: starting one never blocks;
// it completes on the transport's call thread (CallCompletions). The calls use a channel of
// their own, separate from the message stream, dialled on first use; a call that fails as
// UNAVAILABLE or runs out of time drops it, so the next call dials afresh, at the peer's next
// URL, instead of waiting out gRPC's reconnect back-off.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/completion_queue.h>

#include "common/status.h"
#include "grid/peer.grpc.pb.h"
#include "raft/types.h"
#include "transport/options.h"
#include "transport/tls.h"
#include "transport/url.h"

namespace grid::transport {

// The completion queue the lease calls of one transport finish on, and the thread that runs
// their completions (each call's `done`, in completion order).
class CallCompletions {
 public:
  // What a call's completion tag points to.
  class Tag {
   public:
    virtual ~Tag() = default;
    // On the call thread, once the call finished. May free the tag.
    virtual void Complete() = 0;
  };

  CallCompletions();  // starts the call thread
  ~CallCompletions();  // Shutdown()
  CallCompletions(const CallCompletions&) = delete;
  CallCompletions& operator=(const CallCompletions&) = delete;

  grpc::CompletionQueue* cq() { return &cq_; }
  // Stops the call thread once every completion ran. REQUIRES: no call in flight and none
  // started later. Idempotent; not from the call thread.
  void Shutdown();

 private:
  grpc::CompletionQueue cq_;
  std::thread thread_;
};

class PeerCalls {
 public:
  // `completions` must outlive this object.
  PeerCalls(const TransportOptions* options, const PeerCredentials* creds,
            CallCompletions* completions, raft::MemberId peer, std::vector<PeerUrl> urls);
  ~PeerCalls();  // Stop()
  PeerCalls(const PeerCalls&) = delete;
  PeerCalls& operator=(const PeerCalls&) = delete;

  // Each starts one call with a deadline `timeout` from now. `done` runs exactly once: on the
  // call thread, or on the calling thread before the method returns when Stop() was called.
  // It must not block. Errors: what the peer's callback answered (code and message kept),
  // Unavailable when the peer cannot be reached, the call was cancelled (Stop(), the peer
  // shutting down) or after Stop(), DeadlineExceeded after `timeout`, ResourceExhausted for a
  // response over max_lease_response_bytes.
  void RenewLease(int64_t id, std::chrono::milliseconds timeout,
                  std::function<void(Result<int64_t>)> done);
  void LeaseTimeToLive(int64_t id, bool keys, std::chrono::milliseconds timeout,
                       std::function<void(Result<LeaseTtl>)> done);
  void PromoteCheck(uint64_t member, std::chrono::milliseconds timeout,
                    std::function<void(Status)> done);

  // Calls from now on use `urls`.
  void UpdateUrls(std::vector<PeerUrl> urls);
  // Cancels the calls in flight and returns once every `done` ran; later calls fail at once
  // (Unavailable). Idempotent; not from a `done` (the call thread).
  void Stop();

 private:
  struct PendingCall;
  template <typename Request, typename Response, typename T>
  struct TypedCall;
  struct Target {
    std::shared_ptr<peerpb::Peer::Stub> stub;
    uint64_t generation = 0;  // which channel: a failure drops only the one it used
  };

  // Sets the deadline and identity, picks the channel (dialling one if there is none) and
  // registers `call` as in flight. False once stopping.
  bool Begin(const std::shared_ptr<PendingCall>& call, std::chrono::milliseconds timeout);
  // UNAVAILABLE or DEADLINE_EXCEEDED drops the channel `call` used (if it is still current).
  void DropChannelIfUnreachable(const PendingCall& call);
  // Unregisters `call`, which frees it.
  void End(PendingCall* call);
  // Begin, then `start(call)`; `done` gets the answer on the call thread.
  template <typename Call, typename Start>
  void Run(std::shared_ptr<Call> call, std::chrono::milliseconds timeout, Start start);

  const TransportOptions* const options_;
  const PeerCredentials* const creds_;
  CallCompletions* const completions_;
  const raft::MemberId peer_;

  std::mutex mu_;
  std::condition_variable idle_cv_;                // in_flight_ became empty
  bool stopping_ = false;                          // GUARDED_BY(mu_)
  std::vector<PeerUrl> urls_;                      // GUARDED_BY(mu_)
  size_t url_index_ = 0;                           // GUARDED_BY(mu_)
  std::optional<Target> target_;                   // GUARDED_BY(mu_)
  uint64_t next_generation_ = 1;                   // GUARDED_BY(mu_)
  // Calls started and not completed; Stop() cancels them.
  std::map<PendingCall*, std::shared_ptr<PendingCall>> in_flight_;  // GUARDED_BY(mu_)
};

}  // namespace grid::transport
