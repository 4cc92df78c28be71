// etcd's Lease service (etcdserverpb.Lease) on the gRPC callback API.
//
//   LeaseGrant      picks a random positive id when the client gave 0, proposes lease_grant,
//                   answers when it is applied.
//   LeaseRevoke     proposes lease_revoke (its keys go in one revision), answers when applied.
//   LeaseKeepAlive  bidi stream; each request renews the lease and is answered in order with
//                   {header, id, ttl}; a missing lease answers ttl 0 (not an error, as etcd).
//   LeaseTimeToLive a missing lease answers ttl -1 (not an error).
//   LeaseLeases     the ids of every lease.
//
// Where renewals and time-to-live reads go: without a forwarder, or when forwarder->IsLeader(),
// to the local lessor (time-to-live after a read barrier); otherwise through the forwarder to
// the leader's lessor, which alone expires leases. A forwarded keepalive that fails (no leader,
// timeout) ends its stream with that error after the answers before it were written, as etcd
// does; clients open a new stream. The decision is made per request.
//
// Thread-safety: all methods run on gRPC threads and are thread-safe. The lessor, proposer,
// member identity, forwarder and the service must outlive the grpc::Server the service is
// registered on; forwarded answers still pending when a stream ends are awaited by its reactor
// (not by the server), so the forwarder must also outlive them (LeaderForwardingLeases::Stop()
// before destroying it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "etcd/rpc.grpc.pb.h"
#include "kv/api/lease_forwarder.h"
#include "kv/lease/lessor.h"
#include "kv/server/member.h"
#include "kv/server/proposer.h"

namespace grid::kv::api {

struct LeaseServiceOptions {
  // Keepalives of one stream being renewed (forwarded to the leader) or waiting to be written;
  // the stream stops reading requests while this many are outstanding.
  size_t max_keepalive_responses_queued = 16;
  // True while this member is a learner: every Lease call is then refused with etcd's
  // "rpc not supported for learner" (grants and revokes by the proposer, the rest here).
  // Thread-safe; unset: never a learner.
  std::function<bool()> is_learner;
};

class LeaseService final : public etcdserverpb::Lease::CallbackService {
 public:
  // `current_revision` gives the store revision for response headers; it must be callable
  // from any thread. `forwarder` (optional) reaches the leader when this member does not lead.
  LeaseService(lease::Lessor& lessor, Proposer& proposer, const MemberIdentity& member,
               std::function<int64_t()> current_revision, LeaseServiceOptions options = {},
               LeaseForwarder* forwarder = nullptr);

  grpc::ServerUnaryReactor* LeaseGrant(grpc::CallbackServerContext* context,
                                       const etcdserverpb::LeaseGrantRequest* request,
                                       etcdserverpb::LeaseGrantResponse* response) override;
  grpc::ServerUnaryReactor* LeaseRevoke(grpc::CallbackServerContext* context,
                                        const etcdserverpb::LeaseRevokeRequest* request,
                                        etcdserverpb::LeaseRevokeResponse* response) override;
  grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                          etcdserverpb::LeaseKeepAliveResponse>*
  LeaseKeepAlive(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* LeaseTimeToLive(grpc::CallbackServerContext* context,
                                            const etcdserverpb::LeaseTimeToLiveRequest* request,
                                            etcdserverpb::LeaseTimeToLiveResponse* response) override;
  grpc::ServerUnaryReactor* LeaseLeases(grpc::CallbackServerContext* context,
                                        const etcdserverpb::LeaseLeasesRequest* request,
                                        etcdserverpb::LeaseLeasesResponse* response) override;

 private:
  class KeepAliveReactor;
  class RefusedKeepAlive;

  bool IsLearner() const { return options_.is_learner && options_.is_learner(); }

  int64_t NewLeaseId();
  void FillHeader(etcdserverpb::ResponseHeader* header, int64_t revision = 0) const;
  // The local lessor's renewal: the TTL, or 0 for a missing lease.
  int64_t RenewLocally(int64_t id);
  // Answers a time-to-live call with `ttl` (a missing lease is ttl -1, not an error).
  void FinishTimeToLive(grpc::ServerUnaryReactor* reactor,
                        const etcdserverpb::LeaseTimeToLiveRequest& request,
                        Result<lease::TimeToLiveResult> ttl,
                        etcdserverpb::LeaseTimeToLiveResponse* response);

  lease::Lessor& lessor_;
  Proposer& proposer_;
  const MemberIdentity& member_;
  const std::function<int64_t()> current_revision_;
  const LeaseServiceOptions options_;
  LeaseForwarder* const forwarder_;

  std::mutex id_mu_;
  std::mt19937_64 id_random_;
};

}  // namespace grid::kv::api
