#include "kv/server/bootstrap_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <thread>
#include <vector>

#include "grid/peer.grpc.pb.h"
#include "transport/tls.h"
#include "transport/url.h"

namespace grid::kv {
namespace {

// One peer's member table, or nullopt when it did not answer in time.
std::optional<transport::ClusterInfo> AskPeer(const transport::PeerUrl& url,
                                              const transport::PeerCredentials& creds,
                                              std::chrono::milliseconds timeout) {
  auto stub = peerpb::Peer::NewStub(
      grpc::CreateChannel(url.target(), creds.Channel(url.tls)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  // Not wait-for-ready: a peer that is not listening fails the call at once.
  peerpb::ClusterInfoRequest request;
  peerpb::ClusterInfoResponse response;
  const grpc::Status s = stub->ClusterInfo(&ctx, request, &response);
  if (!s.ok()) {
    spdlog::debug("bootstrap check: no member table from {}: {}", url.original,
                  s.error_message());
    return std::nullopt;
  }
  transport::ClusterInfo info;
  info.cluster_id = response.cluster_id();
  for (const auto& m : response.members()) {
    info.members.push_back(transport::ClusterMemberInfo{
        m.id(), {m.peer_urls().begin(), m.peer_urls().end()}, m.is_learner(), m.name()});
  }
  return info;
}

}  // namespace

Status CheckNotBootstrapped(const ServerConfig& config, const InitialCluster& cluster,
                            const transport::ClusterInfo& answer, const std::string& peer_url) {
  for (const transport::ClusterMemberInfo& m : answer.members) {
    // A member publishes its name only once it has started and applied its own entries.
    if (m.id != cluster.self_id || m.name.empty()) continue;
    return FailedPrecondition(fmt::format(
        "member {:x} has already been bootstrapped: cluster {:x} (answered by {}) runs with it "
        "as \"{}\", but this data dir holds no log, so what the member acknowledged is lost. "
        "Remove it and add it back as a new member: `etcdctl member remove {:x}`, then "
        "`etcdctl member add {} --peer-urls={}`, and start it with "
        "--initial-cluster-state existing on an empty data dir",
        m.id, answer.cluster_id, peer_url, m.name, m.id, config.name,
        fmt::join(config.initial_advertise_peer_urls, ",")));
  }
  return Status::Ok();
}

Status RefuseIfAlreadyBootstrapped(const ServerConfig& config, const InitialCluster& cluster,
                                   const transport::TlsOptions& tls,
                                   std::chrono::milliseconds timeout) {
  std::vector<transport::PeerUrl> urls;
  for (const InitialMember& m : cluster.members) {
    if (m.id == cluster.self_id) continue;
    for (const std::string& u : m.peer_urls) {
      GRID_ASSIGN_OR_RETURN(transport::PeerUrl url, transport::ParsePeerUrl(u));
      urls.push_back(std::move(url));
    }
  }
  if (urls.empty()) return Status::Ok();
  // The names an auto-TLS certificate generated here gets: this member's own (the peer
  // transport later serves with the same files), as the transport would choose them.
  std::vector<std::string> hosts;
  for (const std::string& u : config.listen_peer_urls) {
    GRID_ASSIGN_OR_RETURN(transport::PeerUrl url, transport::ParsePeerUrl(u));
    hosts.push_back(url.host);
  }
  GRID_ASSIGN_OR_RETURN(transport::PeerCredentials creds,
                        transport::PeerCredentials::Load(tls, hosts));
  for (const transport::PeerUrl& url : urls) {
    if (url.tls && !creds.tls_configured()) {
      return InvalidArgument("peer URL " + url.original + " needs peer TLS options");
    }
  }
  // Bounded: at most MemberTable::kMaxMembers members, each with its few URLs.
  std::vector<std::optional<transport::ClusterInfo>> answers(urls.size());
  std::vector<std::thread> askers;
  askers.reserve(urls.size());
  for (size_t i = 0; i < urls.size(); ++i) {
    askers.emplace_back([&, i] { answers[i] = AskPeer(urls[i], creds, timeout); });
  }
  for (std::thread& t : askers) t.join();
  size_t answered = 0;
  for (size_t i = 0; i < urls.size(); ++i) {
    if (!answers[i]) continue;
    ++answered;
    GRID_RETURN_IF_ERROR(CheckNotBootstrapped(config, cluster, *answers[i], urls[i].original));
  }
  spdlog::info("bootstrap check: {} of {} peer URLs answered; member {:x} has not started in "
               "any cluster they know, bootstrapping",
               answered, urls.size(), cluster.self_id);
  return Status::Ok();
}

}  // namespace grid::kv
