#include "raft/raft.h"

#include <string>
#include <utility>

namespace grid::raft {
namespace {

bool IsLocalMessage(MessageType t) {
  switch (t) {
    case MessageType::kHup:
    case MessageType::kBeat:
    case MessageType::kUnreachable:
    case MessageType::kSnapStatus:
    case MessageType::kCheckQuorum:
      return true;
    default:
      return false;
  }
}

// Wire messages that travel without a term: they are forwarded requests.
bool IsTermless(MessageType t) {
  return t == MessageType::kProp || t == MessageType::kReadIndex ||
         t == MessageType::kTransferLeader;
}

bool IsVoteMessage(MessageType t) {
  return t == MessageType::kVote || t == MessageType::kVoteResp || t == MessageType::kPreVote ||
         t == MessageType::kPreVoteResp;
}

}  // namespace

Status Raft::ValidateConfig(const Config& c) {
  if (c.id == kNoMember) return InvalidArgument("raft config: id must not be 0");
  if (c.heartbeat_ticks < 1) return InvalidArgument("raft config: heartbeat_ticks must be >= 1");
  if (c.election_ticks <= c.heartbeat_ticks) {
    return InvalidArgument("raft config: election_ticks must be > heartbeat_ticks");
  }
  if (c.max_inflight_msgs < 1) return InvalidArgument("raft config: max_inflight_msgs must be >= 1");
  if (c.max_pending_read_index_requests < 1) {
    return InvalidArgument("raft config: max_pending_read_index_requests must be >= 1");
  }
  return Status::Ok();
}

Raft::Raft(const Config& config, LogStorage* storage)
    : config_(config),
      id_(config.id),
      log_(storage),
      tracker_(config.max_inflight_msgs),
      reads_(config.max_pending_read_index_requests),
      rng_(config.random_seed) {
  const InitialState st = storage->GetInitialState();
  tracker_.Reset(st.conf_state, log_.LastIndex() + 1);
  term_ = st.hard_state.term;
  vote_ = st.hard_state.vote;
  log_.CommitTo(st.hard_state.commit);
  if (config.applied > log_.applied()) log_.AppliedTo(config.applied);
  BecomeFollower(term_, kNoMember);
}

void Raft::Send(Message m) {
  m.from = id_;
  if (IsVoteMessage(m.type)) {
    // Set by the caller: the campaign term, or our term on a rejection.
    GRID_CHECK(m.term != Term(0) || m.reject) << "vote message without a term";
  } else if (IsTermless(m.type)) {
    m.term = Term(0);
  } else {
    m.term = term_;
  }
  msgs_.push_back(std::move(m));
}

std::vector<Message> Raft::TakeMessages() { return std::exchange(msgs_, {}); }
std::vector<ReadState> Raft::TakeReadStates() { return std::exchange(read_states_, {}); }

void Raft::ResetRandomizedElectionTimeout() {
  const auto base = static_cast<uint64_t>(config_.election_ticks);
  randomized_election_ticks_ = static_cast<int>(base + rng_() % base);
}

void Raft::ResetForTerm(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoMember;
  }
  lead_ = kNoMember;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  tracker_.ResetVotes();
  for (auto& [id, pr] : tracker_.all()) {
    pr = Progress(log_.LastIndex() + 1, config_.max_inflight_msgs, pr.learner);
    if (id == id_) pr.match = log_.StableLastIndex();
  }
  pending_conf_index_ = Index(0);
  uncommitted_.clear();
  uncommitted_bytes_ = 0;
  reads_.Clear();
}

