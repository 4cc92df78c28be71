// ElectionService: the v3electionpb.Election gRPC service (etcd's
// etcdserver/api/v3election), a thin server over the client concurrency Election. It is
// hosted by a gridkv server and talks to that same server through a Client on the server's
// own client URL.
//
// Campaign blocks until leadership; a cancelled or expired call stops waiting and deletes
// its candidate key, like etcd. Observe streams until the caller cancels.
//
// Thread-safety: thread-safe (sync gRPC handlers run concurrently).
#pragma once

#include <memory>

#include <grpcpp/channel.h>

#include "client/client.h"
#include "etcd/v3election.grpc.pb.h"

namespace grid::client::services {

// etcd's ErrMissingLeaderKey text.
inline constexpr char kMissingLeaderKeyMessage[] = "\"leader\" field must be provided";

class ElectionService final : public v3electionpb::Election::Service {
 public:
  // `channel` points at the KV/Lease/Watch API this service elects against.
  explicit ElectionService(std::shared_ptr<grpc::Channel> channel,
                           const ClientOptions& options = {});
  // REQUIRES: `client` outlives the service.
  explicit ElectionService(Client* client);

  grpc::Status Campaign(grpc::ServerContext* context,
                        const v3electionpb::CampaignRequest* request,
                        v3electionpb::CampaignResponse* response) override;
  grpc::Status Proclaim(grpc::ServerContext* context,
                        const v3electionpb::ProclaimRequest* request,
                        v3electionpb::ProclaimResponse* response) override;
  grpc::Status Leader(grpc::ServerContext* context, const v3electionpb::LeaderRequest* request,
                      v3electionpb::LeaderResponse* response) override;
  grpc::Status Observe(grpc::ServerContext* context, const v3electionpb::LeaderRequest* request,
                       grpc::ServerWriter<v3electionpb::LeaderResponse>* writer) override;
  grpc::Status Resign(grpc::ServerContext* context, const v3electionpb::ResignRequest* request,
                      v3electionpb::ResignResponse* response) override;

 private:
  std::unique_ptr<Client> owned_client_;
  Client* client_;
};

}  // namespace grid::client::services
