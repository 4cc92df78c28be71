#include "kv/api/lease_service.h"

#include "common/grpc_status.h"
#include "kv/server/errors.h"

#include <deque>
#include <optional>
#include <utility>

namespace grid::kv::api {

LeaseService::LeaseService(lease::Lessor& lessor, Proposer& proposer,
                           const MemberIdentity& member,
                           std::function<int64_t()> current_revision, LeaseServiceOptions options,
                           LeaseForwarder* forwarder)
    : lessor_(lessor),
      proposer_(proposer),
      member_(member),
      current_revision_(std::move(current_revision)),
      options_(options),
      forwarder_(forwarder),
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
  if (IsLearner()) {
    reactor->Finish(ToGrpc(ErrNotSupportedForLearner()));
    return reactor;
  }
  if (forwarder_ != nullptr && !forwarder_->IsLeader()) {
    forwarder_->TimeToLive(request->id(), request->keys(),
                           [this, reactor, request, response](Result<lease::TimeToLiveResult> ttl) {
                             FinishTimeToLive(reactor, *request, std::move(ttl), response);
                           });
    return reactor;
  }
  proposer_.ReadBarrier([this, reactor, request, response](const Status& status) {
    if (!status.ok()) return reactor->Finish(ToGrpc(status));
    FinishTimeToLive(reactor, *request, lessor_.TimeToLive(request->id(), request->keys()),
                     response);
  });
  return reactor;
}

void LeaseService::FinishTimeToLive(grpc::ServerUnaryReactor* reactor,
                                    const etcdserverpb::LeaseTimeToLiveRequest& request,
                                    Result<lease::TimeToLiveResult> ttl,
                                    etcdserverpb::LeaseTimeToLiveResponse* response) {
  response->set_id(request.id());
  if (!ttl.ok()) {
    if (ttl.status().code() != Code::kNotFound) return reactor->Finish(ToGrpc(ttl.status()));
    response->set_ttl(-1);  // etcd answers a missing lease with TTL -1, not an error
  } else {
    response->set_ttl(ttl->remaining_ttl_seconds);
    response->set_grantedttl(ttl->granted_ttl_seconds);
    for (std::string& key : ttl->keys) response->add_keys(std::move(key));
  }
  FillHeader(response->mutable_header());
  reactor->Finish(grpc::Status::OK);
}

