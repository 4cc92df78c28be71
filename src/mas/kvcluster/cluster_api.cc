#include "mas/kvcluster/cluster_api.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "common/grpc_status.h"
#include "etcd/rpc.grpc.pb.h"

namespace grid::mas::kvcluster {
namespace {

std::string Target(const std::string& endpoint) {
  for (const char* scheme : {"http://", "https://"}) {
    const std::string s(scheme);
    if (endpoint.rfind(s, 0) == 0) return endpoint.substr(s.size());
  }
  return endpoint;
}

// Not answered at all: try the next endpoint.
bool Unreached(const Status& s) {
  return s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
}

MemberInfo FromProto(const etcdserverpb::Member& m) {
  MemberInfo info;
  info.id = m.id();
  info.name = m.name();
  info.learner = m.islearner();
  info.peer_urls.assign(m.peerurls().begin(), m.peerurls().end());
  info.client_urls.assign(m.clienturls().begin(), m.clienturls().end());
  return info;
}

}  // namespace

GrpcClusterApi::GrpcClusterApi(std::vector<std::string> endpoints,
                               std::chrono::milliseconds call_timeout)
    : endpoints_(std::move(endpoints)), call_timeout_(call_timeout) {}

std::shared_ptr<grpc::Channel> GrpcClusterApi::Channel(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& ch = channels_[Target(endpoint)];
  if (ch == nullptr) ch = grpc::CreateChannel(Target(endpoint), grpc::InsecureChannelCredentials());
  return ch;
}

Status GrpcClusterApi::OnAnyEndpoint(
    const std::function<Status(const std::shared_ptr<grpc::Channel>&, const std::string&)>& call) {
  Status last = Unavailable("no endpoints");
  for (const std::string& ep : endpoints_) {
    last = call(Channel(ep), ep);
    if (!Unreached(last)) return last;
  }
  return last;
}

#define GRID_KV_CALL(stub_type, method, req, resp, channel)                          \
  [&]() -> Status {                                                                 \
    grpc::ClientContext ctx;                                                        \
    ctx.set_deadline(std::chrono::system_clock::now() + call_timeout_);             \
    auto stub = etcdserverpb::stub_type::NewStub(channel);                          \
    return FromGrpc(stub->method(&ctx, req, &resp));                                \
  }()

Result<std::vector<MemberInfo>> GrpcClusterApi::MemberList() {
  etcdserverpb::MemberListResponse resp;
  GRID_RETURN_IF_ERROR(OnAnyEndpoint([&](const auto& ch, const std::string&) {
    return GRID_KV_CALL(Cluster, MemberList, etcdserverpb::MemberListRequest(), resp, ch);
  }));
  std::vector<MemberInfo> out;
  for (const auto& m : resp.members()) out.push_back(FromProto(m));
  return out;
}

Result<uint64_t> GrpcClusterApi::MemberAdd(const std::string& peer_url, bool is_learner) {
  etcdserverpb::MemberAddRequest req;
  req.add_peerurls(peer_url);
  req.set_islearner(is_learner);
  etcdserverpb::MemberAddResponse resp;
  GRID_RETURN_IF_ERROR(OnAnyEndpoint([&](const auto& ch, const std::string&) {
    return GRID_KV_CALL(Cluster, MemberAdd, req, resp, ch);
  }));
  return resp.member().id();
}

Status GrpcClusterApi::MemberPromote(uint64_t id) {
  etcdserverpb::MemberPromoteRequest req;
  req.set_id(id);
  etcdserverpb::MemberPromoteResponse resp;
  return OnAnyEndpoint([&](const auto& ch, const std::string&) {
    return GRID_KV_CALL(Cluster, MemberPromote, req, resp, ch);
  });
}

Status GrpcClusterApi::MemberRemove(uint64_t id) {
  etcdserverpb::MemberRemoveRequest req;
  req.set_id(id);
  etcdserverpb::MemberRemoveResponse resp;
  return OnAnyEndpoint([&](const auto& ch, const std::string&) {
    return GRID_KV_CALL(Cluster, MemberRemove, req, resp, ch);
  });
}

Status GrpcClusterApi::MoveLeader(uint64_t target_id) {
  // Find the leader's endpoint: the one whose member id is the leader id it reports.
  Status last = Unavailable("no endpoint reports itself as the leader");
  for (const std::string& ep : endpoints_) {
    auto st = GetStatus(ep);
    if (!st.ok()) {
      last = st.status();
      continue;
    }
    if (st->leader_id == 0 || st->member_id != st->leader_id) continue;
    etcdserverpb::MoveLeaderRequest req;
    req.set_targetid(target_id);
    etcdserverpb::MoveLeaderResponse resp;
    return GRID_KV_CALL(Maintenance, MoveLeader, req, resp, Channel(ep));
  }
  return last;
}

Result<EndpointStatus> GrpcClusterApi::GetStatus(const std::string& endpoint) {
  etcdserverpb::StatusResponse resp;
  GRID_RETURN_IF_ERROR(
      GRID_KV_CALL(Maintenance, Status, etcdserverpb::StatusRequest(), resp, Channel(endpoint)));
  EndpointStatus s;
  s.endpoint = endpoint;
  s.member_id = resp.header().member_id();
  s.leader_id = resp.leader();
  s.raft_index = resp.raftindex();
  s.raft_term = resp.raftterm();
  s.applied_index = resp.raftappliedindex();
  s.db_size_bytes = resp.dbsize();
  s.db_size_in_use_bytes = resp.dbsizeinuse();
  s.learner = resp.islearner();
  s.version = resp.version();
  s.errors.assign(resp.errors().begin(), resp.errors().end());
  return s;
}

Result<HashKVResult> GrpcClusterApi::HashKV(const std::string& endpoint, int64_t revision) {
  etcdserverpb::HashKVRequest req;
  req.set_revision(revision);
  etcdserverpb::HashKVResponse resp;
  GRID_RETURN_IF_ERROR(GRID_KV_CALL(Maintenance, HashKV, req, resp, Channel(endpoint)));
  return HashKVResult{resp.hash(), resp.compact_revision(), resp.header().revision()};
}

Result<std::vector<AlarmInfo>> GrpcClusterApi::AlarmList() {
  etcdserverpb::AlarmRequest req;
  req.set_action(etcdserverpb::AlarmRequest::GET);
  etcdserverpb::AlarmResponse resp;
  GRID_RETURN_IF_ERROR(OnAnyEndpoint([&](const auto& ch, const std::string&) {
    return GRID_KV_CALL(Maintenance, Alarm, req, resp, ch);
  }));
  std::vector<AlarmInfo> out;
  for (const auto& a : resp.alarms()) {
    AlarmInfo info;
    info.member_id = a.memberid();
    info.type = a.alarm() == etcdserverpb::NOSPACE   ? AlarmType::kNoSpace
                : a.alarm() == etcdserverpb::CORRUPT ? AlarmType::kCorrupt
                                                     : AlarmType::kNone;
    out.push_back(info);
  }
  return out;
}

Status GrpcClusterApi::AlarmDisarm(const AlarmInfo& alarm) {
  etcdserverpb::AlarmRequest req;
  req.set_action(etcdserverpb::AlarmRequest::DEACTIVATE);
  req.set_memberid(alarm.member_id);
  req.set_alarm(alarm.type == AlarmType::kNoSpace   ? etcdserverpb::NOSPACE
                : alarm.type == AlarmType::kCorrupt ? etcdserverpb::CORRUPT
                                                    : etcdserverpb::NONE);
  etcdserverpb::AlarmResponse resp;
  return OnAnyEndpoint([&](const auto& ch, const std::string&) {
    return GRID_KV_CALL(Maintenance, Alarm, req, resp, ch);
  });
}

Status GrpcClusterApi::Defragment(const std::string& endpoint) {
  etcdserverpb::DefragmentResponse resp;
  return GRID_KV_CALL(Maintenance, Defragment, etcdserverpb::DefragmentRequest(), resp,
                      Channel(endpoint));
}

Status GrpcClusterApi::Compact(int64_t revision) {
  etcdserverpb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(true);  // returns once the compaction is applied: a defrag after it frees space
  etcdserverpb::CompactionResponse resp;
  return OnAnyEndpoint([&](const auto& ch, const std::string&) {
    return GRID_KV_CALL(KV, Compact, req, resp, ch);
  });
}

#undef GRID_KV_CALL

ClusterApiFactory GrpcClusterApiFactory(std::chrono::milliseconds call_timeout) {
  return [call_timeout](const std::vector<std::string>& endpoints)
             -> Result<std::unique_ptr<ClusterApi>> {
    if (endpoints.empty()) return InvalidArgument("cluster api: no endpoints");
    return std::unique_ptr<ClusterApi>(std::make_unique<GrpcClusterApi>(endpoints, call_timeout));
  };
}

}  // namespace grid::mas::kvcluster
