#include "mas/standby/cluster_ops.h"

#include <grpcpp/client_context.h>

#include "client/client.h"
#include "common/grpc_status.h"
#include "etcd/rpc.grpc.pb.h"
#include "mas/kvcluster/cluster_api.h"
#include "mas/mirror/plan.h"

namespace grid::mas::standby {
namespace {

Result<std::unique_ptr<client::Client>> Connect(const std::vector<std::string>& endpoints,
                                                std::chrono::milliseconds timeout) {
  if (endpoints.empty()) return Unavailable("the cluster has no member endpoints");
  client::ClientOptions options;
  options.dial_timeout = timeout;
  options.call_timeout = timeout;
  return client::Client::Connect(endpoints, options);
}

}  // namespace

Result<int64_t> GrpcClusterOps::Revision(const std::vector<std::string>& endpoints) {
  GRID_ASSIGN_OR_RETURN(auto c, Connect(endpoints, timeout_));
  client::GetOptions g;
  g.count_only = true;
  GRID_ASSIGN_OR_RETURN(auto resp, c->Get("/", g));
  return resp.header().revision();
}

Status GrpcClusterOps::RaiseNoSpace(const std::vector<std::string>& endpoints) {
  GRID_ASSIGN_OR_RETURN(auto c, Connect(endpoints, timeout_));
  GRID_ASSIGN_OR_RETURN(auto members, c->MemberList());
  auto stub = etcdserverpb::Maintenance::NewStub(c->channel());
  for (const auto& m : members.members()) {
    etcdserverpb::AlarmRequest req;
    req.set_action(etcdserverpb::AlarmRequest::ACTIVATE);
    req.set_memberid(m.id());
    req.set_alarm(etcdserverpb::NOSPACE);
    etcdserverpb::AlarmResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    GRID_RETURN_IF_ERROR(FromGrpc(stub->Alarm(&ctx, req, &resp)));
  }
  return Status::Ok();
}

Status GrpcClusterOps::DisarmNoSpace(const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) return Unavailable("the cluster has no member endpoints");
  kvcluster::GrpcClusterApi api(endpoints, timeout_);
  GRID_ASSIGN_OR_RETURN(auto alarms, api.AlarmList());
  for (const kvcluster::AlarmInfo& a : alarms) {
    if (a.type != kvcluster::AlarmType::kNoSpace) continue;
    GRID_RETURN_IF_ERROR(api.AlarmDisarm(a));
  }
  return Status::Ok();
}

Result<int64_t> GrpcClusterOps::ProgressRevision(const std::vector<std::string>& endpoints,
                                                 const std::string& key) {
  GRID_ASSIGN_OR_RETURN(auto c, Connect(endpoints, timeout_));
  GRID_ASSIGN_OR_RETURN(auto resp, c->Get(key));
  if (resp.kvs_size() == 0) return NotFound("no mirror progress record " + key);
  GRID_ASSIGN_OR_RETURN(mirror::Progress p, mirror::DecodeProgress(resp.kvs(0).value()));
  if (p.copying) return FailedPrecondition("the mirror's full copy was interrupted (" + key + ")");
  return p.revision;
}

}  // namespace grid::mas::standby