grpc::ServerUnaryReactor* LeaseService::LeaseLeases(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseLeasesRequest*,
                                                    etcdserverpb::LeaseLeasesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (IsLearner()) {
    reactor->Finish(ToGrpc(ErrNotSupportedForLearner()));
    return reactor;
  }
  for (int64_t id : lessor_.Leases()) response->add_leases()->set_id(id);
  FillHeader(response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

int64_t LeaseService::RenewLocally(int64_t id) {
  Result<int64_t> ttl = lessor_.Renew(id);
  return ttl.ok() ? *ttl : 0;  // a missing lease answers TTL 0, not an error
}

// Reads requests and writes their responses in request order. Each request takes a slot in
// `queue_` when read; a local renewal fills it at once, a forwarded one when the leader
// answers. At most one read and one write are outstanding, and at most
// max_keepalive_responses_queued slots (reading pauses at the limit). A forwarded renewal that
// fails ends the stream with its error once the slots before it are written; nothing is read
// after it.
//
// Lifetime: `refs_` counts forwarded answers still to come and threads starting operations;
// the reactor is deleted when gRPC is done with it (OnDone) and `refs_` is 0, by whichever of
// them comes last. No operation is started after Finish: a finish is decided only when no
// write is flagged and no read is flagged but not yet started.
class LeaseService::KeepAliveReactor final
    : public grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                                     etcdserverpb::LeaseKeepAliveResponse> {
 public:
  explicit KeepAliveReactor(LeaseService& service)
      : service_(service), max_queued_(service.options_.max_keepalive_responses_queued) {
    Next next;
    {
      std::lock_guard lock(mu_);
      reading_ = true;
      next.read = true;
      next.read_seq = ++read_seq_;
      ++refs_;
    }
    Run(next);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed, or the call ended
      Next next;
      {
        std::lock_guard lock(mu_);
        reading_ = false;
        read_started_ = false;
        read_done_ = true;
        next = NextLocked();
      }
      return Run(next);
    }
    const int64_t id = request_.id();
    etcdserverpb::LeaseKeepAliveResponse response;
    response.set_id(id);
    // Header before the renew: its revision is never newer than the keepalive (as etcd).
    service_.FillHeader(response.mutable_header());
    LeaseForwarder* forwarder = service_.forwarder_;
    const bool local = forwarder == nullptr || forwarder->IsLeader();
    if (local) response.set_ttl(service_.RenewLocally(id));
    Slot* slot = nullptr;
    {
      std::lock_guard lock(mu_);
      read_started_ = false;
      if (!finished_ && !failed_ && !broken_) {
        queue_.push_back(Slot{std::move(response), local, std::nullopt});
        if (!local) {
          slot = &queue_.back();  // deque: stays valid while later slots are added
          ++refs_;                // held by the forwarded answer
        }
      }
    }
    // reading_ stays set while forwarding: no new read yet, and no finish decided, so that a
    // forwarded answer arriving on this thread cannot end the call under us.
    if (slot != nullptr) {
      forwarder->Renew(id, [this, slot](Result<int64_t> ttl) { OnRenewed(slot, std::move(ttl)); });
    }
    Next next;
    {
      std::lock_guard lock(mu_);
      reading_ = false;
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

  void OnCancel() override {
    Next next;
    {
      std::lock_guard lock(mu_);
      broken_ = true;
      next = NextLocked();
    }
    Run(next);
  }

  void OnDone() override {
    bool last;
    {
      std::lock_guard lock(mu_);
      done_ = true;
      last = refs_ == 0;
    }
    if (last) delete this;
  }

 private:
  struct Slot {
    etcdserverpb::LeaseKeepAliveResponse response;
    bool ready = false;
    std::optional<grpc::Status> error;  // the forwarded renewal failed: end the stream
  };

  // Operations to start, decided under mu_; a non-empty Next holds a reference.
  struct Next {
    const etcdserverpb::LeaseKeepAliveResponse* write = nullptr;
    bool read = false;
    uint64_t read_seq = 0;
    bool finish = false;
    grpc::Status status;
    bool empty() const { return write == nullptr && !read && !finish; }
  };

  void OnRenewed(Slot* slot, Result<int64_t> ttl) {
    Next next;
    {
      std::lock_guard lock(mu_);
      if (ttl.ok()) {
        slot->response.set_ttl(*ttl);
      } else if (ttl.status().code() == Code::kNotFound) {
        slot->response.set_ttl(0);  // a missing lease answers TTL 0, not an error
      } else {
        slot->error = ToGrpc(ttl.status());
        failed_ = true;
      }
      slot->ready = true;
      next = NextLocked();
    }
    Run(next);
    Release();
  }

  Next NextLocked() {
    Next next;
    if (finished_) return next;
    if (broken_) {
      if (!reading_ && !writing_) {
        finished_ = true;
        next.finish = true;
        next.status = grpc::Status(grpc::StatusCode::CANCELLED, "keepalive stream broken");
      }
    } else {
      if (!writing_ && !queue_.empty() && queue_.front().ready) {
        if (!queue_.front().error.has_value()) {
          writing_ = true;
          next.write = &queue_.front().response;
        } else if (!reading_ || read_started_) {
          finished_ = true;
          next.finish = true;
          next.status = *queue_.front().error;
        }
      }
      if (!next.finish && !reading_ && !read_done_ && !failed_ &&
          queue_.size() < max_queued_) {
        reading_ = true;
        next.read = true;
        next.read_seq = ++read_seq_;
      }
      if (!next.finish && read_done_ && !reading_ && !writing_ && queue_.empty()) {
        finished_ = true;
        next.finish = true;
        next.status = grpc::Status::OK;
      }
    }
    if (!next.empty()) ++refs_;
    return next;
  }

  // Outside mu_: a reaction may start on another thread as soon as an operation is started.
  void Run(Next next) {
    while (!next.empty()) {
      if (next.write != nullptr) StartWrite(next.write);
      if (next.finish) Finish(next.status);
      Next more;
      if (next.read) {
        StartRead(&request_);
        std::lock_guard lock(mu_);
        if (reading_ && read_seq_ == next.read_seq) read_started_ = true;
        more = NextLocked();  // a failure may have waited for this read to start
      }
      Release();  // `more` holds its own reference when it is not empty
      next = more;
    }
  }

  void Release() {
    bool last;
    {
      std::lock_guard lock(mu_);
      --refs_;
      last = done_ && refs_ == 0;
    }
    if (last) delete this;
  }

  LeaseService& service_;  // not used once finished: late forwarded answers may outlive it
  const size_t max_queued_;
  etcdserverpb::LeaseKeepAliveRequest request_;  // owned by the outstanding read

  std::mutex mu_;
  std::deque<Slot> queue_;  // request order; front: next to write (or being written)
  bool reading_ = false;    // a read is flagged (started, or about to be)
  bool read_started_ = false;  // ... and StartRead returned
  uint64_t read_seq_ = 0;
  bool writing_ = false;
  bool read_done_ = false;
  bool failed_ = false;  // a forwarded renewal failed
  bool broken_ = false;  // a write failed or the call was cancelled
  bool finished_ = false;
  bool done_ = false;    // OnDone ran
  int refs_ = 0;
};

// A keepalive stream opened on a learner: ends at once with etcd's learner error (etcd refuses
// every stream on a learner).
class LeaseService::RefusedKeepAlive final
    : public grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                                     etcdserverpb::LeaseKeepAliveResponse> {
 public:
  RefusedKeepAlive() { Finish(ToGrpc(ErrNotSupportedForLearner())); }
  void OnDone() override { delete this; }
};

grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                        etcdserverpb::LeaseKeepAliveResponse>*
LeaseService::LeaseKeepAlive(grpc::CallbackServerContext*) {
  if (IsLearner()) return new RefusedKeepAlive();
  return new KeepAliveReactor(*this);
}

}  // namespace grid::kv::api
