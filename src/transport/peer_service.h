// The receiving side: the gRPC Peer service. Checks every call's identity (metadata), decodes
// batches and hands them to on_messages, writes snapshots to verified files, answers lease
// calls through on_lease_renew / on_lease_time_to_live.
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "grid/peer.grpc.pb.h"
#include "raft/types.h"
#include "transport/metadata.h"
#include "transport/options.h"

namespace grid::transport {

// Stream uses gRPC's callback API: a batch is decoded and handed to on_messages on the thread
// that read it from the connection, without a hand-off to a per-call thread.
class PeerService final : public peerpb::Peer::WithCallbackMethod_Stream<peerpb::Peer::Service> {
 public:
  // `is_removed(id)` tells whether the owner removed member `id`; it is asked for every batch.
  PeerService(const TransportOptions* options, const TransportCallbacks* callbacks,
              std::function<bool(raft::MemberId)> is_removed);

  grpc::ServerBidiReactor<peerpb::MessageBatch, peerpb::StreamAccepted>* Stream(
      grpc::CallbackServerContext* ctx) override;
  grpc::Status ClusterInfo(grpc::ServerContext* ctx, const peerpb::ClusterInfoRequest* request,
                           peerpb::ClusterInfoResponse* response) override;
  grpc::Status SendSnapshot(grpc::ServerContext* ctx,
                            grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                            peerpb::SnapshotReceived* response) override;
  grpc::Status LeaseRenew(grpc::ServerContext* ctx, const peerpb::LeaseRenewRequest* request,
                          peerpb::LeaseRenewResponse* response) override;
  grpc::Status LeaseTimeToLive(grpc::ServerContext* ctx,
                               const peerpb::LeaseTimeToLiveRequest* request,
                               peerpb::LeaseTimeToLiveResponse* response) override;
  // The message stream's side of Stream (peer_listener.h): the identity check of a new stream,
  // and one batch: decoded, checked and handed to on_messages. A non-OK Status ends the stream.
  Status AdmitStream(const CallHeader& h) const;
  Status DeliverBatch(raft::MemberId from, const peerpb::MessageBatch& batch) const;

  grpc::Status PromoteCheck(grpc::ServerContext* ctx, const peerpb::PromoteCheckRequest* request,
                            peerpb::PromoteCheckResponse* response) override;

 private:
  class StreamReactor;

  // The caller's identity after CheckCallHeader; FailedPrecondition / InvalidArgument otherwise.
  Result<raft::MemberId> Admit(const grpc::ServerContextBase& ctx) const;
  // Decodes `in` and checks that it is a peer message from `from` to this member.
  Status DecodeFrom(const peerpb::Message& in, raft::MemberId from, raft::Message* out) const;
  Status ReceiveSnapshot(grpc::ServerReader<peerpb::SnapshotChunk>* reader, raft::MemberId from);

  const TransportOptions* const options_;
  const TransportCallbacks* const callbacks_;
  // Logs a refusal at warning level the first time it is seen (a refused sender retries).
  void LogRefusal(const std::string& text) const;

  const std::function<bool(raft::MemberId)> is_removed_;
  mutable std::mutex log_mu_;
  mutable std::set<std::string> logged_refusals_;  // GUARDED_BY(log_mu_)
};

}  // namespace grid::transport
