// Raft's safety properties, checked against the members as the run goes:
//  - election safety (§5.2): at most one leader per term over the whole run;
//  - log matching (§5.3) on committed prefixes: every member's committed entries agree with
//    one global committed log;
//  - leader completeness (§5.4): a leader's log holds every entry committed in its term or
//    before;
//  - state machine safety (§5.4.3): no two members apply different entries at one index, and
//    equal prefixes give equal state machines (digest per index);
//  - durability: an acknowledged write's entry is in the committed log at its index.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "raft/node.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace grid::sim {

using raft::Index;
using raft::MemberId;
using raft::Term;

struct Violation {
  std::string invariant;
  std::string detail;
  uint64_t tick = 0;
};

// What the checks need to see of a running member.
struct MemberView {
  MemberId id;
  const raft::MemoryStorage* storage = nullptr;
  raft::NodeStatus status;
  bool idle = false;         // storage holds the node's whole log
  uint64_t incarnation = 0;  // changes on each restart
};

class Invariants {
 public:
  // The first violation found, if any. Later checks are skipped once one is recorded.
  const std::optional<Violation>& violation() const { return violation_; }
  void Fail(const std::string& invariant, const std::string& detail, uint64_t tick);

  void CheckStep(const std::vector<MemberView>& members, uint64_t tick);
  // A member led `term` (seen in a Ready, so short-lived leaders count too).
  void NoteLeader(MemberId m, Term term, uint64_t tick);

  void OnApplied(MemberId m, const raft::Entry& e, uint64_t digest_after, uint64_t tick);
  void OnSnapshotInstalled(MemberId m, const raft::SnapshotMeta& meta, uint64_t digest,
                           uint64_t tick);
  void OnWriteAcked(MemberId m, const raft::Entry& e, uint64_t tick);

  // After the liveness phase: the members of the final configuration agree on everything
  // and every acknowledged write is below their applied index.
  void CheckConverged(const std::vector<MemberView>& members,
                      const std::map<MemberId, uint64_t>& digests, uint64_t tick);

  uint64_t committed_entries() const { return committed_.size(); }
  uint64_t max_term_with_leader() const { return leaders_.empty() ? 0 : leaders_.rbegin()->first; }
  size_t acked_writes() const { return acked_.size(); }

 private:
  struct Committed {
    Term term;
    uint64_t hash = 0;
    Term commit_term;  // the lowest term in which a member knew it committed
  };
  struct Applied {
    Term term;
    uint64_t hash = 0;
    uint64_t digest = 0;
    MemberId first_member;
  };
  struct Acked {
    Index index;
    Term term;
    uint64_t hash = 0;
  };

  void CheckLeaders(const std::vector<MemberView>& members, uint64_t tick);
  void CheckCommitted(const MemberView& m, uint64_t tick);
  void CheckLeaderCompleteness(const MemberView& m, uint64_t tick);
  // Records (or compares) the committed entry at e.index.
  void NoteCommitted(MemberId m, const raft::Entry& e, Term member_term, uint64_t tick);

  std::optional<Violation> violation_;
  std::map<uint64_t, MemberId> leaders_;           // term -> leader
  std::map<uint64_t, Committed> committed_;        // index -> entry
  std::unordered_map<uint64_t, Applied> applied_;  // index -> entry and digest
  std::unordered_map<uint64_t, std::pair<uint64_t, Index>>
      checked_;  // member -> (incarnation, index)
  std::vector<Acked> acked_;
};

}  // namespace grid::sim
