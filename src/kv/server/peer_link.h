// Connects a member's Raft host to the peer transport: outgoing Raft messages go to the
// transport, incoming ones and delivery reports to the host, and the transport's peer set
// follows the member table (every member but this one).
//
// Threads: none of its own. Send() runs on the raft thread; the transport's callbacks run on
// its threads and only queue into the host.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "grid/internal.pb.h"
#include "kv/replication/raft_host.h"
#include "kv/server/config.h"
#include "kv/server/member_snapshots.h"
#include "transport/transport.h"

namespace grid::kv {

// What this member answers when a peer forwards a call to the leader (it must lead; else
// transport::NotLeaderError()): lease renewals and reads, and promotion checks.
struct PeerCallHandlers {
  std::function<Result<int64_t>(int64_t id)> renew;
  std::function<Result<transport::LeaseTtl>(int64_t id, bool keys)> time_to_live;
  std::function<Status(uint64_t learner)> promote_check;
};

class PeerLink final : public replication::PeerSender {
 public:
  // Starts the transport on config.listen_peer_urls, TLS as the --peer-* flags say. Snapshot
  // files received go to `snapshot_dir`; `snapshots` writes the ones this member sends and
  // prepares the ones it receives before the host sees them (it must outlive this object).
  // `cluster_info` answers newcomers' ClusterInfo calls; `on_removed` runs when a peer says this
  // member was removed from the cluster.
  static Result<std::unique_ptr<PeerLink>> Start(const ServerConfig& config, uint64_t cluster_id,
                                                 uint64_t member_id,
                                                 const std::string& snapshot_dir,
                                                 MemberSnapshots* snapshots,
                                                 PeerCallHandlers handlers,
                                                 std::function<transport::ClusterInfo()> cluster_info,
                                                 std::function<void()> on_removed);
  ~PeerLink() override;

  // The host that receives messages. Until it is set, incoming messages are dropped (Raft
  // retransmits). REQUIRES: `host` outlives this object or Stop() is called first.
  void Bind(replication::RaftHost* host) { host_.store(host); }
  void Stop();

  // Adds every member but this one as a peer.
  void SyncPeers(const std::vector<kvpb::MemberRecord>& members);
  // Follows one applied membership change.
  void OnMemberChange(const kvpb::MemberChange& change);

  void Send(std::vector<raft::Message> messages) override;

  // Lease calls to the leader (transport::Transport::RenewLease / LeaseTimeToLive).
  void RenewLease(uint64_t to, int64_t id, std::chrono::milliseconds timeout,
                  std::function<void(Result<int64_t>)> done) {
    transport_->RenewLease(raft::MemberId(to), id, timeout, std::move(done));
  }
  void LeaseTimeToLive(uint64_t to, int64_t id, bool keys, std::chrono::milliseconds timeout,
                       std::function<void(Result<transport::LeaseTtl>)> done) {
    transport_->LeaseTimeToLive(raft::MemberId(to), id, keys, timeout, std::move(done));
  }

  // Whether `learner` may be promoted, asked of the leader `to` (transport::Transport::PromoteCheck).
  void PromoteCheck(uint64_t to, uint64_t learner, std::chrono::milliseconds timeout,
                    std::function<void(Status)> done) {
    transport_->PromoteCheck(raft::MemberId(to), learner, timeout, std::move(done));
  }

  // When the connection to `peer` became active; nullopt while it is down (reconfig_check.h).
  std::optional<std::chrono::steady_clock::time_point> ActiveSince(uint64_t peer) const {
    return transport_->ActiveSince(raft::MemberId(peer));
  }

  const std::vector<std::string>& listen_urls() const { return transport_->listen_urls(); }

 private:
  PeerLink(uint64_t member_id) : member_id_(member_id) {}

  const uint64_t member_id_;
  std::atomic<replication::RaftHost*> host_{nullptr};
  std::unique_ptr<transport::Transport> transport_;
};

}  // namespace grid::kv
