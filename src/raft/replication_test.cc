// Log replication and commit: §5.3 (log matching, conflicting tails), §5.4.2 (commit only
// current-term entries by counting, Figure 8), §10.2.1 (the leader's own entries count only
// once durable), the Ready persistence contract, fast backtracking.
#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::ClusterOptions;
using testing::M;
using testing::OfType;

Entry E(uint64_t index, uint64_t term, std::string data = "") {
  return Entry{Term(term), Index(index), EntryType::kNormal, std::move(data)};
}

std::vector<Term> Terms(MemoryStorage& s) {
  std::vector<Term> out;
  for (Index i = s.FirstIndex(); i <= s.LastIndex(); ++i) out.push_back(s.TermAt(i).value());
  return out;
}

Message App(uint64_t from, uint64_t to, uint64_t term, uint64_t prev_index, uint64_t prev_term,
            std::vector<Entry> entries, uint64_t commit) {
  Message m;
  m.type = MessageType::kApp;
  m.from = M(from);
  m.to = M(to);
  m.term = Term(term);
  m.index = Index(prev_index);
  m.log_term = Term(prev_term);
  m.entries = std::move(entries);
  m.commit = Index(commit);
  return m;
}

// §5.3: a follower accepts entries only after a matching (index, term), and a conflicting
// tail is replaced by the leader's entries.
TEST(ReplicationTest, FollowerOverwritesConflictingTail) {
  MemoryStorage storage;
  Snapshot boot;
  boot.meta.conf_state.voters = {M(1), M(2), M(3)};
  ASSERT_TRUE(storage.ApplySnapshot(boot).ok());
  storage.Append({E(1, 1), E(2, 1), E(3, 2), E(4, 2)});
  storage.SetHardState(HardState{Term(2), kNoMember, Index(1)});
  Config cfg;
  cfg.id = M(2);
  auto node = std::move(Node::Create(cfg, &storage)).value();

  // Mismatch at (4, term 3): rejected with a hint.
  ASSERT_TRUE(node->Step(App(1, 2, 3, 4, 3, {E(5, 3)}, 1)).ok());
  Ready rd = node->GetReady();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_TRUE(rd.messages[0].reject);
  EXPECT_EQ(rd.messages[0].reject_hint, Index(4));
  EXPECT_EQ(rd.messages[0].log_term, Term(2));
  EXPECT_TRUE(rd.entries.empty());
  node->Advance(rd);

  // Match at (2, term 1): entries 3.. replace the term-2 tail.
  ASSERT_TRUE(node->Step(App(1, 2, 3, 2, 1, {E(3, 3, "x"), E(4, 3, "y"), E(5, 3, "z")}, 1)).ok());
  rd = node->GetReady();
  ASSERT_EQ(rd.entries.size(), 3u);
  EXPECT_EQ(rd.entries[0], E(3, 3, "x"));
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_FALSE(rd.messages[0].reject);
  EXPECT_EQ(rd.messages[0].index, Index(5));
  EXPECT_FALSE(rd.messages_may_precede_persist);
  EXPECT_TRUE(rd.must_sync);
  storage.Append(rd.entries);
  node->Advance(rd);
  EXPECT_EQ(Terms(storage), (std::vector<Term>{Term(1), Term(1), Term(3), Term(3), Term(3)}));

  // Entries already present are not re-appended; a stale shorter kApp truncates nothing.
  ASSERT_TRUE(node->Step(App(1, 2, 3, 2, 1, {E(3, 3, "x")}, 1)).ok());
  rd = node->GetReady();
  EXPECT_TRUE(rd.entries.empty());
  EXPECT_EQ(rd.messages[0].index, Index(3));
  node->Advance(rd);
  EXPECT_EQ(node->GetStatus().last_index, Index(5));
}

// §5.3: after a partition, a deposed leader's uncommitted entries are replaced.
TEST(ReplicationTest, DeposedLeaderTailIsReplaced) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  c.Isolate(1);
  ASSERT_TRUE(c.node(1).Propose("lost1").ok());
  ASSERT_TRUE(c.node(1).Propose("lost2").ok());
  c.Stabilize();
  for (int i = 0; i < 100 && c.RoleOf(2) != Role::kLeader && c.RoleOf(3) != Role::kLeader; ++i) {
    c.Tick(2);
    c.Tick(3);
    c.Stabilize();
  }
  const uint64_t leader = c.RoleOf(2) == Role::kLeader ? 2 : 3;
  c.Propose(leader, "b");
  c.Heal();
  c.Run(5);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.member(id).applied, (std::vector<std::string>{"a", "b"})) << id;
    EXPECT_EQ(Terms(c.storage(id)), Terms(c.storage(leader))) << id;
  }
}

