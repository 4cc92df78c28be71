// The peer transport of one member: sends raft::Messages to the other members over gRPC and
// receives theirs. It runs its own gRPC server on the listen URLs (peers and clients use
// different ports, as in etcd). See README.md for threads and invariants.
//
//   auto t = Transport::Start(options, callbacks);
//   t.value()->AddPeer(MemberId(2), {"http://10.0.0.2:2380"});
//   t.value()->Send(ready.messages);
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/server.h>

#include "common/status.h"
#include "raft/types.h"
#include "transport/options.h"
#include "transport/peer_sender.h"
#include "transport/tls.h"

namespace grid::transport {

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

  // Queues each message for its recipient and returns without waiting for the network.
  // REQUIRES: every message is a wire type (IsPeerMessageType) from this member.
  // Messages for unknown peers are dropped (logged). A message that does not fit its peer's
  // queue, or exceeds max_message_bytes, is dropped and on_unreachable(peer) is called; a kSnap
  // that cannot start (one is already in flight to that peer) gets on_snapshot_status(peer,
  // false). Those callbacks run on this thread after Send() released its locks.
  void Send(std::vector<raft::Message> msgs);

  // Counters of one peer; NotFound for an unknown peer.
  Result<PeerStats> Stats(raft::MemberId id) const;

 private:
  Transport(TransportOptions options, TransportCallbacks callbacks, PeerCredentials creds);
  Status Listen();
  Result<std::vector<PeerUrl>> ParsePeerUrls(const std::vector<std::string>& urls) const;
  bool IsRemoved(raft::MemberId id) const;

  const TransportOptions options_;
  const TransportCallbacks callbacks_;
  const PeerCredentials creds_;
  std::unique_ptr<PeerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> bound_urls_;

  mutable std::mutex mu_;
  bool stopped_ = false;                                         // GUARDED_BY(mu_)
  std::map<raft::MemberId, std::unique_ptr<PeerSender>> peers_;  // GUARDED_BY(mu_)
  std::set<raft::MemberId> removed_;                             // GUARDED_BY(mu_)
};

}  // namespace grid::transport
