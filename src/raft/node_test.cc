// Node: creation checks, message admission, restart, status, determinism.
#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::ClusterOptions;
using testing::M;

MemoryStorage* Boot(MemoryStorage* s, std::vector<MemberId> voters) {
  Snapshot boot;
  boot.meta.conf_state.voters = std::move(voters);
  EXPECT_TRUE(s->ApplySnapshot(boot).ok());
  return s;
}

TEST(NodeTest, CreateRejectsBadConfig) {
  MemoryStorage s;
  Boot(&s, {M(1)});
  Config c;
  c.id = M(1);
  EXPECT_TRUE(Node::Create(c, &s).ok());
  EXPECT_FALSE(Node::Create(c, nullptr).ok());
  Config bad = c;
  bad.id = kNoMember;
  EXPECT_EQ(Node::Create(bad, &s).status().code(), Code::kInvalidArgument);
  bad = c;
  bad.election_ticks = bad.heartbeat_ticks;
  EXPECT_EQ(Node::Create(bad, &s).status().code(), Code::kInvalidArgument);
  bad = c;
  bad.heartbeat_ticks = 0;
  EXPECT_EQ(Node::Create(bad, &s).status().code(), Code::kInvalidArgument);
  bad = c;
  bad.max_inflight_msgs = 0;
  EXPECT_EQ(Node::Create(bad, &s).status().code(), Code::kInvalidArgument);
  bad = c;
  bad.applied = Index(5);
  EXPECT_EQ(Node::Create(bad, &s).status().code(), Code::kInvalidArgument);
}

TEST(NodeTest, CreateRejectsCommitBeyondLog) {
  MemoryStorage s;
  Boot(&s, {M(1)});
  s.SetHardState(HardState{Term(1), kNoMember, Index(3)});
  Config c;
  c.id = M(1);
  EXPECT_EQ(Node::Create(c, &s).status().code(), Code::kInvalidArgument);
}

TEST(NodeTest, StepRejectsInvalidMessages) {
  Cluster c({1, 2, 3});
  Node& n = c.node(1);
  Message m;
  m.type = MessageType::kHeartbeat;
  m.from = M(2);
  m.to = M(1);
  m.term = Term(1);
  EXPECT_TRUE(n.Step(m).ok());
  Message wrong_to = m;
  wrong_to.to = M(3);
  EXPECT_EQ(n.Step(wrong_to).code(), Code::kInvalidArgument);
  Message no_from = m;
  no_from.from = kNoMember;
  EXPECT_EQ(n.Step(no_from).code(), Code::kInvalidArgument);
  Message self = m;
  self.from = M(1);
  EXPECT_EQ(n.Step(self).code(), Code::kInvalidArgument);
  Message no_term = m;
  no_term.term = Term(0);
  EXPECT_EQ(n.Step(no_term).code(), Code::kInvalidArgument);
  Message local_with_term;
  local_with_term.type = MessageType::kHup;
  local_with_term.term = Term(3);
  EXPECT_EQ(n.Step(local_with_term).code(), Code::kInvalidArgument);
  Message unknown = m;
  unknown.type = static_cast<MessageType>(77);
  EXPECT_EQ(n.Step(unknown).code(), Code::kInvalidArgument);
  Message snap_without = m;
  snap_without.type = MessageType::kSnap;
  EXPECT_EQ(n.Step(snap_without).code(), Code::kInvalidArgument);
  Message gap = m;
  gap.type = MessageType::kApp;
  gap.entries = {Entry{Term(1), Index(5), EntryType::kNormal, ""}};
  EXPECT_EQ(n.Step(gap).code(), Code::kInvalidArgument);
}

TEST(NodeTest, ProposeWithoutLeaderIsUnavailable) {
  Cluster c({1, 2, 3});
  EXPECT_EQ(c.node(1).Propose("x").code(), Code::kUnavailable);
  EXPECT_EQ(c.node(1).ProposeConfChange(ConfChange{}).code(), Code::kUnavailable);
}

TEST(NodeTest, FollowerForwardsProposal) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  EXPECT_TRUE(c.node(3).Propose("via3").ok());
  c.Stabilize();
  EXPECT_EQ(c.member(1).applied, std::vector<std::string>{"via3"});
}

