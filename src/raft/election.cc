// Leader election (§5.2), the pre-vote phase (§9.6) and check-quorum (§6.2).
#include <cstdint>

#include "raft/raft.h"

namespace grid::raft {

bool Raft::HasUnappliedConfChange() const {
  if (log_.committed() <= log_.applied()) return false;
  const Index lo = std::max(log_.applied() + 1, log_.FirstIndex());
  auto es = log_.Slice(lo, log_.committed() + 1, UINT64_MAX);
  GRID_CHECK(es.ok()) << "committed entries unavailable: " << es.status().ToString();
  for (const Entry& e : es.value()) {
    if (e.type == EntryType::kConfChange) return true;
  }
  return false;
}

void Raft::Hup(CampaignKind kind) {
  if (role_ == Role::kLeader) return;
  // A member outside the voters (removed, learner, not yet added) never campaigns.
  if (!Promotable()) return;
  // A committed membership change must take effect before this member may lead.
  if (HasUnappliedConfChange()) return;
  Campaign(kind);
}

void Raft::Campaign(CampaignKind kind) {
  MessageType request;
  Term campaign_term;
  if (kind == CampaignKind::kPreElection) {
    BecomePreCandidate();
    request = MessageType::kPreVote;
    campaign_term = term_ + 1;  // the term it would campaign for; ours stays
  } else {
    BecomeCandidate();
    request = MessageType::kVote;
    campaign_term = term_;
  }
  if (Poll(id_, true) == VoteResult::kWon) {  // a single voter
    if (kind == CampaignKind::kPreElection) {
      Campaign(CampaignKind::kElection);
    } else {
      BecomeLeader();
    }
    return;
  }
  const Index last_index = log_.LastIndex();
  const Term last_term = log_.LastTerm();
  for (const auto& [id, pr] : tracker_.all()) {
    if (id == id_ || pr.learner) continue;
    Message m;
    m.type = request;
    m.to = id;
    m.term = campaign_term;
    m.index = last_index;
    m.log_term = last_term;
    if (kind == CampaignKind::kTransfer) m.context = kTransferCampaignContext;
    Send(std::move(m));
  }
}

VoteResult Raft::Poll(MemberId from, bool granted) {
  tracker_.RecordVote(from, granted);
  return tracker_.TallyVotes();
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  // §5.2: one vote per term; a pre-vote for a later term binds nothing.
  const bool can_vote = vote_ == m.from || (vote_ == kNoMember && lead_ == kNoMember) ||
                        (pre && m.term > term_);
  Message resp;
  resp.type = pre ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  resp.to = m.from;
  // §5.4.1: only for a candidate whose log is at least as up to date as ours.
  if (can_vote && log_.IsUpToDate(m.index, m.log_term)) {
    resp.term = m.term;
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    resp.term = term_;
    resp.reject = true;
  }
  Send(std::move(resp));
}

void Raft::HandleVoteResponse(const Message& m) {
  switch (Poll(m.from, !m.reject)) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        Campaign(CampaignKind::kElection);
      } else {
        BecomeLeader();
      }
      break;
    case VoteResult::kLost:
      BecomeFollower(term_, kNoMember);
      break;
    case VoteResult::kPending:
      break;
  }
}

void Raft::HandleCheckQuorum() {
  if (!tracker_.QuorumActive(id_)) {
    BecomeFollower(term_, kNoMember);
    return;
  }
  tracker_.ResetRecentActive(id_);
}

}  // namespace grid::raft
