// Leadership transfer (§3.10): the leader stops taking proposals, brings the transferee's log
// up to date, and tells it to campaign at once (kTimeoutNow). The transfer is abandoned after
// an election timeout (see Raft::TickHeartbeat).
#include "raft/raft.h"

namespace grid::raft {

void Raft::TransferLeadership(MemberId transferee) {
  switch (role_) {
    case Role::kLeader:
      HandleTransferLeader(transferee);
      return;
    case Role::kFollower:
      if (lead_ == kNoMember) return;
      {
        Message m;
        m.type = MessageType::kTransferLeader;
        m.to = lead_;
        m.context = EncodeU64Context(transferee.value());
        Send(std::move(m));
      }
      return;
    case Role::kCandidate:
    case Role::kPreCandidate:
      return;
  }
}

void Raft::HandleTransferLeader(MemberId transferee) {
  Progress* pr = tracker_.Get(transferee);
  if (pr == nullptr || pr->learner) return;  // only a voter can lead
  if (lead_transferee_ != kNoMember) {
    if (lead_transferee_ == transferee) return;  // already under way
    AbortLeaderTransfer();
  }
  if (transferee == id_) return;  // already the leader
  election_elapsed_ = 0;          // the transfer has one election timeout
  lead_transferee_ = transferee;
  if (pr->match == log_.LastIndex()) {
    SendTimeoutNow(transferee);
  } else {
    SendAppend(transferee);
  }
}

void Raft::SendTimeoutNow(MemberId to) {
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  Send(std::move(m));
}

}  // namespace grid::raft