// A batch of proposals travels as one message: one append per follower, one forwarded
// proposal from a follower, and the entries commit in order.
TEST(NodeTest, ProposeAllSendsOneMessagePerFollower) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Stabilize();
  ASSERT_TRUE(c.node(1).ProposeAll({"a", "b", "c"}).ok());
  ASSERT_TRUE(c.node(1).HasReady());
  Ready rd = c.node(1).GetReady();
  size_t appends = 0;
  for (const Message& m : rd.messages) {
    if (m.type != MessageType::kApp) continue;
    ++appends;
    ASSERT_EQ(m.entries.size(), 3u);
    EXPECT_EQ(m.entries[0].data, "a");
    EXPECT_EQ(m.entries[2].data, "c");
  }
  EXPECT_EQ(appends, 2u);
  c.Persist(1, rd);
  c.Apply(1, rd);
  for (Message& m : rd.messages) c.Enqueue(std::move(m));
  c.node(1).Advance(rd);
  c.Stabilize();
  ASSERT_TRUE(c.node(3).ProposeAll({"d", "e"}).ok());
  Ready forwarded = c.node(3).GetReady();
  ASSERT_EQ(forwarded.messages.size(), 1u);
  EXPECT_EQ(forwarded.messages[0].type, MessageType::kProp);
  EXPECT_EQ(forwarded.messages[0].entries.size(), 2u);
  c.Persist(3, forwarded);
  for (Message& m : forwarded.messages) c.Enqueue(std::move(m));
  c.node(3).Advance(forwarded);
  c.Stabilize();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.member(id).applied, (std::vector<std::string>{"a", "b", "c", "d", "e"})) << id;
  }
}

TEST(NodeTest, ProposeAllIsRefusedAsAWholeWithoutLeader) {
  Cluster c({1, 2, 3});
  EXPECT_EQ(c.node(1).ProposeAll({"x", "y"}).code(), Code::kUnavailable);
}

TEST(NodeTest, StatusProgressOnlyOnLeader) {
  Cluster c({1, 2}, {3});
  c.Campaign(1);
  c.Propose(1, "a");
  auto st = c.node(1).GetStatus();
  EXPECT_EQ(st.id, M(1));
  EXPECT_EQ(st.soft_state, (SoftState{M(1), Role::kLeader}));
  EXPECT_EQ(st.hard_state, (HardState{Term(1), M(1), Index(2)}));
  EXPECT_EQ(st.applied, Index(2));
  EXPECT_EQ(st.last_index, Index(2));
  ASSERT_EQ(st.progress.size(), 3u);
  EXPECT_EQ(st.progress.at(M(1)).match, Index(2));
  EXPECT_EQ(st.progress.at(M(2)).match, Index(2));
  EXPECT_EQ(st.progress.at(M(2)).next, Index(3));
  EXPECT_TRUE(st.progress.at(M(3)).learner);
  EXPECT_EQ(st.conf_state, (ConfState{{M(1), M(2)}, {M(3)}}));
  EXPECT_TRUE(c.node(2).GetStatus().progress.empty());
}

TEST(NodeTest, NoReadyWhileOutstanding) {
  Cluster c({1});
  c.Campaign(1);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  Ready rd = c.node(1).GetReady();
  ASSERT_TRUE(c.node(1).Propose("y").ok());
  EXPECT_FALSE(c.node(1).HasReady());
  c.Persist(1, rd);
  c.node(1).Advance(rd);
  EXPECT_TRUE(c.node(1).HasReady());
  c.Stabilize();
  EXPECT_EQ(c.member(1).applied, (std::vector<std::string>{"x", "y"}));
}

// Term, vote and log survive a restart; the restarted member rejoins.
TEST(NodeTest, RestartKeepsDurableState) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  c.Restart(2);
  auto st = c.node(2).GetStatus();
  EXPECT_EQ(st.hard_state.term, Term(1));
  EXPECT_EQ(st.hard_state.vote, M(1));
  EXPECT_EQ(st.last_index, Index(2));
  EXPECT_EQ(st.applied, Index(2));
  c.Propose(1, "b");
  EXPECT_EQ(c.member(2).applied, (std::vector<std::string>{"a", "b"}));
  // A restarted leader comes back as a follower and the cluster goes on.
  c.Restart(1);
  EXPECT_EQ(c.RoleOf(1), Role::kFollower);
  for (int i = 0; i < 100 && c.Leader() == 0; ++i) c.Run(1);
  ASSERT_NE(c.Leader(), 0u);
  c.Propose(c.Leader(), "c");
  EXPECT_EQ(c.member(1).applied.back(), "c");
}

// Determinism: the same seeds and inputs give the same messages, byte for byte.
std::vector<Message> Scenario(uint64_t seed) {
  ClusterOptions o;
  o.seed = seed;
  Cluster c({1, 2, 3, 4, 5}, {}, o);
  for (int i = 0; i < 60; ++i) {
    c.Run(1);
    const uint64_t leader = c.Leader();
    if (leader != 0 && i % 3 == 0) {
      (void)c.node(leader).Propose("p" + std::to_string(i));
      c.node(leader).ReadIndex("r" + std::to_string(i));
    }
    if (i == 20) c.Isolate(c.Leader());
    if (i == 40) c.Heal();
  }
  return c.trace;
}

TEST(NodeTest, DeterministicTraces) {
  const auto a = Scenario(7);
  const auto b = Scenario(7);
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b);
  const auto other = Scenario(8);
  EXPECT_FALSE(a == other);  // the seed matters
}

}  // namespace
}  // namespace grid::raft
