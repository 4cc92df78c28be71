#include "sim/invariants.h"

#include <limits>

#include "sim/describe.h"

namespace grid::sim {

namespace {
std::string Id(MemberId m) { return std::to_string(m.value()); }
std::string Num(Index i) { return std::to_string(i.value()); }
std::string Num(Term t) { return std::to_string(t.value()); }
constexpr Term kUnknownCommitTerm{std::numeric_limits<uint64_t>::max()};
}  // namespace

void Invariants::Fail(const std::string& invariant, const std::string& detail, uint64_t tick) {
  if (violation_) return;
  violation_ = Violation{invariant, detail, tick};
}

void Invariants::CheckStep(const std::vector<MemberView>& members, uint64_t tick) {
  if (violation_) return;
  CheckLeaders(members, tick);
  for (const MemberView& m : members) CheckCommitted(m, tick);
  for (const MemberView& m : members) {
    if (m.idle && m.status.soft_state.role == raft::Role::kLeader) CheckLeaderCompleteness(m, tick);
  }
}

void Invariants::NoteLeader(MemberId m, Term term, uint64_t tick) {
  auto [it, inserted] = leaders_.try_emplace(term.value(), m);
  if (!inserted && it->second != m) {
    Fail("election safety (§5.2): at most one leader per term",
         "members " + Id(it->second) + " and " + Id(m) + " both led term " + Num(term), tick);
  }
}

void Invariants::CheckLeaders(const std::vector<MemberView>& members, uint64_t tick) {
  for (const MemberView& m : members) {
    if (m.status.soft_state.role == raft::Role::kLeader)
      NoteLeader(m.id, m.status.hard_state.term, tick);
  }
}

void Invariants::NoteCommitted(MemberId m, const raft::Entry& e, Term member_term, uint64_t tick) {
  const uint64_t h = HashBytes(e.data) ^ static_cast<uint64_t>(e.type);
  auto [it, inserted] = committed_.try_emplace(e.index.value(), Committed{e.term, h, member_term});
  if (inserted) return;
  Committed& c = it->second;
  if (c.term != e.term || c.hash != h) {
    bool acked = false;
    for (const Acked& a : acked_) acked |= a.index == e.index;
    Fail(acked ? "no acknowledged write lost" : "log matching (§5.3) on committed prefixes",
         "member " + Id(m) + " has committed entry " + DescribeEntry(e) + " where the committed " +
             "log has term " + Num(c.term) + (acked ? " (an acknowledged write)" : ""),
         tick);
    return;
  }
  if (member_term < c.commit_term) c.commit_term = member_term;
}

void Invariants::CheckCommitted(const MemberView& m, uint64_t tick) {
  auto& [incarnation, checked] = checked_[m.id.value()];
  if (incarnation != m.incarnation) {
    incarnation = m.incarnation;
    checked = Index(0);
  }
  const raft::MemoryStorage& s = *m.storage;
  const Index commit = s.GetInitialState().hard_state.commit;
  const Index lo = std::max(s.FirstIndex(), checked + 1);
  const Index hi = std::min(commit, s.LastIndex());
  if (lo > hi) return;
  Result<std::vector<raft::Entry>> entries =
      s.Entries(lo, hi + 1, std::numeric_limits<uint64_t>::max());
  if (!entries.ok()) {
    Fail("storage", "member " + Id(m.id) + ": " + entries.status().ToString(), tick);
    return;
  }
  for (const raft::Entry& e : entries.value()) {
    NoteCommitted(m.id, e, m.status.hard_state.term, tick);
    if (violation_) return;
  }
  checked = hi;
}

void Invariants::CheckLeaderCompleteness(const MemberView& m, uint64_t tick) {
  const raft::MemoryStorage& s = *m.storage;
  const Term term = m.status.hard_state.term;
  const Index first = s.FirstIndex();
  const Index last = s.LastIndex();
  for (auto it = committed_.lower_bound(first.value()); it != committed_.end(); ++it) {
    const Committed& c = it->second;
    if (c.commit_term > term) continue;
    const Index i(it->first);
    Result<Term> t = i <= last ? s.TermAt(i) : Result<Term>(OutOfRange("beyond last"));
    if (!t.ok() || t.value() != c.term) {
      Fail("leader completeness (§5.4)",
           "leader " + Id(m.id) + " of term " + Num(term) + " lacks entry " + Num(i) + "@" +
               Num(c.term) + ", committed by term " + Num(c.commit_term) + " (its log: " +
               Num(first) + ".." + Num(last) + (t.ok() ? ", term " + Num(t.value()) : "") + ")",
           tick);
      return;
    }
  }
}

void Invariants::OnApplied(MemberId m, const raft::Entry& e, uint64_t digest_after, uint64_t tick) {
  const uint64_t h = HashBytes(e.data) ^ static_cast<uint64_t>(e.type);
  auto [it, inserted] = applied_.try_emplace(e.index.value(), Applied{e.term, h, digest_after, m});
  if (inserted) return;
  const Applied& a = it->second;
  if (a.term != e.term || a.hash != h) {
    Fail("state machine safety (§5.4.3)",
         "member " + Id(m) + " applied " + DescribeEntry(e) + " where member " +
             Id(a.first_member) + " applied an entry of term " + Num(a.term),
         tick);
  } else if (a.digest != digest_after) {
    Fail("state machine safety (§5.4.3)",
         "member " + Id(m) + " has a different state than member " + Id(a.first_member) +
             " after applying the same entry " + DescribeEntry(e),
         tick);
  }
}

void Invariants::OnSnapshotInstalled(MemberId m, const raft::SnapshotMeta& meta, uint64_t digest,
                                     uint64_t tick) {
  auto it = applied_.find(meta.index.value());
  if (it != applied_.end() && (it->second.term != meta.term || it->second.digest != digest)) {
    Fail("state machine safety (§5.4.3)",
         "member " + Id(m) + " installed a snapshot at " + Num(meta.index) + "@" + Num(meta.term) +
             " whose state differs from what member " + Id(it->second.first_member) +
             " had after applying that index",
         tick);
  }
}

void Invariants::OnWriteAcked(MemberId m, const raft::Entry& e, uint64_t tick) {
  acked_.push_back(Acked{e.index, e.term, HashBytes(e.data) ^ static_cast<uint64_t>(e.type)});
  // Unknown commit term: it does not widen what leader completeness demands.
  NoteCommitted(m, e, kUnknownCommitTerm, tick);
}

void Invariants::CheckConverged(const std::vector<MemberView>& members,
                                const std::map<MemberId, uint64_t>& digests, uint64_t tick) {
  if (violation_ || members.empty()) return;
  const MemberView& ref = members.front();
  for (const MemberView& m : members) {
    if (m.status.applied != ref.status.applied || digests.at(m.id) != digests.at(ref.id)) {
      Fail("convergence",
           "member " + Id(m.id) + " applied " + Num(m.status.applied) + " (digest " +
               std::to_string(digests.at(m.id)) + "), member " + Id(ref.id) + " applied " +
               Num(ref.status.applied) + " (digest " + std::to_string(digests.at(ref.id)) + ")",
           tick);
      return;
    }
  }
  for (const Acked& a : acked_) {
    if (a.index > ref.status.applied) {
      Fail("no acknowledged write lost",
           "acknowledged write at " + Num(a.index) + " beyond the converged applied index " +
               Num(ref.status.applied),
           tick);
      return;
    }
    auto it = committed_.find(a.index.value());
    if (it == committed_.end() || it->second.term != a.term || it->second.hash != a.hash) {
      Fail("no acknowledged write lost",
           "acknowledged write at " + Num(a.index) + "@" + Num(a.term) +
               " is not in the committed log",
           tick);
      return;
    }
  }
}

}  // namespace grid::sim
