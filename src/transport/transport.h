// The peer transport of one member: sends raft::Messages to the other members over gRPC and
// receives theirs. It runs its own gRPC server on the listen URLs (peers and clients use
// different ports, as in etcd). See README.md for threads and invariants.
//
//   auto t = Transport::Start(options, callbacks);
//   t.value()->AddPeer(MemberId(2), {"http://10.0.0.2:2380"});
//   t.value()->Send(ready.messages);
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/server.h>

#include "common/status.h"
#include "raft/types.h"
#include "transport/options.h"
#include "transport/peer_calls.h"
#include "transport/peer_sender.h"
#include "transport/tls.h"

namespace grid::transport {

class PeerListener;
class PeerService;

class Transport {
 public:
  // Validates `options`, prepares TLS (auto-TLS writes its files), and starts serving.
  // InvalidArgument for bad options or URLs; Unavailable when a listen URL cannot be bound.
  static Result<std::unique_ptr<Transport>> Start(TransportOptions options,
                                                  TransportCallbacks callbacks);
  ~Transport();  // Stop()
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Stops senders and the server. No callback runs after it returns. Idempotent.
  void Stop();

  // The listen URLs with the ports actually bound.
  const std::vector<std::string>& listen_urls() const { return bound_urls_; }

  // AlreadyExists for a known peer, FailedPrecondition for a removed one, InvalidArgument for
  // bad URLs (an https URL needs TLS options) or for this member's own id.
  Status AddPeer(raft::MemberId id, const std::vector<std::string>& urls);
  // NotFound for an unknown peer. An open stream to it is closed; the next uses the new URLs.
  Status UpdatePeer(raft::MemberId id, const std::vector<std::string>& urls);
  // Stops sending to `id` and refuses its calls from now on. NotFound for an unknown peer.
  Status RemovePeer(raft::MemberId id);

  // Queues each message for its recipient and returns without waiting for the network: a
  // peer's messages go as one batch, written by this thread when the peer's stream is idle and
  // the connection takes it without blocking, else by the peer's stream thread.
  // REQUIRES: every message is a wire type (IsPeerMessageType) from this member.
  // Messages for unknown peers are dropped (logged). A message that does not fit its peer's
  // queue, or exceeds max_message_bytes, is dropped and on_unreachable(peer) is called; a kSnap
  // that cannot start (one is already in flight to that peer) gets on_snapshot_status(peer,
  // false). Those callbacks run on this thread after Send() released its locks.
  void Send(std::vector<raft::Message> msgs);

  // Counters of one peer; NotFound for an unknown peer.
  Result<PeerStats> Stats(raft::MemberId id) const;

  // When the stream to `peer` became active: the time `peer` accepted the stream this
  // member opened to it, if that stream is still open. nullopt for an unknown peer and while no
  // accepted stream is open (see PeerSender::active_since()). The stream is kept open while idle,
  // so every reachable peer is active on every member. etcd's strict reconfiguration checks
  // count members active for long enough.
  std::optional<std::chrono::steady_clock::time_point> ActiveSince(raft::MemberId peer) const;

  // Lease calls to peer `to` (the leader), answered by its on_lease_renew /
  // on_lease_time_to_live. Never block: `done` runs exactly once, on the transport's call
  // thread, or on this thread before the method returns (unknown peer, transport stopped), so
  // the caller must not hold a lock `done` takes; `done` must not block (it holds up every
  // other lease call's completion). Errors: the peer's answer (code and message kept:
  // IsNotLeader(), NotFound for a missing lease), Unavailable (unknown peer, unreachable,
  // cancelled, stopped), DeadlineExceeded after `timeout`, FailedPrecondition for a refused
  // identity (cluster ID mismatch, removed member), ResourceExhausted for a response over
  // max_lease_response_bytes. Stop() and RemovePeer() return after the `done` of every call
  // they cancelled ran; neither may be called from a `done`.
  void RenewLease(raft::MemberId to, int64_t id, std::chrono::milliseconds timeout,
                  std::function<void(Result<int64_t> ttl_seconds)> done);
  void LeaseTimeToLive(raft::MemberId to, int64_t id, bool keys, std::chrono::milliseconds timeout,
                       std::function<void(Result<LeaseTtl>)> done);
  // Asks peer `to` (the leader) through its on_promote_check; same rules as the lease calls.
  void PromoteCheck(raft::MemberId to, uint64_t member, std::chrono::milliseconds timeout,
                    std::function<void(Status)> done);

 private:
  Transport(TransportOptions options, TransportCallbacks callbacks, PeerCredentials creds);
  Status Listen();
  Result<std::vector<PeerUrl>> ParsePeerUrls(const std::vector<std::string>& urls) const;
  bool IsRemoved(raft::MemberId id) const;
  // The lease call channel of `id`; nullptr for an unknown peer or once stopped.
  std::shared_ptr<PeerCalls> CallsOf(raft::MemberId id) const;

  struct Peer {
    std::shared_ptr<PeerSender> sender;  // shared: Send() writes outside mu_
    std::shared_ptr<PeerCalls> calls;    // shared: a call starts outside mu_
  };

  const TransportOptions options_;
  const TransportCallbacks callbacks_;
  const PeerCredentials creds_;
  // Where the lease calls of every peer complete; outlives the peers' PeerCalls.
  std::unique_ptr<CallCompletions> completions_;
  std::unique_ptr<PeerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeerListener> listener_;  // the http:// listen URLs
  std::vector<std::string> bound_urls_;

  mutable std::mutex mu_;
  bool stopped_ = false;                                         // GUARDED_BY(mu_)
  std::map<raft::MemberId, Peer> peers_;  // GUARDED_BY(mu_)
  std::set<raft::MemberId> removed_;                             // GUARDED_BY(mu_)
};

}  // namespace grid::transport
