#include "kv/api/lease_service.h"

#include "common/grpc_status.h"

#include <deque>
#include <utility>

namespace grid::kv::api {

LeaseService::LeaseService(lease::Lessor& lessor, Proposer& proposer,
                           const MemberIdentity& member,
                           std::function<int64_t()> current_revision, LeaseServiceOptions options)
    : lessor_(lessor),
      proposer_(proposer),
      member_(member),
      current_revision_(std::move(current_revision)),
      options_(options),
      id_random_(std::random_device{}()) {
  GRID_CHECK(options_.max_keepalive_responses_queued > 0);
}

int64_t LeaseService::NewLeaseId() {
  std::lock_guard lock(id_mu_);
  int64_t id = 0;
  while (id == 0) id = static_cast<int64_t>(id_random_() & ((uint64_t{1} << 63) - 1));
  return id;
}

void LeaseService::FillHeader(etcdserverpb::ResponseHeader* header, int64_t revision) const {
  member_.FillHeader(header, revision != 0 ? revision : current_revision_());
}

grpc::ServerUnaryReactor* LeaseService::LeaseGrant(grpc::CallbackServerContext* context,
                                                   const etcdserverpb::LeaseGrantRequest* request,
                                                   etcdserverpb::LeaseGrantResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  kvpb::InternalRequest internal;
  *internal.mutable_lease_grant() = *request;
  if (internal.lease_grant().id() == 0) internal.mutable_lease_grant()->set_id(NewLeaseId());
  proposer_.Propose(std::move(internal),
                    [this, reactor, response](const Status& status, kvpb::InternalResponse out) {
                      if (!status.ok()) return reactor->Finish(ToGrpc(status));
                      *response = std::move(*out.mutable_lease_grant());
                      FillHeader(response->mutable_header());
                      reactor->Finish(grpc::Status::OK);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseRevoke(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseRevokeRequest* request,
                                                    etcdserverpb::LeaseRevokeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  kvpb::InternalRequest internal;
  *internal.mutable_lease_revoke() = *request;
  proposer_.Propose(std::move(internal),
                    [this, reactor, response](const Status& status, kvpb::InternalResponse out) {
                      if (!status.ok()) return reactor->Finish(ToGrpc(status));
                      *response = std::move(*out.mutable_lease_revoke());
                      // The applier sets the revision the revoke produced.
                      FillHeader(response->mutable_header(), response->header().revision());
                      reactor->Finish(grpc::Status::OK);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseTimeToLive(
    grpc::CallbackServerContext* context, const etcdserverpb::LeaseTimeToLiveRequest* request,
    etcdserverpb::LeaseTimeToLiveResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  proposer_.ReadBarrier([this, reactor, request, response](const Status& status) {
    if (!status.ok()) return reactor->Finish(ToGrpc(status));
    response->set_id(request->id());
    Result<lease::TimeToLiveResult> ttl = lessor_.TimeToLive(request->id(), request->keys());
    if (!ttl.ok()) {
      if (ttl.status().code() != Code::kNotFound) {
        return reactor->Finish(ToGrpc(ttl.status()));
      }
      response->set_ttl(-1);  // etcd answers a missing lease with TTL -1, not an error
    } else {
      response->set_ttl(ttl->remaining_ttl_seconds);
      response->set_grantedttl(ttl->granted_ttl_seconds);
      for (std::string& key : ttl->keys) response->add_keys(std::move(key));
    }
    FillHeader(response->mutable_header());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseLeases(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseLeasesRequest*,
                                                    etcdserverpb::LeaseLeasesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  for (int64_t id : lessor_.Leases()) response->add_leases()->set_id(id);
  FillHeader(response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

etcdserverpb::LeaseKeepAliveResponse LeaseService::KeepAlive(
    const etcdserverpb::LeaseKeepAliveRequest& request) {
  etcdserverpb::LeaseKeepAliveResponse response;
  response.set_id(request.id());
  // Header before the renew: its revision is never newer than the keepalive (as etcd).
  FillHeader(response.mutable_header());
  Result<int64_t> ttl = lessor_.Renew(request.id());
  response.set_ttl(ttl.ok() ? *ttl : 0);  // a missing lease answers TTL 0, not an error
  return response;
}

// Reads requests and writes responses in order, at most one read and one write outstanding,
// at most max_keepalive_responses_queued responses queued (reading pauses at the limit).
// Deletes itself in OnDone.
class LeaseService::KeepAliveReactor final
    : public grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                                     etcdserverpb::LeaseKeepAliveResponse> {
 public:
  explicit KeepAliveReactor(LeaseService& service) : service_(service) {
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    Next next;
    {
      std::lock_guard lock(mu_);
      reading_ = false;
      if (ok) {
        queue_.push_back(service_.KeepAlive(request_));
      } else {
        read_done_ = true;  // the client half-closed or the call ended
      }
      next = NextLocked();
    }
    Run(next);
  }

  void OnWriteDone(bool ok) override {
    Next next;
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      queue_.pop_front();
      if (!ok) broken_ = true;
      next = NextLocked();
    }
    Run(next);
  }

  void OnDone() override { delete this; }

 private:
  struct Next {
    const etcdserverpb::LeaseKeepAliveResponse* write = nullptr;
    bool read = false;
    bool finish = false;
    grpc::Status status;
  };

  Next NextLocked() {
    Next next;
    if (finished_) return next;
    if (broken_) {
      if (!reading_ && !writing_) {
        finished_ = true;
        next.finish = true;
        next.status = grpc::Status(grpc::StatusCode::CANCELLED, "keepalive stream broken");
      }
      return next;
    }
    if (!writing_ && !queue_.empty()) {
      writing_ = true;
      next.write = &queue_.front();  // deque: stays valid while later items are added
    }
    if (!reading_ && !read_done_ &&
        queue_.size() < service_.options_.max_keepalive_responses_queued) {
      reading_ = true;
      next.read = true;
    }
    if (read_done_ && !reading_ && !writing_ && queue_.empty()) {
      finished_ = true;
      next.finish = true;
      next.status = grpc::Status::OK;
    }
    return next;
  }

  // Outside mu_: a reaction may start on another thread as soon as an operation is started.
  void Run(const Next& next) {
    if (next.write != nullptr) StartWrite(next.write);
    if (next.read) StartRead(&request_);
    if (next.finish) Finish(next.status);
  }

  LeaseService& service_;
  etcdserverpb::LeaseKeepAliveRequest request_;  // owned by the outstanding read

  std::mutex mu_;
  std::deque<etcdserverpb::LeaseKeepAliveResponse> queue_;  // front: being written
  bool reading_ = false;
  bool writing_ = false;
  bool read_done_ = false;
  bool broken_ = false;
  bool finished_ = false;
};

grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                        etcdserverpb::LeaseKeepAliveResponse>*
LeaseService::LeaseKeepAlive(grpc::CallbackServerContext*) {
  return new KeepAliveReactor(*this);
}

}  // namespace grid::kv::api
