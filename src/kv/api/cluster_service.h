// etcdserverpb.Cluster: membership as replicated state. Changes go through the log and are
// answered once applied; MemberList reads the applied table. Thread-safe; no thread of its own.
#pragma once

#include <string>

#include "etcd/rpc.grpc.pb.h"
#include "kv/api/server_context.h"
#include "kv/server/members.h"

namespace grid::kv {

class ClusterService final : public etcdserverpb::Cluster::CallbackService {
 public:
  // `cluster_token` seeds the ids of added members (etcd's --initial-cluster-token).
  ClusterService(const ServerContext* ctx, const MemberTable* members, std::string cluster_token)
      : ctx_(ctx), members_(members), cluster_token_(std::move(cluster_token)) {}

  grpc::ServerUnaryReactor* MemberList(grpc::CallbackServerContext* context,
                                       const etcdserverpb::MemberListRequest* request,
                                       etcdserverpb::MemberListResponse* response) override;
  grpc::ServerUnaryReactor* MemberAdd(grpc::CallbackServerContext* context,
                                      const etcdserverpb::MemberAddRequest* request,
                                      etcdserverpb::MemberAddResponse* response) override;
  grpc::ServerUnaryReactor* MemberRemove(grpc::CallbackServerContext* context,
                                         const etcdserverpb::MemberRemoveRequest* request,
                                         etcdserverpb::MemberRemoveResponse* response) override;
  grpc::ServerUnaryReactor* MemberUpdate(grpc::CallbackServerContext* context,
                                         const etcdserverpb::MemberUpdateRequest* request,
                                         etcdserverpb::MemberUpdateResponse* response) override;
  grpc::ServerUnaryReactor* MemberPromote(grpc::CallbackServerContext* context,
                                          const etcdserverpb::MemberPromoteRequest* request,
                                          etcdserverpb::MemberPromoteResponse* response) override;

 private:
  // Proposes `change`; on success fills header, members (and the changed member through
  // `set_member`, when given) of `response`.
  template <typename Response, typename SetMember>
  void ProposeChange(kvpb::MemberChange change, grpc::ServerUnaryReactor* reactor,
                     Response* response, SetMember set_member);
  // Runs ctx_->check_reconfig; on refusal finishes `reactor` with it and returns false.
  bool CheckReconfig(const kvpb::MemberChange& change, grpc::ServerUnaryReactor* reactor) const;

  const ServerContext* const ctx_;
  const MemberTable* const members_;
  const std::string cluster_token_;
};

}  // namespace grid::kv
