// LockService: the v3lockpb.Lock gRPC service (etcd's etcdserver/api/v3lock), a thin server
// over the client concurrency Mutex. It is hosted by a gridkv server and talks to that same
// server through a Client on the server's own client URL.
//
// Lock blocks until the lock is held; a cancelled or expired call stops waiting and deletes
// its waiting key, like etcd.
//
// Thread-safety: thread-safe (sync gRPC handlers run concurrently).
#pragma once

#include <memory>

#include <grpcpp/channel.h>

#include "client/client.h"
#include "etcd/v3lock.grpc.pb.h"

namespace grid::client::services {

class LockService final : public v3lockpb::Lock::Service {
 public:
  // `channel` points at the KV/Lease/Watch API this service locks against.
  explicit LockService(std::shared_ptr<grpc::Channel> channel,
                       const ClientOptions& options = {});
  // REQUIRES: `client` outlives the service.
  explicit LockService(Client* client);

  grpc::Status Lock(grpc::ServerContext* context, const v3lockpb::LockRequest* request,
                    v3lockpb::LockResponse* response) override;
  grpc::Status Unlock(grpc::ServerContext* context, const v3lockpb::UnlockRequest* request,
                      v3lockpb::UnlockResponse* response) override;

 private:
  std::unique_ptr<Client> owned_client_;
  Client* client_;
};

}  // namespace grid::client::services
