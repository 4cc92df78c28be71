// Runs a member's Raft node: one raft thread owns the consensus core and the durable log.
// Proposals, read barriers and peer messages queue into its inbox; the thread steps the node,
// ticks it every tick_ms, persists each Ready (one WAL sync for every proposal that arrived
// meanwhile: group commit), sends messages, and hands committed entries to the apply side.
//
// The same pipeline serves a single member (it elects itself at once) and a cluster.
//
// Threads: the raft thread ("grid-raft"). Every public method is thread-safe. Callbacks given
// to Propose()/ReadBarrier() run on the raft thread, the apply thread or the caller's thread,
// and must not block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kv/replication/durable_log.h"
#include "kv/server/proposer.h"
#include "kv/server/wait_registry.h"
#include "raft/node.h"

namespace grid::kv::replication {

struct RaftHostOptions {
  uint64_t member_id = 0;
  uint64_t tick_ms = 100;      // etcd's --heartbeat-interval
  int election_ticks = 10;     // --election-timeout / --heartbeat-interval
  uint64_t start_time_ms = 0;  // seeds request ids and the election randomisation
  // A fresh cluster: the first election starts one tick after start (etcd fast-forwards its
  // election clock the same way); a single voter elects itself at once either way.
  bool fresh_cluster = false;
  // Proposals and reads waiting in the inbox; beyond it "etcdserver: too many requests".
  size_t max_inbox_requests = 10000;
  // Committed but not applied entries beyond which proposals are refused with "etcdserver:
  // too many requests" (etcd's maxGapBetweenApplyAndCommitIndex).
  uint64_t max_unapplied_entries = 5000;
  // A proposal or read not answered within this is failed with "etcdserver: request timed
  // out" (etcd: 5 s + 2 election timeouts).
  uint64_t request_timeout_ms = 7000;
  // Entries kept in memory behind a released index, for followers that lag a little.
  uint64_t catch_up_entries = 5000;
  // A member with no peers drops applied entries older than catch_up_entries from memory
  // every this many entries.
  uint64_t alone_compact_every_entries = 1024;
};

// Delivers messages to other members. Must not block (drop and report unreachable instead).
class PeerSender {
 public:
  virtual ~PeerSender() = default;
  virtual void Send(std::vector<raft::Message> messages) = 0;
};

// Installs a snapshot received from the leader into the backend, before its marker is
// written to the log. An error stops the member.
using SnapshotInstaller = std::function<Status(const raft::Snapshot&)>;
// Receives committed entries in index order, on the raft thread; must only enqueue.
// Conf-change entries arrive as wal::kEntryConfChange whose data is the InternalRequest that
// proposed the change.
using CommittedSink = std::function<void(std::vector<wal::Entry> entries)>;
// Told of every leader / term change (raft thread).
using LeaderObserver = std::function<void(uint64_t leader_id, uint64_t term)>;

struct RaftHostDeps {
  WaitRegistry* waits = nullptr;
  CommittedSink sink;
  PeerSender* peers = nullptr;  // null for a member that never has peers (tests)
  SnapshotInstaller install_snapshot;
  LeaderObserver on_leader_change;
  // Called once when the log fails (disk full, I/O error).
  std::function<void(const Status&)> on_fatal;
};

class RaftHost final : public Proposer {
 public:
  // `applied` is the index the backend holds (everything committed at start has been applied
  // before serving).
  static Result<std::unique_ptr<RaftHost>> Create(const RaftHostOptions& options,
                                                  std::unique_ptr<DurableLog> log,
                                                  uint64_t applied, RaftHostDeps deps);
  ~RaftHost() override;

  void Start();
  // Stops the raft thread; fails queued requests with "etcdserver: server stopped".
  void Stop();

  void Propose(kvpb::InternalRequest request, ApplyCallback done) override;
  void ReadBarrier(ReadyCallback ready) override;
  bool LocalReadIsLinearizable() const override;

  // Messages received from peers.
  void Receive(std::vector<raft::Message> messages);
  void ReportUnreachable(uint64_t peer);
  void ReportSnapshot(uint64_t peer, bool ok);
  // Asks the leader to hand leadership to `transferee`; `done` runs once it is leader (OK),
  // or with an error after the election timeout.
  void TransferLeadership(uint64_t transferee, ReadyCallback done);

