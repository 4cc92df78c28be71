// One simulated member: a raft::Node over a MemoryStorage mirroring its Disk, the key-value
// state machine, and the client requests it serves. It follows the Ready contract: persist
// (snapshot, entries, hard state) and sync, sending a follower's messages only after the
// sync (a leader's may go first when the Ready allows it), then apply, then Advance. A sync
// completes 0..max_fsync_ticks ticks later; meanwhile the node keeps ticking and receiving.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "raft/node.h"
#include "raft/storage.h"
#include "raft/types.h"
#include "sim/disk.h"
#include "sim/rng.h"
#include "sim/state_machine.h"
#include "sim/trace.h"

namespace grid::sim {

using raft::MemberId;

struct MemberOptions {
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t max_msg_entries_bytes = 1 << 20;
  size_t max_inflight_msgs = 256;
  uint64_t max_uncommitted_entries_bytes = 64ull << 20;
  uint64_t max_committed_entries_bytes_per_ready = 64ull << 20;
  int64_t max_fsync_ticks = 2;
  // A local snapshot (and log compaction) after this many entries applied since the last.
  uint64_t snapshot_every_entries = 20;
  // Entries kept below the snapshot index when compacting.
  uint64_t keep_entries_after_snapshot = 2;
  // After applying, the state machine persists its applied index with this probability.
  uint32_t persist_applied_ppm = 300'000;
  // A read without a read index yet asks again after this many ticks.
  int64_t read_retry_ticks = 8;
  // Readys handled per Process() call: a core that never stops producing them is a bug.
  size_t max_readys_per_process = 256;
  // Deliberate bugs, for tests that show the checks catch them:
  bool sabotage_local_reads = false;  // serve gets from the local state machine at once
  // Every member sends before its sync (slow syncs): a crash loses what it acknowledged.
  bool sabotage_ack_before_sync = false;
};

// What a member needs from the world around it.
class MemberEnv {
 public:
  virtual ~MemberEnv() = default;
  virtual uint64_t now() const = 0;
  virtual Trace& trace() = 0;
  virtual void Send(raft::Message m) = 0;
  // An invariant or contract broke: the run fails.
  virtual void Violation(const std::string& invariant, const std::string& detail) = 0;
  virtual void OnApplied(MemberId m, const raft::Entry& e, uint64_t digest_after) = 0;
  virtual void OnSnapshotInstalled(MemberId m, const raft::SnapshotMeta& meta, uint64_t digest) = 0;
  virtual void OnConfChangeApplied(MemberId m, const raft::ConfChange& cc) = 0;
  // The member reported itself leader of `term` in a Ready.
  virtual void OnLeader(MemberId m, raft::Term term) = 0;
  // A write this member accepted was applied here (took effect at entry e).
  virtual void OnWriteDone(MemberId m, const Command& c, const ApplyResult& r,
                           const raft::Entry& e) = 0;
  virtual void OnReadDone(MemberId m, uint64_t client, uint64_t seq,
                          const std::optional<std::string>& value) = 0;
};

class Member {
 public:
  // `bootstrap` is the disk's initial snapshot (index 0; lists the initial voters for a
  // founding member, nobody for a member that will be added).
  Member(MemberId id, const raft::Snapshot& bootstrap, const MemberOptions& options, Rng rng,
         MemberEnv* env);

  MemberId id() const { return id_; }
  bool up() const { return node_ != nullptr; }
  // Applied its own removal: it stops for good.
  bool removed() const { return removed_; }
  uint64_t restarts() const { return restarts_; }

  // Boots from the disk: storage from the durable log, the state machine replayed from the
  // durable snapshot up to the durable applied index, which becomes Config::applied.
  Status Start(uint64_t node_seed);
  // Power loss: the node, state machine and requests vanish; unsynced writes partly survive.
  void Crash();

  void Tick();
  void Receive(raft::Message m);
  void ReportSnapshot(MemberId to, bool ok);
  void ReportUnreachable(MemberId to);
  // Handles Readys until none is left or one waits for its sync.
  void Process();

  // Client requests; dropped silently at `deadline_tick` (the client gave up).
  Status SubmitWrite(const Command& c, uint64_t deadline_tick);
  void SubmitRead(uint64_t client, uint64_t seq, const std::string& key, uint64_t deadline_tick);
  Status ProposeConfChange(const raft::ConfChange& cc);
  void TransferLeadership(MemberId to);

  // Inspection. REQUIRES: up().
  const raft::MemoryStorage& storage() const { return *storage_; }
  raft::NodeStatus status() const { return node_->GetStatus(); }
  // No Ready outstanding or pending: storage holds the node's whole log.
  bool idle() const { return outstanding_ == nullptr && !node_->HasReady(); }
  raft::Index applied() const { return applied_; }
  const raft::ConfState& conf() const { return conf_; }
  const KvStateMachine& state_machine() const { return sm_; }
  const Disk& disk() const { return disk_; }

 private:
  struct PendingRead {
    uint64_t client = 0;
    uint64_t seq = 0;
    std::string key;
    uint64_t deadline_tick = 0;
    uint64_t asked_tick = 0;
    std::string ctx_prefix;            // of every ReadIndex request for this read
    std::optional<raft::Index> index;  // the read index, once known
  };
  struct Outstanding {
    raft::Ready ready;
    uint64_t sync_due_tick = 0;
    bool messages_sent = false;
  };

  void Begin(raft::Ready rd);
  void Finish();
  void CheckReady(const raft::Ready& rd);
  void ApplyEntry(const raft::Entry& e);
  void ApplyConfChange(const raft::ConfChange& cc);
  void MaybeSnapshot();
  void ServeReads();
  void AskReadIndex(PendingRead* r);
  void SendAll(std::vector<raft::Message>* msgs);
  void Fail(const std::string& invariant, const std::string& detail);

  const MemberId id_;
  const MemberOptions options_;
  Rng rng_;
  MemberEnv* env_;
  Disk disk_;
  uint64_t restarts_ = 0;
  bool removed_ = false;

  // Volatile: gone on a crash.
  std::unique_ptr<raft::MemoryStorage> storage_;
  std::unique_ptr<raft::Node> node_;
  std::unique_ptr<Outstanding> outstanding_;
  KvStateMachine sm_;
  raft::Index applied_;
  raft::ConfState conf_;
  bool leader_ = false;
  raft::HardState last_hard_state_;  // the latest written (durable on a restart)
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> pending_writes_;  // (client, seq) -> deadline
  std::vector<PendingRead> pending_reads_;
  uint64_t read_attempts_ = 0;
};

}  // namespace grid::sim
