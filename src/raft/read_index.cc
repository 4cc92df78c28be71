// ReadIndex (§6.4): linearizable reads without writing to the log. The leader serves one only
// after it committed an entry of its term, records its commit index, and confirms it is still
// the leader with a heartbeat round acknowledged by a majority of voters. A follower's request
// counts as that follower's acknowledgement (see LeaderReadIndex), which is a majority with
// the leader's own in a cluster of three voters.
#include "raft/read_index.h"

#include <cstdint>
#include <limits>

#include "raft/raft.h"

namespace grid::raft {

std::string EncodeU64Context(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

std::optional<uint64_t> DecodeU64Context(const std::string& context) {
  if (context.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(context[i])) << (8 * i);
  return v;
}

bool ReadIndexQueue::AddWaiting(MemberId from, std::string ctx) {
  if (Full()) return false;
  waiting_.push_back(ReadRequest{from, std::move(ctx), Index(0), 0});
  return true;
}

std::vector<ReadRequest> ReadIndexQueue::TakeWaiting() { return std::exchange(waiting_, {}); }

uint64_t ReadIndexQueue::AddPending(MemberId from, std::string ctx, Index index) {
  pending_.push_back(ReadRequest{from, std::move(ctx), index, ++last_round_});
  return last_round_;
}

uint64_t ReadIndexQueue::PendingRound() const {
  return pending_.empty() ? 0 : pending_.back().round;
}

void ReadIndexQueue::RecordAck(MemberId from, uint64_t round) {
  uint64_t& acked = acks_[from];
  if (round > acked) acked = round;
}

std::vector<ReadRequest> ReadIndexQueue::Release(uint64_t confirmed_round) {
  std::vector<ReadRequest> out;
  while (!pending_.empty() && pending_.front().round <= confirmed_round) {
    out.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  return out;
}

void ReadIndexQueue::Clear() {
  waiting_.clear();
  pending_.clear();
  acks_.clear();
}

bool Raft::CommittedInCurrentTerm() const {
  return log_.TermOrZero(log_.committed()) == term_;
}

void Raft::ReadIndex(std::string request_ctx) {
  switch (role_) {
    case Role::kLeader:
      LeaderReadIndex(id_, std::move(request_ctx), Term(0));
      return;
    case Role::kFollower:
      if (lead_ == kNoMember) return;  // dropped: the caller retries
      {
        Message m;
        m.type = MessageType::kReadIndex;
        m.to = lead_;
        m.log_term = term_;  // lead_ leads term_: we heard from it in this term
        m.context = std::move(request_ctx);
        Send(std::move(m));
      }
      return;
    case Role::kCandidate:
    case Role::kPreCandidate:
      return;  // dropped
  }
}

void Raft::LeaderReadIndex(MemberId from, std::string ctx, Term sender_term) {
  if (reads_.Full()) return;  // dropped: max_pending_read_index_requests
  if (!CommittedInCurrentTerm()) {
    // The commit index may lag what earlier leaders committed until our no-op commits.
    (void)reads_.AddWaiting(from, std::move(ctx));
    return;
  }
  // A follower that asks in our term acknowledged us after its reads arrived: it sends the
  // request only once they did, to the leader of its term. A write that completed before
  // they arrived and that our commit index misses would have been committed by a leader of a
  // later term, elected by a majority that voted before the request was sent; neither the
  // follower (still in our term when it sent) nor we (still in our term now) voted in it. So
  // when the two of us are a majority, no such majority exists and our commit index serves
  // the request without a heartbeat round.
  if (from != id_ && sender_term == term_ && QuorumWith(from)) {
    AnswerRead(ReadRequest{from, std::move(ctx), log_.committed(), 0});
    return;
  }
  RegisterRead(from, std::move(ctx));
  if (reads_.PendingRound() != 0) BcastHeartbeat();
}

bool Raft::QuorumWith(MemberId from) const {
  const size_t voters = (tracker_.IsVoter(id_) ? 1 : 0) + (tracker_.IsVoter(from) ? 1 : 0);
  return voters > tracker_.VoterCount() / 2;
}

void Raft::RegisterRead(MemberId from, std::string ctx) {
  if (tracker_.VoterCount() == 1 && Promotable()) {
    AnswerRead(ReadRequest{from, std::move(ctx), log_.committed(), 0});
    return;
  }
  (void)reads_.AddPending(from, std::move(ctx), log_.committed());
}

void Raft::AnswerRead(const ReadRequest& req) {
  if (req.from == id_ || req.from == kNoMember) {
    read_states_.push_back(ReadState{req.index, req.ctx});
    return;
  }
  Message m;
  m.type = MessageType::kReadIndexResp;
  m.to = req.from;
  m.index = req.index;
  m.context = req.ctx;
  Send(std::move(m));
}

void Raft::ReleaseWaitingReads() {
  if (role_ != Role::kLeader || !CommittedInCurrentTerm()) return;
  std::vector<ReadRequest> waiting = reads_.TakeWaiting();
  if (waiting.empty()) return;
  for (ReadRequest& req : waiting) RegisterRead(req.from, std::move(req.ctx));
  if (reads_.PendingRound() != 0) BcastHeartbeat();
}

void Raft::HandleReadAck(const Message& m) {
  auto round = DecodeU64Context(m.context);
  if (!round || reads_.PendingRound() == 0) return;
  reads_.RecordAck(m.from, *round);
  std::map<MemberId, uint64_t> acks = reads_.acks();
  acks[id_] = std::numeric_limits<uint64_t>::max();  // the leader confirms itself
  for (const ReadRequest& req : reads_.Release(tracker_.QuorumValue(acks))) AnswerRead(req);
}

}  // namespace grid::raft
