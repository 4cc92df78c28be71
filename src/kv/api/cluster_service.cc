#include "kv/api/cluster_service.h"

#include <chrono>

#include "kv/server/errors.h"

namespace grid::kv {
namespace {

// etcd's check of peer URLs given to MemberAdd/MemberUpdate.
Status ValidatePeerUrls(const google::protobuf::RepeatedPtrField<std::string>& urls) {
  if (urls.empty()) return InvalidArgument("etcdserver: given member URLs are invalid");
  for (const auto& u : urls) {
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
      return InvalidArgument("etcdserver: given member URLs are invalid");
    }
  }
  return Status::Ok();
}

}  // namespace

template <typename Response, typename SetMember>
void ClusterService::ProposeChange(kvpb::MemberChange change, grpc::ServerUnaryReactor* reactor,
                                   Response* response, SetMember set_member) {
  kvpb::InternalRequest request;
  *request.mutable_member_change() = std::move(change);
  const ServerContext* ctx = ctx_;
  ctx_->proposer->Propose(std::move(request), [ctx, reactor, response, set_member](
                                                  const Status& s, kvpb::InternalResponse r) {
    if (!s.ok()) {
      reactor->Finish(ToGrpcStatus(s));
      return;
    }
    // etcd leaves the revision out of membership responses.
    ctx->member->FillHeader(response->mutable_header(), 0);
    set_member(response, ToWireMember(r.member_change().member()));
    for (const auto& m : r.member_change().members()) *response->add_members() = ToWireMember(m);
    reactor->Finish(grpc::Status::OK);
  });
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest*,
                                                     etcdserverpb::MemberListResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  ctx_->member->FillHeader(response->mutable_header(), 0);
  for (const auto& m : members_->List()) *response->add_members() = ToWireMember(m);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

bool ClusterService::CheckReconfig(const kvpb::MemberChange& change,
                                   grpc::ServerUnaryReactor* reactor) const {
  if (!ctx_->check_reconfig) return true;
  Status s = ctx_->check_reconfig(change);
  if (s.ok()) return true;
  reactor->Finish(ToGrpcStatus(s));
  return false;
}

grpc::ServerUnaryReactor* ClusterService::MemberAdd(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::MemberAddRequest* request,
                                                    etcdserverpb::MemberAddResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  if (Status s = ValidatePeerUrls(request->peerurls()); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  kvpb::MemberChange change;
  change.set_kind(kvpb::MemberChange::ADD);
  kvpb::MemberRecord* m = change.mutable_member();
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  m->set_id(DeriveMemberId({request->peerurls().begin(), request->peerurls().end()},
                           cluster_token_, now_s));
  *m->mutable_peer_urls() = request->peerurls();
  m->set_is_learner(request->islearner());
  if (!CheckReconfig(change, reactor)) return reactor;
  ProposeChange(std::move(change), reactor, response,
                [](etcdserverpb::MemberAddResponse* r, etcdserverpb::Member m) {
                  *r->mutable_member() = std::move(m);
                });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(grpc::CallbackServerContext* context,
                                                       const etcdserverpb::MemberRemoveRequest* request,
                                                       etcdserverpb::MemberRemoveResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  kvpb::MemberChange change;
  change.set_kind(kvpb::MemberChange::REMOVE);
  change.mutable_member()->set_id(request->id());
  if (!CheckReconfig(change, reactor)) return reactor;
  ProposeChange(std::move(change), reactor, response,
                [](etcdserverpb::MemberRemoveResponse*, etcdserverpb::Member) {});
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberUpdate(grpc::CallbackServerContext* context,
                                                       const etcdserverpb::MemberUpdateRequest* request,
                                                       etcdserverpb::MemberUpdateResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  if (Status s = ValidatePeerUrls(request->peerurls()); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  kvpb::MemberChange change;
  change.set_kind(kvpb::MemberChange::UPDATE);
  change.mutable_member()->set_id(request->id());
  *change.mutable_member()->mutable_peer_urls() = request->peerurls();
  ProposeChange(std::move(change), reactor, response,
                [](etcdserverpb::MemberUpdateResponse*, etcdserverpb::Member) {});
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(grpc::CallbackServerContext* context,
                                                        const etcdserverpb::MemberPromoteRequest* request,
                                                        etcdserverpb::MemberPromoteResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  const uint64_t learner = request->id();
  auto propose = [this, reactor, response, learner](const Status& checked) {
    if (!checked.ok()) {
      reactor->Finish(ToGrpcStatus(checked));
      return;
    }
    kvpb::MemberChange change;
    change.set_kind(kvpb::MemberChange::PROMOTE);
    change.mutable_member()->set_id(learner);
    if (!CheckReconfig(change, reactor)) return;
    ProposeChange(std::move(change), reactor, response,
                  [](etcdserverpb::MemberPromoteResponse*, etcdserverpb::Member) {});
  };
  if (ctx_->check_promote) {
    ctx_->check_promote(learner, std::move(propose));
  } else {
    propose(Status::Ok());
  }
  return reactor;
}

}  // namespace grid::kv