void Raft::BecomeFollower(Term term, MemberId lead) {
  ResetForTerm(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  GRID_CHECK(role_ != Role::kLeader) << "leader cannot become pre-candidate";
  // The term and vote stay: a pre-election changes no durable state (§9.6).
  tracker_.ResetVotes();
  lead_ = kNoMember;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  GRID_CHECK(role_ != Role::kLeader) << "leader cannot become candidate";
  ResetForTerm(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  GRID_CHECK(role_ == Role::kCandidate) << "only a candidate becomes leader";
  ResetForTerm(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  if (Progress* self = tracker_.Get(id_)) self->BecomeReplicate();
  // §5.4.2 / §6.4: a no-op of the new term commits everything before it.
  Entry noop;
  GRID_CHECK(AppendAsLeader({noop}).ok()) << "no-op refused";
  // Any inherited entry may be a membership change, and a new change must wait for an entry
  // of this term to commit (the single-server change fix): the next change waits until the
  // no-op is applied.
  pending_conf_index_ = log_.LastIndex();
  BcastAppend();
}

bool Raft::Promotable() const { return tracker_.IsVoter(id_); }

Status Raft::CheckAdmissible(const Message& m) const {
  const bool local = IsLocalMessage(m.type);
  if (!local && !IsWireMessage(m.type)) return InvalidArgument("unknown message type");
  if (local) {
    if (m.term != Term(0)) return InvalidArgument("local message with a term");
    return Status::Ok();
  }
  if (m.from == kNoMember || m.from == id_) {
    return InvalidArgument(std::string(MessageTypeName(m.type)) + " from an invalid sender");
  }
  if (m.to != id_) return InvalidArgument(std::string(MessageTypeName(m.type)) + " not for us");
  if (m.term == Term(0) && !IsTermless(m.type)) {
    return InvalidArgument(std::string(MessageTypeName(m.type)) + " without a term");
  }
  if (m.type == MessageType::kSnap && !m.snapshot) return InvalidArgument("Snap without snapshot");
  if (m.type == MessageType::kApp) {
    for (size_t k = 0; k < m.entries.size(); ++k) {
      const Entry& e = m.entries[k];
      if (e.index != m.index + (k + 1) || e.term > m.term ||
          (k > 0 && e.term < m.entries[k - 1].term) || (k == 0 && e.term < m.log_term)) {
        return InvalidArgument("App with entries out of order");
      }
    }
  }
  return Status::Ok();
}

bool Raft::AdmitTerm(const Message& m) {
  if (m.term == Term(0)) return true;
  if (m.term > term_) {
    if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
      const bool force = m.context == kTransferCampaignContext;
      const bool in_lease = config_.check_quorum && lead_ != kNoMember &&
                            election_elapsed_ < config_.election_ticks;
      // §4.2.3: a member that hears from a live leader ignores disruptive candidates.
      if (!force && in_lease) return false;
    }
    if (m.type == MessageType::kPreVote) {
      // A pre-vote never changes our term.
    } else if (m.type == MessageType::kPreVoteResp && !m.reject) {
      // A granted pre-vote carries the term we will campaign for.
    } else if (m.type == MessageType::kApp || m.type == MessageType::kHeartbeat ||
               m.type == MessageType::kSnap) {
      BecomeFollower(m.term, m.from);
    } else if (m.type == MessageType::kVote && !log_.IsUpToDate(m.index, m.log_term)) {
      // A vote this member cannot grant takes its term but does not restart its election
      // timer (Figure 2: only a current leader or a granted vote does). Otherwise a candidate
      // with a stale log, campaigning again and again without pre-vote, could keep every
      // member that holds the newer entries from ever campaigning.
      const int elapsed = election_elapsed_;
      BecomeFollower(m.term, kNoMember);
      election_elapsed_ = elapsed;
    } else {
      BecomeFollower(m.term, kNoMember);
    }
    return true;
  }
  if (m.term < term_) {
    if (((config_.check_quorum || config_.pre_vote) &&
         (m.type == MessageType::kHeartbeat || m.type == MessageType::kApp)) ||
        m.type == MessageType::kVote) {
      // An empty kAppResp tells the sender our term and nothing else (§5.1: a newer term makes
      // it a follower of that term; one that meanwhile reached our term ignores it). A stale
      // leader (e.g. after a partition) steps down; otherwise it could keep this member from
      // ever campaigning under pre-vote / check-quorum. A candidate whose term is behind
      // catches up: ignored, it could need many timeouts to overtake a member it needs that
      // never hears of it (one that has not applied the change making the candidate a voter).
      // A kVoteResp would do the first as well, but one arriving after the candidate reached
      // our term would count as a refusal of its new candidacy.
      Message resp;
      resp.type = MessageType::kAppResp;
      resp.to = m.from;
      Send(std::move(resp));
    } else if (m.type == MessageType::kPreVote) {
      Message resp;
      resp.type = MessageType::kPreVoteResp;
      resp.to = m.from;
      resp.term = term_;
      resp.reject = true;
      Send(std::move(resp));
    }
    return false;
  }
  return true;
}

Status Raft::Step(Message m) {
  GRID_RETURN_IF_ERROR(CheckAdmissible(m));
  if (!AdmitTerm(m)) return Status::Ok();
  switch (m.type) {
    case MessageType::kHup:
      Hup(config_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection);
      return Status::Ok();
    case MessageType::kVote:
    case MessageType::kPreVote:
      HandleVoteRequest(m);
      return Status::Ok();
    default:
      break;
  }
  switch (role_) {
    case Role::kLeader: return StepLeader(m);
    case Role::kCandidate:
    case Role::kPreCandidate: return StepCandidate(m);
    case Role::kFollower: return StepFollower(m);
  }
  return Status::Ok();
}

Status Raft::StepLeader(Message& m) {
  switch (m.type) {
    case MessageType::kBeat:
      BcastHeartbeat();
      return Status::Ok();
    case MessageType::kCheckQuorum:
      HandleCheckQuorum();
      return Status::Ok();
    case MessageType::kProp:
      (void)StepProposal(m);  // a dropped forwarded proposal is the proposer's timeout
      return Status::Ok();
    case MessageType::kReadIndex:
      LeaderReadIndex(m.from, std::move(m.context), m.log_term);
      return Status::Ok();
    case MessageType::kTransferLeader: {
      auto transferee = DecodeU64Context(m.context);
      if (transferee) HandleTransferLeader(MemberId(*transferee));
      return Status::Ok();
    }
    default:
      break;
  }
  Progress* pr = tracker_.Get(m.from);
  if (pr == nullptr) return Status::Ok();
  switch (m.type) {
    case MessageType::kAppResp: HandleAppendResponse(m, *pr); break;
    case MessageType::kHeartbeatResp: HandleHeartbeatResponse(m, *pr); break;
    case MessageType::kSnapStatus: HandleSnapStatus(m, *pr); break;
    case MessageType::kUnreachable:
      // Optimistic sends to an unreachable member were probably lost.
      if (pr->state == ProgressState::kReplicate) pr->BecomeProbe();
      break;
    default:
      break;
  }
  return Status::Ok();
}

Status Raft::StepCandidate(Message& m) {
  const MessageType my_vote_resp =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  switch (m.type) {
    case MessageType::kApp:
      BecomeFollower(m.term, m.from);
      HandleAppendEntries(m);
      break;
    case MessageType::kHeartbeat:
      BecomeFollower(m.term, m.from);
      HandleHeartbeat(m);
      break;
    case MessageType::kSnap:
      BecomeFollower(m.term, m.from);
      HandleSnapshot(m);
      break;
    default:
      if (m.type == my_vote_resp) HandleVoteResponse(m);
      // Proposals, reads and transfers are dropped without a leader; kTimeoutNow is ignored.
      break;
  }
  return Status::Ok();
}

Status Raft::StepFollower(Message& m) {
  switch (m.type) {
    case MessageType::kProp:
    case MessageType::kTransferLeader:
    case MessageType::kReadIndex:
      if (lead_ != kNoMember) {
        m.to = lead_;
        // A forwarded read is not this member's acknowledgement of the leader (see
        // LeaderReadIndex): it goes on as one of unknown term.
        if (m.type == MessageType::kReadIndex) m.log_term = Term(0);
        Send(std::move(m));
      }
      break;
    case MessageType::kApp:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppendEntries(m);
      break;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      break;
    case MessageType::kSnap:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshot(m);
      break;
    case MessageType::kTimeoutNow:
      // §3.10: campaign at once, skipping pre-vote and forcing votes past the lease.
      if (Promotable()) Campaign(CampaignKind::kTransfer);
      break;
    case MessageType::kReadIndexResp:
      read_states_.push_back(ReadState{m.index, std::move(m.context)});
      break;
    default:
      break;
  }
  return Status::Ok();
}

void Raft::Tick() {
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    Hup(config_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection);
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) HandleCheckQuorum();
    // §3.10: a transfer that did not finish within an election timeout is abandoned.
    if (role_ == Role::kLeader && lead_transferee_ != kNoMember) AbortLeaderTransfer();
  }
  if (role_ != Role::kLeader) return;
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BcastHeartbeat();
  }
}

}  // namespace grid::raft
