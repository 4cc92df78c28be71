// etcd's Lease service (etcdserverpb.Lease) on the gRPC callback API.
//
//   LeaseGrant      picks a random positive id when the client gave 0, proposes lease_grant,
//                   answers when it is applied.
//   LeaseRevoke     proposes lease_revoke (its keys go in one revision), answers when applied.
//   LeaseKeepAlive  bidi stream; each request renews locally and is answered in order with
//                   {header, id, ttl}; a missing lease answers ttl 0 (not an error, as etcd).
//   LeaseTimeToLive after a read barrier; a missing lease answers ttl -1 (not an error).
//   LeaseLeases     the ids of every lease.
//
// Thread-safety: all methods run on gRPC threads and are thread-safe. The lessor, proposer,
// member identity and the service must outlive the grpc::Server the service is registered on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "etcd/rpc.grpc.pb.h"
#include "kv/lease/lessor.h"
#include "kv/server/member.h"
#include "kv/server/proposer.h"

namespace grid::kv::api {

struct LeaseServiceOptions {
  // Keepalive responses waiting to be written on one stream; the stream stops reading
  // requests while this many are queued.
  size_t max_keepalive_responses_queued = 16;
};

class LeaseService final : public etcdserverpb::Lease::CallbackService {
 public:
  // `current_revision` gives the store revision for response headers; it must be callable
  // from any thread.
  LeaseService(lease::Lessor& lessor, Proposer& proposer, const MemberIdentity& member,
               std::function<int64_t()> current_revision, LeaseServiceOptions options = {});

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

  int64_t NewLeaseId();
  void FillHeader(etcdserverpb::ResponseHeader* header, int64_t revision = 0) const;
  // One keepalive: header filled before the renew (as etcd), ttl 0 for a missing lease.
  etcdserverpb::LeaseKeepAliveResponse KeepAlive(const etcdserverpb::LeaseKeepAliveRequest& request);

  lease::Lessor& lessor_;
  Proposer& proposer_;
  const MemberIdentity& member_;
  const std::function<int64_t()> current_revision_;
  const LeaseServiceOptions options_;

  std::mutex id_mu_;
  std::mt19937_64 id_random_;
};

}  // namespace grid::kv::api
