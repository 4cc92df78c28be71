// Proposals, log replication and commit (§5.3, §5.4.2, §10.2.1): the leader's sends and the
// followers' answers, heartbeats, and flow control per follower.
#include <algorithm>

#include "raft/raft.h"

namespace grid::raft {

Status Raft::Propose(std::vector<Entry> entries) {
  switch (role_) {
    case Role::kLeader: {
      Message m;
      m.type = MessageType::kProp;
      m.entries = std::move(entries);
      return StepProposal(m);
    }
    case Role::kFollower: {
      if (lead_ == kNoMember) return Unavailable("proposal dropped: no leader");
      Message m;
      m.type = MessageType::kProp;
      m.to = lead_;
      m.entries = std::move(entries);
      Send(std::move(m));
      return Status::Ok();
    }
    case Role::kCandidate:
    case Role::kPreCandidate:
      break;
  }
  return Unavailable("proposal dropped: election in progress");
}

Status Raft::StepProposal(Message& m) {
  if (m.entries.empty()) return InvalidArgument("empty proposal");
  if (!tracker_.Contains(id_)) return Unavailable("proposal dropped: leader is not a member");
  if (lead_transferee_ != kNoMember) {
    return Unavailable("proposal dropped: leadership transfer in progress");
  }
  std::optional<Index> conf_index;
  for (size_t k = 0; k < m.entries.size(); ++k) {
    if (m.entries[k].type != EntryType::kConfChange) continue;
    if (conf_index || pending_conf_index_ > log_.applied()) {
      return FailedPrecondition("a membership change is pending (index " +
                                std::to_string(pending_conf_index_.value()) + ")");
    }
    conf_index = log_.LastIndex() + (k + 1);
  }
  GRID_RETURN_IF_ERROR(AppendAsLeader(std::move(m.entries)));
  if (conf_index) pending_conf_index_ = *conf_index;
  BcastAppend();
  return Status::Ok();
}

Status Raft::AppendAsLeader(std::vector<Entry> entries) {
  uint64_t bytes = EntriesBytes(entries);
  if (uncommitted_bytes_ > 0 && bytes > 0 &&
      uncommitted_bytes_ + bytes > config_.max_uncommitted_entries_bytes) {
    return Unavailable("proposal dropped: max_uncommitted_entries_bytes reached");
  }
  Index index = log_.LastIndex();
  for (Entry& e : entries) {
    ++index;
    e.term = term_;
    e.index = index;
    if (EntryBytes(e) > 0) uncommitted_.emplace_back(index, EntryBytes(e));
  }
  uncommitted_bytes_ += bytes;
  log_.Append(entries);
  // §10.2.1: the leader's own match moves only when the caller reports the entries durable
  // (OnPersisted), so they count towards a commit only then.
  return Status::Ok();
}

bool Raft::MaybeSendAppend(MemberId to, bool send_if_empty) {
  Progress* pr = tracker_.Get(to);
  if (pr == nullptr || pr->IsPaused()) return false;
  auto prev_term = log_.TermAt(pr->next - 1);
  auto entries = log_.EntriesFrom(pr->next, config_.max_msg_entries_bytes);
  if (entries.ok() && entries.value().empty() && !send_if_empty) return false;
  if (!prev_term.ok() || !entries.ok()) return SendSnapshot(to, *pr);  // compacted

  Message m;
  m.type = MessageType::kApp;
  m.to = to;
  m.index = pr->next - 1;
  m.log_term = prev_term.value();
  m.entries = std::move(entries).value();
  m.commit = log_.committed();
  if (!m.entries.empty()) {
    const Index last = m.entries.back().index;
    switch (pr->state) {
      case ProgressState::kReplicate:  // pipelining: assume it arrives
        pr->OptimisticUpdate(last);
        pr->inflights.Add(last);
        break;
      case ProgressState::kProbe:  // one at a time until the follower answers
        pr->probe_sent = true;
        break;
      case ProgressState::kSnapshot:
        GRID_UNREACHABLE() << "append to a member receiving a snapshot";
    }
  }
  Send(std::move(m));
  return true;
}

void Raft::BcastAppend() {
  for (const auto& [id, pr] : tracker_.all()) {
    if (id != id_) SendAppend(id);
  }
}

void Raft::SendHeartbeat(MemberId to, const std::string& ctx) {
  const Progress* pr = tracker_.Get(to);
  Message m;
  m.type = MessageType::kHeartbeat;
  m.to = to;
  // The follower may not have the leader's log up to its commit: it must not commit past
  // what the leader knows it matches.
  m.commit = std::min(pr->match, log_.committed());
  m.context = ctx;
  Send(std::move(m));
}

void Raft::BcastHeartbeat() {
  const uint64_t round = reads_.PendingRound();
  const std::string ctx = round == 0 ? std::string() : EncodeU64Context(round);
  for (const auto& [id, pr] : tracker_.all()) {
    if (id != id_) SendHeartbeat(id, ctx);
  }
}

bool Raft::MaybeCommit() {
  // §5.4.2: only an entry of the current term commits by counting replicas.
  if (!log_.MaybeCommit(tracker_.QuorumMatch(), term_)) return false;
  OnCommitAdvanced();
  return true;
}

void Raft::OnCommitAdvanced() {
  while (!uncommitted_.empty() && uncommitted_.front().first <= log_.committed()) {
    uncommitted_bytes_ -= uncommitted_.front().second;
    uncommitted_.pop_front();
  }
  ReleaseWaitingReads();
}

void Raft::OnPersisted() {
  if (role_ != Role::kLeader) return;
  Progress* self = tracker_.Get(id_);
  if (self == nullptr) return;
  if (self->MaybeUpdate(log_.StableLastIndex()) && MaybeCommit()) BcastAppend();
}

void Raft::OnApplied(Index index) { log_.AppliedTo(index); }

void Raft::HandleAppendEntries(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppResp;
  resp.to = m.from;
  if (m.index < log_.committed()) {
    resp.index = log_.committed();
    Send(std::move(resp));
    return;
  }
  if (auto last = log_.MaybeAppend(m.index, m.log_term, m.commit, m.entries)) {
    resp.index = *last;
    Send(std::move(resp));
    return;
  }
  // Fast backtracking: point the leader at our last entry whose term is <= the term it
  // probed with; the leader skips every index in between.
  const Index hint = log_.FindConflictByTerm(std::min(m.index, log_.LastIndex()), m.log_term);
  resp.index = m.index;
  resp.reject = true;
  resp.reject_hint = hint;
  resp.log_term = log_.TermOrZero(hint);
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const Message& m) {
  if (m.commit <= log_.LastIndex()) log_.CommitTo(m.commit);
  Message resp;
  resp.type = MessageType::kHeartbeatResp;
  resp.to = m.from;
  resp.context = m.context;
  Send(std::move(resp));
}

void Raft::HandleAppendResponse(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (m.reject) {
    Index next_probe = m.reject_hint;
    if (m.log_term > Term(0)) next_probe = log_.FindConflictByTerm(m.reject_hint, m.log_term);
    if (pr.MaybeDecrTo(m.index, next_probe)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      SendAppend(m.from);
    }
    return;
  }
  const bool was_paused = pr.IsPaused();
  if (!pr.MaybeUpdate(m.index)) return;
  switch (pr.state) {
    case ProgressState::kProbe:
      pr.BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match >= pr.pending_snapshot) {
        pr.BecomeProbe();
        pr.BecomeReplicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.inflights.FreeLE(m.index);
      break;
  }
  if (MaybeCommit()) {
    BcastAppend();
  } else if (was_paused) {
    SendAppend(m.from);
  }
  while (MaybeSendAppend(m.from, false)) {
  }
  if (m.from == lead_transferee_ && pr.match == log_.LastIndex()) SendTimeoutNow(m.from);
}

void Raft::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.recent_active = true;
  pr.probe_sent = false;
  // A full window may be full of lost messages: let one more through per heartbeat.
  if (pr.state == ProgressState::kReplicate && pr.inflights.Full()) pr.inflights.FreeFirstOne();
  if (pr.match < log_.LastIndex()) SendAppend(m.from);
  HandleReadAck(m);
}

}  // namespace grid::raft