// §5.4.2, Figure 8: an entry of an earlier term stored on a majority is not committed by
// counting; it commits only with an entry of the leader's term.
TEST(ReplicationTest, Figure8OnlyCurrentTermEntriesCommitByCounting) {
  MemoryStorage storage;
  Snapshot boot;
  boot.meta.conf_state.voters = {M(1), M(2), M(3), M(4), M(5)};
  ASSERT_TRUE(storage.ApplySnapshot(boot).ok());
  storage.Append({E(1, 1), E(2, 2)});
  storage.SetHardState(HardState{Term(3), kNoMember, Index(1)});
  Config cfg;
  cfg.id = M(1);
  cfg.pre_vote = false;
  auto node = std::move(Node::Create(cfg, &storage)).value();
  auto step = [&](Message m) { ASSERT_TRUE(node->Step(std::move(m)).ok()); };
  auto drain = [&] {
    while (node->HasReady()) {
      Ready rd = node->GetReady();
      storage.Append(rd.entries);
      if (rd.hard_state) storage.SetHardState(*rd.hard_state);
      node->Advance(rd);
    }
  };
  auto resp = [](MessageType t, uint64_t from, uint64_t term, uint64_t index) {
    Message m;
    m.type = t;
    m.from = M(from);
    m.to = M(1);
    m.term = Term(term);
    m.index = Index(index);
    return m;
  };

  Message hup;
  hup.type = MessageType::kHup;
  step(hup);
  step(resp(MessageType::kVoteResp, 2, 4, 0));
  step(resp(MessageType::kVoteResp, 3, 4, 0));
  ASSERT_EQ(node->GetStatus().soft_state.role, Role::kLeader);
  drain();  // the no-op (3, term 4) is durable on the leader
  ASSERT_EQ(node->GetStatus().last_index, Index(3));

  // Entry 2 (term 2) is now on 1, 2 and 3: a majority, but of an earlier term.
  step(resp(MessageType::kAppResp, 2, 4, 2));
  step(resp(MessageType::kAppResp, 3, 4, 2));
  drain();
  EXPECT_EQ(node->GetStatus().hard_state.commit, Index(1));

  // Once the term-4 no-op is on a majority, it commits and entry 2 with it.
  step(resp(MessageType::kAppResp, 2, 4, 3));
  drain();
  EXPECT_EQ(node->GetStatus().hard_state.commit, Index(1));
  step(resp(MessageType::kAppResp, 3, 4, 3));
  drain();
  EXPECT_EQ(node->GetStatus().hard_state.commit, Index(3));
}

// §10.2.1: the leader sends its entries before persisting them but counts itself only after
// Advance() reports them durable.
TEST(ReplicationTest, LeaderCountsOwnEntriesOnlyAfterAdvance) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  Ready rd = c.node(1).GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.messages_may_precede_persist);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_EQ(OfType(rd.messages, MessageType::kApp).size(), 2u);
  // The messages go out before the leader persisted anything.
  for (const Message& m : rd.messages) c.Enqueue(m);
  c.DeliverAll();
  while (c.Process(2)) {
  }
  c.DeliverAll();  // 2's acknowledgement reaches the leader
  EXPECT_EQ(c.CommitOf(1), Index(1)) << "2 of 3 hold entry 2 but one is the leader's unsynced";
  c.Persist(1, rd);
  c.node(1).Advance(rd);
  EXPECT_EQ(c.CommitOf(1), Index(2));
  c.Stabilize();
  EXPECT_EQ(c.member(1).applied, std::vector<std::string>{"x"});
}

// §10.2.1 with a single voter: nothing commits until Advance().
TEST(ReplicationTest, SingleVoterCommitsAfterAdvance) {
  Cluster c({1});
  c.Campaign(1);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  Ready rd = c.node(1).GetReady();
  EXPECT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.committed_entries.empty());
  EXPECT_EQ(c.CommitOf(1), Index(1));
  c.Persist(1, rd);
  c.node(1).Advance(rd);
  EXPECT_EQ(c.CommitOf(1), Index(2));
  ASSERT_TRUE(c.node(1).HasReady());
  rd = c.node(1).GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data, "x");
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->commit, Index(2));
  EXPECT_FALSE(rd.must_sync);  // a commit-only change
  c.node(1).Advance(rd);
}

