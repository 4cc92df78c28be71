// The leader's view of each member's log: flow control (probe / replicate / snapshot with an
// in-flight window) and the quorum arithmetic over voters (commit index, votes, activity).
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <vector>

#include "raft/node.h"
#include "raft/types.h"

namespace grid::raft {

// Last indexes of the kApp messages sent in replicate state and not yet acknowledged; at most
// `capacity` of them (Config::max_inflight_msgs).
class Inflights {
 public:
  explicit Inflights(size_t capacity) : capacity_(capacity) {}
  void Add(Index last);
  // Frees every message whose last index is <= `to`.
  void FreeLE(Index to);
  void FreeFirstOne();
  bool Full() const { return items_.size() >= capacity_; }
  size_t Count() const { return items_.size(); }
  void Reset() { items_.clear(); }

 private:
  size_t capacity_;
  std::deque<Index> items_;
};

using ProgressState = FollowerProgress::State;

class Progress {
 public:
  Progress(Index next, size_t max_inflight_msgs, bool learner);

  Index match;
  Index next;
  ProgressState state = ProgressState::kProbe;
  bool learner = false;
  // The leader heard from this member since the last check-quorum round.
  bool recent_active = false;
  // kProbe: one kApp is out; no more until a response or a heartbeat response.
  bool probe_sent = false;
  // kSnapshot: the index of the snapshot being sent.
  Index pending_snapshot;
  Inflights inflights;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);
  // An acknowledgement up to n. True when match moved.
  bool MaybeUpdate(Index n);
  // Replicate state: entries up to n were sent.
  void OptimisticUpdate(Index n) { next = n + 1; }
  // A rejection of the kApp at `rejected`; `hint` is where the follower's log may match.
  // False when the rejection is stale.
  bool MaybeDecrTo(Index rejected, Index hint);
  bool IsPaused() const;

 private:
  void ResetState(ProgressState s);
};

enum class VoteResult { kPending, kWon, kLost };

class ProgressTracker {
 public:
  explicit ProgressTracker(size_t max_inflight_msgs) : max_inflight_msgs_(max_inflight_msgs) {}

  void Reset(const ConfState& cs, Index next);
  ConfState GetConfState() const;

  // Membership (kAddVoter promotes a learner).
  void AddVoter(MemberId id, Index next);
  void AddLearner(MemberId id, Index next);
  void Remove(MemberId id);

  bool IsVoter(MemberId id) const;
  bool IsLearner(MemberId id) const;
  bool Contains(MemberId id) const { return progress_.count(id) != 0; }
  size_t VoterCount() const;
  Progress* Get(MemberId id);
  std::map<MemberId, Progress>& all() { return progress_; }
  const std::map<MemberId, Progress>& all() const { return progress_; }

  // §5.3/§5.4.2: the largest index a majority of voters matched; 0 without voters.
  Index QuorumMatch() const;
  // The largest value reached by a majority of voters in `values` (missing voters count 0).
  uint64_t QuorumValue(const std::map<MemberId, uint64_t>& values) const;

  // Elections.
  void ResetVotes() { votes_.clear(); }
  void RecordVote(MemberId id, bool granted);
  VoteResult TallyVotes() const;

  // Check-quorum: whether a majority of voters was recently active (`self` always is).
  bool QuorumActive(MemberId self) const;
  void ResetRecentActive(MemberId self);

 private:
  size_t max_inflight_msgs_;
  std::map<MemberId, Progress> progress_;
  std::map<MemberId, bool> votes_;
};

}  // namespace grid::raft
