#include "kv/server/peer_link.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "kv/server/member_log.h"

namespace grid::kv {

Result<std::unique_ptr<PeerLink>> PeerLink::Start(const ServerConfig& config, uint64_t cluster_id,
                                                  uint64_t member_id,
                                                  const std::string& snapshot_dir,
                                                  MemberSnapshots* snapshots,
                                                  PeerCallHandlers handlers,
                                                  std::function<transport::ClusterInfo()> cluster_info,
                                                  std::function<void()> on_removed) {
  std::unique_ptr<PeerLink> link(new PeerLink(member_id));
  transport::TransportOptions options;
  options.cluster_id = cluster_id;
  options.member_id = raft::MemberId(member_id);
  options.listen_urls = config.listen_peer_urls;
  options.snapshot_dir = snapshot_dir;
  options.tls = PeerTlsOptions(
      config, (std::filesystem::path(snapshot_dir).parent_path() / "fixtures" / "peer").string());
  PeerLink* raw = link.get();
  transport::TransportCallbacks callbacks;
  callbacks.on_messages = [raw](std::vector<raft::Message> messages) {
    if (auto* host = raw->host_.load()) host->Receive(std::move(messages));
  };
  callbacks.on_unreachable = [raw](raft::MemberId peer) {
    if (auto* host = raw->host_.load()) host->ReportUnreachable(peer.value());
  };
  callbacks.on_snapshot_status = [raw](raft::MemberId peer, bool ok) {
    if (auto* host = raw->host_.load()) host->ReportSnapshot(peer.value(), ok);
  };
  callbacks.cluster_info = std::move(cluster_info);
  callbacks.on_lease_renew = [renew = std::move(handlers.renew)](raft::MemberId, int64_t id) {
    return renew(id);
  };
  callbacks.on_promote_check = [check = std::move(handlers.promote_check)](
                                   raft::MemberId, uint64_t learner) { return check(learner); };
  callbacks.on_lease_time_to_live = [ttl = std::move(handlers.time_to_live)](
                                        raft::MemberId, int64_t id, bool keys) {
    return ttl(id, keys);
  };
  callbacks.on_removed = std::move(on_removed);
  callbacks.on_snapshot = [raw, snapshots](raft::Message snap, std::string path) {
    // The store is built before Raft sees the snapshot: a damaged one is dropped here, and the
    // leader sends another when the follower still needs it.
    if (Status s = snapshots->Prepare(snap, path); !s.ok()) {
      spdlog::error("dropped the snapshot from member {:x}: {}", snap.from.value(), s.ToString());
      return;
    }
    if (auto* host = raw->host_.load()) {
      std::vector<raft::Message> one;
      one.push_back(std::move(snap));
      host->Receive(std::move(one));
    }
  };
  callbacks.snapshot_source = [snapshots](const raft::Message& snap) {
    return snapshots->OpenForSend(snap);
  };
  GRID_ASSIGN_OR_RETURN(link->transport_,
                        transport::Transport::Start(std::move(options), std::move(callbacks)));
  for (const auto& url : link->transport_->listen_urls()) {
    spdlog::info("listening for peers on {}", url);
  }
  return link;
}

PeerLink::~PeerLink() { Stop(); }

void PeerLink::Stop() {
  host_.store(nullptr);
  if (transport_) transport_->Stop();
}

void PeerLink::SyncPeers(const std::vector<kvpb::MemberRecord>& members) {
  for (const auto& m : members) {
    if (m.id() == member_id_) continue;
    std::vector<std::string> urls(m.peer_urls().begin(), m.peer_urls().end());
    Status s = transport_->AddPeer(raft::MemberId(m.id()), urls);
    if (s.code() == Code::kAlreadyExists) s = transport_->UpdatePeer(raft::MemberId(m.id()), urls);
    if (!s.ok()) spdlog::warn("peer {:x}: {}", m.id(), s.ToString());
  }
}

void PeerLink::OnMemberChange(const kvpb::MemberChange& change) {
  const uint64_t id = change.member().id();
  if (id == member_id_) return;
  std::vector<std::string> urls(change.member().peer_urls().begin(),
                                change.member().peer_urls().end());
  Status s;
  switch (change.kind()) {
    case kvpb::MemberChange::ADD:
      s = transport_->AddPeer(raft::MemberId(id), urls);
      // A joining member knew its peers before its table listed them.
      if (s.code() == Code::kAlreadyExists) s = transport_->UpdatePeer(raft::MemberId(id), urls);
      break;
    case kvpb::MemberChange::UPDATE:
      s = transport_->UpdatePeer(raft::MemberId(id), urls);
      break;
    case kvpb::MemberChange::REMOVE:
      s = transport_->RemovePeer(raft::MemberId(id));
      break;
    default:
      break;
  }
  if (!s.ok()) spdlog::warn("peer {:x}: {}", id, s.ToString());
}

void PeerLink::Send(std::vector<raft::Message> messages) { transport_->Send(std::move(messages)); }

}  // namespace grid::kv