// Ready contract: committed entries are handed out only once durable locally.
TEST(ReplicationTest, FollowerAppliesOnlyDurableEntries) {
  Cluster c({1, 2});
  c.Campaign(1);
  ASSERT_TRUE(c.node(2).Step(App(1, 2, 1, 1, 1, {E(2, 1, "x")}, 2)).ok());
  Ready rd = c.node(2).GetReady();
  EXPECT_EQ(rd.entries.size(), 1u);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->commit, Index(2));
  EXPECT_TRUE(rd.committed_entries.empty());
  EXPECT_FALSE(rd.messages_may_precede_persist);
  c.Persist(2, rd);
  c.node(2).Advance(rd);
  rd = c.node(2).GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].index, Index(2));
  c.node(2).Advance(rd);
}

// A new term or vote must be durable before the messages announcing it go out, even for a
// member that became leader in the same Ready.
TEST(ReplicationTest, NewTermIsPersistedBeforeMessages) {
  Cluster c({1}, {2});
  Message hup;
  hup.type = MessageType::kHup;
  ASSERT_TRUE(c.node(1).Step(hup).ok());
  Ready rd = c.node(1).GetReady();
  EXPECT_EQ(rd.soft_state->role, Role::kLeader);
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, Term(1));
  EXPECT_TRUE(rd.must_sync);
  EXPECT_FALSE(rd.messages_may_precede_persist);
  EXPECT_FALSE(OfType(rd.messages, MessageType::kApp).empty());  // to the learner
  c.node(1).Advance(rd);
}

// Fast backtracking: a follower with a long divergent tail is repaired in O(terms) probes.
TEST(ReplicationTest, FastBacktrackingSkipsWholeTerms) {
  ClusterOptions o;
  o.pre_vote = false;
  o.check_quorum = false;  // campaigns are driven by the test
  Cluster c({1, 2, 3}, {}, o);
  c.Campaign(1);
  for (int i = 0; i < 20; ++i) c.Propose(1, "a" + std::to_string(i));
  c.Isolate(1);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.node(1).Propose("lost").ok());
  c.Stabilize();
  c.Campaign(2);
  ASSERT_EQ(c.RoleOf(2), Role::kLeader);
  for (int i = 0; i < 30; ++i) c.Propose(2, "b" + std::to_string(i));
  c.Campaign(3);  // 3's log is as long as 2's: 3 leads term 3 with a long log
  ASSERT_EQ(c.RoleOf(3), Role::kLeader);
  const size_t before = c.trace.size();
  c.Heal();
  c.Run(3);
  size_t rejects = 0;
  for (size_t i = before; i < c.trace.size(); ++i) {
    const Message& m = c.trace[i];
    if (m.type == MessageType::kAppResp && m.from == M(1) && m.reject) ++rejects;
  }
  EXPECT_GE(rejects, 1u);
  EXPECT_LE(rejects, 2u);
  EXPECT_EQ(Terms(c.storage(1)), Terms(c.storage(3)));
  EXPECT_EQ(c.member(1).applied, c.member(3).applied);
  EXPECT_EQ(c.member(1).applied.size(), 50u);
}

// Heartbeats carry commit = min(match, commit): a lagging follower never commits entries
// the leader does not know it holds.
TEST(ReplicationTest, HeartbeatCommitBoundedByMatch) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.drop = [](const Message& m) { return m.to == M(3) && m.type == MessageType::kApp; };
  c.Propose(1, "x");
  c.Propose(1, "y");
  EXPECT_EQ(c.CommitOf(1), Index(3));
  c.trace.clear();
  c.Run(1);
  auto hbs = OfType(c.trace, MessageType::kHeartbeat);
  ASSERT_EQ(hbs.size(), 2u);
  for (const Message& hb : hbs) {
    EXPECT_EQ(hb.commit, hb.to == M(3) ? Index(1) : Index(3));
  }
  EXPECT_EQ(c.CommitOf(3), Index(1));
}

}  // namespace
}  // namespace grid::raft
