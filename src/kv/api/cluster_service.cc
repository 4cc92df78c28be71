#include "kv/api/cluster_service.h"

namespace grid::kv {

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest*,
                                                     etcdserverpb::MemberListResponse* response) {
  auto* reactor = context->DefaultReactor();
  // etcd leaves the revision out of membership responses.
  ctx_->member->FillHeader(response->mutable_header(), 0);
  etcdserverpb::Member* m = response->add_members();
  m->set_id(ctx_->member->member_id);
  m->set_name(ctx_->member->name);
  for (const auto& u : peer_urls_) m->add_peerurls(u);
  for (const auto& u : client_urls_) m->add_clienturls(u);
  m->set_islearner(false);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::Refuse(grpc::CallbackServerContext* context) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                               "gridkv: membership changes need a replicated cluster; this "
                               "member runs alone"));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberAdd(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::MemberAddRequest*,
                                                    etcdserverpb::MemberAddResponse*) {
  return Refuse(context);
}
grpc::ServerUnaryReactor* ClusterService::MemberRemove(grpc::CallbackServerContext* context,
                                                       const etcdserverpb::MemberRemoveRequest*,
                                                       etcdserverpb::MemberRemoveResponse*) {
  return Refuse(context);
}
grpc::ServerUnaryReactor* ClusterService::MemberUpdate(grpc::CallbackServerContext* context,
                                                       const etcdserverpb::MemberUpdateRequest*,
                                                       etcdserverpb::MemberUpdateResponse*) {
  return Refuse(context);
}
grpc::ServerUnaryReactor* ClusterService::MemberPromote(grpc::CallbackServerContext* context,
                                                        const etcdserverpb::MemberPromoteRequest*,
                                                        etcdserverpb::MemberPromoteResponse*) {
  return Refuse(context);
}

}  // namespace grid::kv
