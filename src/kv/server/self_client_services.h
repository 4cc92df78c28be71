// Lock and Election are served, as in etcd, by a client of this same member. That client can
// only exist once the gRPC server runs, but services must be registered before it starts:
// these stand-ins are registered first and forward to the real services once Bind() is
// called. Before Bind() they answer UNAVAILABLE. Thread-safe.
#pragma once

#include <atomic>
#include <memory>

#include "client/services/election_service.h"
#include "client/services/lock_service.h"

namespace grid::kv {

class SelfLockService final : public v3lockpb::Lock::Service {
 public:
  // REQUIRES: called once.
  void Bind(std::unique_ptr<client::services::LockService> impl) {
    owned_ = std::move(impl);
    impl_.store(owned_.get(), std::memory_order_release);
  }
  grpc::Status Lock(grpc::ServerContext* c, const v3lockpb::LockRequest* req,
                    v3lockpb::LockResponse* resp) override {
    auto* impl = impl_.load(std::memory_order_acquire);
    return impl ? impl->Lock(c, req, resp) : NotReady();
  }
  grpc::Status Unlock(grpc::ServerContext* c, const v3lockpb::UnlockRequest* req,
                      v3lockpb::UnlockResponse* resp) override {
    auto* impl = impl_.load(std::memory_order_acquire);
    return impl ? impl->Unlock(c, req, resp) : NotReady();
  }

  static grpc::Status NotReady() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: server is not ready yet");
  }

 private:
  std::unique_ptr<client::services::LockService> owned_;
  std::atomic<client::services::LockService*> impl_{nullptr};
};

class SelfElectionService final : public v3electionpb::Election::Service {
 public:
  // REQUIRES: called once.
  void Bind(std::unique_ptr<client::services::ElectionService> impl) {
    owned_ = std::move(impl);
    impl_.store(owned_.get(), std::memory_order_release);
  }
  grpc::Status Campaign(grpc::ServerContext* c, const v3electionpb::CampaignRequest* req,
                        v3electionpb::CampaignResponse* resp) override {
    auto* impl = impl_.load(std::memory_order_acquire);
    return impl ? impl->Campaign(c, req, resp) : SelfLockService::NotReady();
  }
  grpc::Status Proclaim(grpc::ServerContext* c, const v3electionpb::ProclaimRequest* req,
                        v3electionpb::ProclaimResponse* resp) override {
    auto* impl = impl_.load(std::memory_order_acquire);
    return impl ? impl->Proclaim(c, req, resp) : SelfLockService::NotReady();
  }
  grpc::Status Leader(grpc::ServerContext* c, const v3electionpb::LeaderRequest* req,
                      v3electionpb::LeaderResponse* resp) override {
    auto* impl = impl_.load(std::memory_order_acquire);
    return impl ? impl->Leader(c, req, resp) : SelfLockService::NotReady();
  }
  grpc::Status Observe(grpc::ServerContext* c, const v3electionpb::LeaderRequest* req,
                       grpc::ServerWriter<v3electionpb::LeaderResponse>* writer) override {
    auto* impl = impl_.load(std::memory_order_acquire);
    return impl ? impl->Observe(c, req, writer) : SelfLockService::NotReady();
  }
  grpc::Status Resign(grpc::ServerContext* c, const v3electionpb::ResignRequest* req,
                      v3electionpb::ResignResponse* resp) override {
    auto* impl = impl_.load(std::memory_order_acquire);
    return impl ? impl->Resign(c, req, resp) : SelfLockService::NotReady();
  }

 private:
  std::unique_ptr<client::services::ElectionService> owned_;
  std::atomic<client::services::ElectionService*> impl_{nullptr};
};

}  // namespace grid::kv
