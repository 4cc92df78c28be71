// The consensus core: a pure, deterministic Raft state machine (no threads, I/O, clock or
// global random). Time comes in through Tick(); randomness from Config::random_seed.
// Implements leader election with randomized timeouts, pre-vote and check-quorum; log
// replication with per-follower flow control (probe / replicate / snapshot, an in-flight
// window), batching, fast conflict backtracking; commit of current-term entries by count;
// ReadIndex; snapshots; membership changes one at a time with learners; leadership transfer.
//
// Thread-safety: none; one thread drives a Node.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace grid::raft {

struct Config {
  MemberId id;
  // An election starts after a random timeout in [election_ticks, 2 * election_ticks) ticks
  // without hearing from a leader. REQUIRES: election_ticks > heartbeat_ticks >= 1.
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  // A leader that has not heard from a quorum for election_ticks steps down.
  bool check_quorum = true;
  // Limits. Each has a test at the limit.
  uint64_t max_msg_entries_bytes = 1 << 20;  // entries per kApp (at least one entry is sent)
  size_t max_inflight_msgs = 256;            // unacknowledged kApp per follower
  // Proposals whose entries are not yet committed; beyond it Propose() is refused.
  uint64_t max_uncommitted_entries_bytes = 64ull << 20;
  // Committed entries handed out per Ready.
  uint64_t max_committed_entries_bytes_per_ready = 64ull << 20;
  // ReadIndex requests the leader holds (waiting for its first commit in its term, or for a
  // heartbeat round to confirm its leadership); beyond it requests are dropped.
  size_t max_pending_read_index_requests = 4096;
  // Seeds the election timeout randomisation. Different members should use different seeds.
  uint64_t random_seed = 0;
  // Index the state machine has already applied on restart (0 for a fresh member).
  Index applied;
};

struct FollowerProgress {
  Index match;
  Index next;
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot } state = State::kProbe;
  bool learner = false;
  bool recent_active = false;
};

struct NodeStatus {
  MemberId id;
  SoftState soft_state;
  HardState hard_state;
  Index applied;
  Index last_index;
  MemberId lead_transferee;  // kNoMember when no transfer is running
  ConfState conf_state;
  std::map<MemberId, FollowerProgress> progress;  // leader only; includes itself
};

class Node {
 public:
  // Restores from `storage` (hard state, conf state, entries). A fresh cluster's storage holds
  // a snapshot at index 0 whose conf_state lists the initial voters. `storage` is not owned
  // and must outlive the node. InvalidArgument for a bad config or when `id` is unknown...
  // (a member not yet in the conf state is allowed: it waits to be added).
  static Result<std::unique_ptr<Node>> Create(const Config& config, LogStorage* storage);

  virtual ~Node() = default;

  // Advances logical time by one tick (heartbeats, election timeouts, check-quorum).
  virtual void Tick() = 0;

  // Feeds a message received from a peer (or a local kHup/kBeat/kUnreachable/kSnapStatus made
  // by the caller). Messages from an older term are answered or ignored as Raft says.
  // InvalidArgument for a message that must not come from the given source.
  virtual Status Step(Message m) = 0;

  // Proposes `data` as a new entry. A follower forwards it to the leader. Unavailable
  // ("proposal dropped") when no leader is known, a leadership transfer is running, or the
  // uncommitted-bytes limit is reached. Success does not mean the entry will commit.
  virtual Status Propose(std::string data) = 0;
  // Proposes each of `data` (not empty) as a new entry, in order, in one step: one append to
  // each follower (one forwarded message on a follower) instead of one per entry. All or none:
  // refused as a whole as Propose() is refused.
  virtual Status ProposeAll(std::vector<std::string> data) = 0;

  // Proposes a membership change. Refused (FailedPrecondition) while an earlier change is not
  // yet applied; also Unavailable as Propose(). "Applied" is what Advance() reported; a new
  // leader also waits until its no-op (and every entry before it) is applied. A follower forwards the
  // change unchecked; the leader drops a forwarded change while one is pending.
  virtual Status ProposeConfChange(const ConfChange& cc) = 0;

  // Called by the caller when it applies a kConfChange entry; returns the new configuration.
  // A removed leader steps down.
  virtual ConfState ApplyConfChange(const ConfChange& cc) = 0;

  // Requests a linearizable read point; it appears in a later Ready's read_states with the
  // same `request_ctx` (unique per request). Without a leader (or before the leader committed
  // an entry of its term) the request waits or is dropped; the caller times out and retries.
  virtual void ReadIndex(std::string request_ctx) = 0;

  // Starts a leadership transfer to `transferee` (leader only; forwarded otherwise). Ignored
  // for a learner or a non-member. Watch GetStatus().lead_transferee / the new leader.
  virtual void TransferLeadership(MemberId transferee) = 0;

  virtual void ReportUnreachable(MemberId peer) = 0;
  virtual void ReportSnapshot(MemberId peer, bool ok) = 0;

  // False while a Ready is outstanding (between GetReady() and Advance()).
  virtual bool HasReady() const = 0;
  // REQUIRES: the previous Ready was passed to Advance().
  virtual Ready GetReady() = 0;
  // The caller did everything the Ready asked (see Ready in types.h).
  virtual void Advance(const Ready& ready) = 0;

  virtual NodeStatus GetStatus() const = 0;
};

}  // namespace grid::raft
