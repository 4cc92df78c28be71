#include "client/services/election_service.h"

#include "client/election.h"
#include "client/services/service_util.h"

namespace grid::client::services {
namespace {

// etcd's session(ctx, lease): an orphaned session on an existing lease (or, for lease 0, a
// freshly granted one that is never refreshed).
Result<std::unique_ptr<Session>> OrphanSession(Client* client, int64_t lease,
                                               const Context& ctx) {
  SessionOptions options;
  options.lease_id = lease;
  options.keep_alive = false;
  return Session::Create(client, options, ctx);
}

}  // namespace

ElectionService::ElectionService(std::shared_ptr<grpc::Channel> channel,
                                 const ClientOptions& options)
    : owned_client_(Client::FromChannel(std::move(channel), options)),
      client_(owned_client_.get()) {}

ElectionService::ElectionService(Client* client) : client_(client) {}

grpc::Status ElectionService::Campaign(grpc::ServerContext* context,
                                       const v3electionpb::CampaignRequest* request,
                                       v3electionpb::CampaignResponse* response) {
  const Context ctx = ServerCallContext(context);
  auto session = OrphanSession(client_, request->lease(), ctx);
  if (!session.ok()) return ServiceError(session.status());
  Election election(session->get(), request->name());
  Status s = election.Campaign(request->value(), ctx);
  if (!s.ok()) return ServiceError(s);
  *response->mutable_header() = election.header();
  auto* leader = response->mutable_leader();
  leader->set_name(request->name());
  leader->set_key(election.key());
  leader->set_rev(election.revision());
  leader->set_lease((*session)->lease_id());
  return grpc::Status::OK;
}

grpc::Status ElectionService::Proclaim(grpc::ServerContext* context,
                                       const v3electionpb::ProclaimRequest* request,
                                       v3electionpb::ProclaimResponse* response) {
  if (!request->has_leader()) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, kMissingLeaderKeyMessage);
  }
  const Context ctx = ServerCallContext(context);
  const auto& leader = request->leader();
  auto session = OrphanSession(client_, leader.lease(), ctx);
  if (!session.ok()) return ServiceError(session.status());
  Election election =
      Election::Resume(session->get(), leader.name(), leader.key(), leader.rev());
  Status s = election.Proclaim(request->value(), ctx);
  if (!s.ok()) return ServiceError(s);
  *response->mutable_header() = election.header();
  return grpc::Status::OK;
}

grpc::Status ElectionService::Leader(grpc::ServerContext* context,
                                     const v3electionpb::LeaderRequest* request,
                                     v3electionpb::LeaderResponse* response) {
  const Context ctx = ServerCallContext(context);
  auto session = OrphanSession(client_, -1, ctx);
  if (!session.ok()) return ServiceError(session.status());
  auto leader = Election(session->get(), request->name()).Leader(ctx);
  if (!leader.ok()) return ServiceError(leader.status());
  *response->mutable_header() = leader->header();
  *response->mutable_kv() = leader->kvs(0);
  return grpc::Status::OK;
}

grpc::Status ElectionService::Observe(grpc::ServerContext* context,
                                      const v3electionpb::LeaderRequest* request,
                                      grpc::ServerWriter<v3electionpb::LeaderResponse>* writer) {
  const Context ctx = ServerCallContext(context);
  auto session = OrphanSession(client_, -1, ctx);
  if (!session.ok()) return ServiceError(session.status());
  Election election(session->get(), request->name());
  bool write_failed = false;
  Status s = election.Observe(
      ctx, [&](const etcdserverpb::ResponseHeader& header, const mvccpb::KeyValue& kv) {
        v3electionpb::LeaderResponse resp;
        *resp.mutable_header() = header;
        *resp.mutable_kv() = kv;
        if (!writer->Write(resp)) {
          write_failed = true;
          return false;
        }
        return true;
      });
  (void)s;  // etcd ends the stream quietly when its observer fails
  if (!ctx.Err().ok()) return ToGrpc(ctx.Err());
  if (write_failed) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "observe stream closed");
  // etcd ends the stream without an error when its observer stops.
  return grpc::Status::OK;
}

grpc::Status ElectionService::Resign(grpc::ServerContext* context,
                                     const v3electionpb::ResignRequest* request,
                                     v3electionpb::ResignResponse* response) {
  if (!request->has_leader()) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, kMissingLeaderKeyMessage);
  }
  const Context ctx = ServerCallContext(context);
  const auto& leader = request->leader();
  auto session = OrphanSession(client_, leader.lease(), ctx);
  if (!session.ok()) return ServiceError(session.status());
  Election election =
      Election::Resume(session->get(), leader.name(), leader.key(), leader.rev());
  Status s = election.Resign(ctx);
  if (!s.ok()) return ServiceError(s);
  *response->mutable_header() = election.header();
  return grpc::Status::OK;
}

}  // namespace grid::client::services
