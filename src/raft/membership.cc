// Membership changes (§4.1), one at a time: a change takes effect when the caller applies its
// committed entry; the leader refuses a new one until the previous one is applied.
#include "raft/raft.h"

namespace grid::raft {

ConfState Raft::ApplyConfChange(const ConfChange& cc) {
  const Index next = log_.LastIndex() + 1;
  switch (cc.type) {
    case ConfChangeType::kAddVoter:
      tracker_.AddVoter(cc.member, next);
      break;
    case ConfChangeType::kAddLearner:
      tracker_.AddLearner(cc.member, next);
      break;
    case ConfChangeType::kRemove:
      tracker_.Remove(cc.member);
      break;
    case ConfChangeType::kUpdate:
      break;
  }
  if (role_ == Role::kLeader) {
    if (!tracker_.IsVoter(id_)) {
      // Removed: stop leading; the remaining voters elect a leader among themselves.
      BecomeFollower(term_, kNoMember);
    } else {
      if (lead_transferee_ != kNoMember && !tracker_.IsVoter(lead_transferee_)) {
        AbortLeaderTransfer();
      }
      // A smaller quorum may already hold entries a majority of the new voters matched.
      if (MaybeCommit()) BcastAppend();
    }
  }
  return tracker_.GetConfState();
}

}  // namespace grid::raft