  // The apply side applied everything up to `index`.
  void OnApplied(uint64_t index);
  // The apply side applied a membership change (from a kEntryConfChange entry) to the member
  // table; `accepted` is false when the table refused it. The Raft configuration follows the
  // table: an accepted change is applied to the node (etcd applies a refused one as a no-op).
  void OnMemberChangeApplied(const kvpb::MemberChange& change, bool accepted);
  // The backend holds every entry up to `index` durably: the log may be released.
  void ReleaseUpTo(uint64_t index);

  uint64_t leader_id() const { return leader_.load(std::memory_order_relaxed); }
  uint64_t term() const { return term_.load(std::memory_order_relaxed); }
  uint64_t committed_index() const { return committed_.load(std::memory_order_relaxed); }
  uint64_t applied_index() const;
  // A copy made after the last Ready (progress of followers on the leader).
  raft::NodeStatus status() const;
  Status log_error() const;

 private:
  struct PendingProposal {
    uint64_t id;
    std::string data;
    bool member_change;
  };
  // The reads that arrived in one inbox share one ReadIndex request: all of them arrived
  // before it was made, so its index serves each of them.
  struct PendingRead {
    std::vector<ReadyCallback> ready;
    uint64_t deadline_ms;
  };
  struct PendingTransfer {
    uint64_t transferee;
    ReadyCallback done;
    uint64_t deadline_ms;
  };
  struct Inbox {
    std::vector<PendingProposal> proposals;
    std::vector<ReadyCallback> reads;
    std::vector<raft::Message> messages;
    std::vector<PendingTransfer> transfers;
    std::vector<raft::ConfChange> conf_changes;
    uint64_t release_up_to = 0;
    bool empty() const {
      return proposals.empty() && reads.empty() && messages.empty() && transfers.empty() &&
             conf_changes.empty() && release_up_to == 0;
    }
  };

  RaftHost(const RaftHostOptions& options, std::unique_ptr<DurableLog> log, uint64_t applied,
           RaftHostDeps deps);

  void Run();
  void Handle(Inbox& inbox, uint64_t now_ms);
  // Hands the inbox's proposals to the node in order: runs of ordinary ones (ProposeAll), a
  // member change alone.
  void ProposeRuns(std::vector<PendingProposal>& proposals);
  void ProposeMemberChange(PendingProposal& p);
  // The node took proposal `id` (its deadline starts) or refused it with `s` (it fails).
  void Proposed(uint64_t id, const Status& s);
  void HandleReady(raft::Ready ready);
  void SweepTimeouts(uint64_t now_ms);
  void Fail(uint64_t id, const Status& status);
  void FailAll(const Status& status);
  void PublishStatus();
  // Recomputes local_reads_from_ from the leader and the voters. Called after every change of
  // either and before anything of a Ready is sent, so a vote that could let another member
  // lead leaves no local read behind it.
  void UpdateLocalReads();
  // Drops applied entries from the in-memory log when this member is the only one.
  void CompactAlone();
  static uint64_t NowMs();

  const RaftHostOptions options_;
  std::unique_ptr<DurableLog> log_;
  RaftHostDeps deps_;
  std::unique_ptr<raft::Node> node_;  // raft thread only

  // Raft-thread state.
  std::deque<std::pair<uint64_t, uint64_t>> proposal_deadlines_;  // (deadline_ms, id)
  std::map<std::string, PendingRead> reads_;                       // by request context
  std::vector<PendingTransfer> transfers_;
  uint64_t next_read_ctx_ = 0;
  uint64_t compacted_alone_ = 0;
  raft::ConfState conf_state_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Inbox inbox_;                  // GUARDED_BY(mu_)
  size_t inbox_requests_ = 0;    // GUARDED_BY(mu_)
  bool stopping_ = false;        // GUARDED_BY(mu_)
  Status log_error_;             // GUARDED_BY(mu_)
  uint64_t applied_;             // GUARDED_BY(mu_)
  // LocalReadIsLinearizable once applied_ reaches it; 0: never (not the sole voting leader).
  uint64_t local_reads_from_ = 0;  // GUARDED_BY(mu_); written by the raft thread
  uint64_t next_id_;            // GUARDED_BY(mu_): etcd's layout: member bits, start ms, count
  raft::NodeStatus status_;      // GUARDED_BY(mu_)

  std::atomic<uint64_t> leader_{0};
  std::atomic<uint64_t> term_{0};
  std::atomic<uint64_t> committed_{0};
  std::thread thread_;
};

}  // namespace grid::kv::replication
