// etcdserverpb.Cluster for a single member: MemberList describes this member; membership
// changes are refused until replication exists. Thread-safe; no thread of its own.
#pragma once

#include <string>
#include <vector>

#include "etcd/rpc.grpc.pb.h"
#include "kv/api/server_context.h"

namespace grid::kv {

class ClusterService final : public etcdserverpb::Cluster::CallbackService {
 public:
  ClusterService(const ServerContext* ctx, std::vector<std::string> peer_urls,
                 std::vector<std::string> client_urls)
      : ctx_(ctx), peer_urls_(std::move(peer_urls)), client_urls_(std::move(client_urls)) {}

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
  grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* context);

  const ServerContext* const ctx_;
  const std::vector<std::string> peer_urls_;
  const std::vector<std::string> client_urls_;
};

}  // namespace grid::kv
