#include "transport/cluster_info.h"

#include <grpcpp/grpcpp.h>

#include "grid/peer.grpc.pb.h"
#include "transport/tls.h"
#include "transport/url.h"

namespace grid::transport {

Result<ClusterInfo> FetchClusterInfo(const std::vector<std::string>& peer_urls,
                                     const TlsOptions& tls,
                                     std::chrono::milliseconds timeout_per_url) {
  std::string errors;
  for (const std::string& url : peer_urls) {
    Result<PeerUrl> parsed = ParsePeerUrl(url);
    if (!parsed.ok()) return parsed.status();
    Result<PeerCredentials> creds = PeerCredentials::Load(tls, {parsed->host});
    if (!creds.ok()) return creds.status();
    if (parsed->tls && !creds->tls_configured()) {
      return InvalidArgument("peer URL " + url + " needs peer TLS options");
    }
    auto channel = grpc::CreateChannel(parsed->target(), creds->Channel(parsed->tls));
    auto stub = peerpb::Peer::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_per_url);
    ctx.set_wait_for_ready(true);
    peerpb::ClusterInfoRequest request;
    peerpb::ClusterInfoResponse response;
    grpc::Status s = stub->ClusterInfo(&ctx, request, &response);
    if (!s.ok()) {
      errors += (errors.empty() ? "" : "; ") + url + ": " + s.error_message();
      continue;
    }
    ClusterInfo info;
    info.cluster_id = response.cluster_id();
    for (const auto& m : response.members()) {
      info.members.push_back(ClusterMemberInfo{
          m.id(), {m.peer_urls().begin(), m.peer_urls().end()}, m.is_learner(), m.name()});
    }
    return info;
  }
  return Unavailable("could not get the cluster's members from " + errors);
}

}  // namespace grid::transport
