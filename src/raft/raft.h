// The Raft state machine behind Node: roles, terms, and the protocol flows. Each flow lives in
// its own file:
//   raft.cc         roles, ticks, message admission (term rules), dispatch
//   election.cc     campaigns, votes, pre-votes (§5.2, §9.6), check-quorum
//   replication.cc  proposals, kApp / kAppResp, heartbeats, commit (§5.3, §5.4.2)
//   snapshot.cc     sending and installing snapshots (§7)
//   read_index.cc   ReadIndex (§6.4)
//   membership.cc   one-at-a-time membership changes with learners (§4.1)
//   transfer.cc     leadership transfer (§3.10)
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"
#include "raft/node.h"
#include "raft/progress.h"
#include "raft/raft_log.h"
#include "raft/read_index.h"
#include "raft/types.h"

namespace grid::raft {

// kVote context that forces a vote past the check-quorum lease (leadership transfer).
inline constexpr const char* kTransferCampaignContext = "transfer";

class Raft {
 public:
  // REQUIRES: a validated config (see Node::Create).
  Raft(const Config& config, LogStorage* storage);

  static Status ValidateConfig(const Config& config);

  void Tick();
  Status Step(Message m);
  // A local proposal (leader appends; follower forwards).
  Status Propose(std::vector<Entry> entries);
  void ReadIndex(std::string request_ctx);
  void TransferLeadership(MemberId transferee);
  ConfState ApplyConfChange(const ConfChange& cc);

  // Node glue.
  std::vector<Message> TakeMessages();
  std::vector<ReadState> TakeReadStates();
  bool HasMessagesOrReads() const { return !msgs_.empty() || !read_states_.empty(); }
  // The caller persisted the log up to StableLastIndex(): a leader counts it towards commit.
  void OnPersisted();
  // The caller applied committed entries up to `index`.
  void OnApplied(Index index);

  MemberId id() const { return id_; }
  Term term() const { return term_; }
  MemberId vote() const { return vote_; }
  MemberId leader() const { return lead_; }
  Role role() const { return role_; }
  MemberId lead_transferee() const { return lead_transferee_; }
  SoftState soft_state() const { return SoftState{lead_, role_}; }
  HardState hard_state() const { return HardState{term_, vote_, log_.committed()}; }
  const RaftLog& log() const { return log_; }
  RaftLog& log() { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }
  uint64_t max_committed_entries_bytes_per_ready() const {
    return config_.max_committed_entries_bytes_per_ready;
  }

 private:
  enum class CampaignKind { kPreElection, kElection, kTransfer };

  // raft.cc
  void Send(Message m);
  void ResetForTerm(Term term);
  void ResetRandomizedElectionTimeout();
  void BecomeFollower(Term term, MemberId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  bool Promotable() const;
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_ticks_; }
  Status CheckAdmissible(const Message& m) const;
  bool AdmitTerm(const Message& m);  // false: the message is answered or dropped already
  Status StepLeader(Message& m);
  Status StepCandidate(Message& m);
  Status StepFollower(Message& m);
  void TickElection();
  void TickHeartbeat();

  // election.cc
  void Hup(CampaignKind kind);
  void Campaign(CampaignKind kind);
  VoteResult Poll(MemberId from, bool granted);
  void HandleVoteRequest(const Message& m);
  void HandleVoteResponse(const Message& m);
  void HandleCheckQuorum();
  bool HasUnappliedConfChange() const;

  // replication.cc
  Status AppendAsLeader(std::vector<Entry> entries);
  Status StepProposal(Message& m);
  bool MaybeSendAppend(MemberId to, bool send_if_empty);
  void SendAppend(MemberId to) { MaybeSendAppend(to, true); }
  void BcastAppend();
  void SendHeartbeat(MemberId to, const std::string& ctx);
  void BcastHeartbeat();
  bool MaybeCommit();
  void OnCommitAdvanced();
  void HandleAppendEntries(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleAppendResponse(const Message& m, Progress& pr);
  void HandleHeartbeatResponse(const Message& m, Progress& pr);

  // snapshot.cc
  bool SendSnapshot(MemberId to, Progress& pr);
  void HandleSnapshot(const Message& m);
  bool Restore(const Snapshot& snap);
  void HandleSnapStatus(const Message& m, Progress& pr);

  // read_index.cc
  // `sender_term`: the term in which a follower made the request (kReadIndex's log_term), 0
  // when unknown (a local request, or one another member forwarded).
  void LeaderReadIndex(MemberId from, std::string ctx, Term sender_term);
  void RegisterRead(MemberId from, std::string ctx);
  // True when this leader and `from` (another member) alone are a majority of the voters.
  bool QuorumWith(MemberId from) const;
  void AnswerRead(const ReadRequest& req);
  void ReleaseWaitingReads();
  void HandleReadAck(const Message& m);
  bool CommittedInCurrentTerm() const;

  // transfer.cc
  void HandleTransferLeader(MemberId transferee);
  void SendTimeoutNow(MemberId to);
  void AbortLeaderTransfer() { lead_transferee_ = kNoMember; }

  const Config config_;
  const MemberId id_;
  RaftLog log_;
  ProgressTracker tracker_;
  ReadIndexQueue reads_;
  std::mt19937_64 rng_;

  Term term_;
  MemberId vote_;
  MemberId lead_;
  Role role_ = Role::kFollower;
  MemberId lead_transferee_;
  // The index of the last proposed membership change; a new one waits until it is applied.
  Index pending_conf_index_;
  // Leader: payload sizes of its uncommitted entries (index, bytes), oldest first.
  std::deque<std::pair<Index, uint64_t>> uncommitted_;
  uint64_t uncommitted_bytes_ = 0;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_ticks_ = 0;

  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;
};

}  // namespace grid::raft
