// Leader election: §5.2 (basics, split votes), §5.4.1 (vote restriction), §9.6 (pre-vote),
// §6.2 / §4.2.3 (check-quorum and the leader lease against disruptive candidates).
#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::ClusterOptions;
using testing::M;
using testing::OfType;

ClusterOptions NoPreVote() {
  ClusterOptions o;
  o.pre_vote = false;
  return o;
}

// No pre-vote and no lease: votes are decided by terms and logs alone.
ClusterOptions VotesByLogsAlone() {
  ClusterOptions o = NoPreVote();
  o.check_quorum = false;
  return o;
}

// A vote request of `from` (term `term`, last entry log_index@log_term) to `to`.
Message VoteRequest(uint64_t from, uint64_t to, Term term, Index log_index, Term log_term) {
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = M(from);
  vote.to = M(to);
  vote.term = term;
  vote.index = log_index;
  vote.log_term = log_term;
  return vote;
}

// Steps `m` into its addressee and returns the answers of that member's next Ready.
std::vector<Message> StepAndAnswers(Cluster& c, Message m) {
  const uint64_t to = m.to.value();
  EXPECT_TRUE(c.node(to).Step(std::move(m)).ok());
  c.Process(to);
  return c.TakeQueued();
}

// §5.2
TEST(ElectionTest, CampaignWinsAndCommitsNoop) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  EXPECT_EQ(c.RoleOf(1), Role::kLeader);
  EXPECT_EQ(c.TermOf(1), Term(1));
  for (uint64_t id : {2, 3}) {
    EXPECT_EQ(c.RoleOf(id), Role::kFollower);
    EXPECT_EQ(c.node(id).GetStatus().soft_state.leader, M(1));
    EXPECT_EQ(c.TermOf(id), Term(1));
  }
  // The leader's no-op of its term commits everywhere.
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.CommitOf(id), Index(1)) << id;
  auto st = c.storage(2).Entries(Index(1), Index(2), UINT64_MAX).value();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_TRUE(st[0].data.empty());
  EXPECT_EQ(st[0].term, Term(1));
}

// §5.2
TEST(ElectionTest, ElectionTimeoutElectsExactlyOneLeader) {
  Cluster c({1, 2, 3, 4, 5});
  for (int i = 0; i < 100 && c.Leader() == 0; ++i) c.Run(1);
  const uint64_t leader = c.Leader();
  ASSERT_NE(leader, 0u);
  int leaders = 0;
  for (uint64_t id : c.ids()) leaders += c.RoleOf(id) == Role::kLeader ? 1 : 0;
  EXPECT_EQ(leaders, 1);
  // Heartbeats keep it in place.
  c.Run(100);
  EXPECT_EQ(c.Leader(), leader);
}

// §5.2: no election timeout fires before election_ticks.
TEST(ElectionTest, RandomizedTimeoutWithinRange) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    ClusterOptions o;
    o.seed = seed;
    Cluster c({1, 2, 3}, {}, o);
    int ticks = 0;
    while (c.RoleOf(1) == Role::kFollower) {
      c.Tick(1);
      ++ticks;
      ASSERT_LT(ticks, 20);
    }
    EXPECT_GE(ticks, 10);
  }
}

// §5.2: split votes resolve through randomized timeouts.
TEST(ElectionTest, SplitVoteThenRecovers) {
  Cluster c({1, 2, 3, 4}, {}, NoPreVote());
  c.drop = [](const Message& m) {
    return m.type == MessageType::kVote &&
           ((m.from == M(1) && m.to == M(4)) || (m.from == M(2) && m.to == M(3)) ||
            (m.from == M(1) && m.to == M(2)) || (m.from == M(2) && m.to == M(1)));
  };
  Message hup;
  hup.type = MessageType::kHup;
  ASSERT_TRUE(c.node(1).Step(hup).ok());
  ASSERT_TRUE(c.node(2).Step(hup).ok());
  c.Stabilize();
  EXPECT_EQ(c.RoleOf(1), Role::kCandidate);
  EXPECT_EQ(c.RoleOf(2), Role::kCandidate);
  EXPECT_EQ(c.Leader(), 0u);
  c.Heal();
  for (int i = 0; i < 100 && c.Leader() == 0; ++i) c.Run(1);
  ASSERT_NE(c.Leader(), 0u);
  EXPECT_GE(c.TermOf(c.Leader()), Term(2));
}

// §5.2: each member votes at most once per term.
TEST(ElectionTest, OneVotePerTerm) {
  Cluster c({1, 2, 3}, {}, NoPreVote());
  Message vote;
  vote.type = MessageType::kVote;
  vote.to = M(3);
  vote.term = Term(1);
  vote.from = M(1);
  ASSERT_TRUE(c.node(3).Step(vote).ok());
  vote.from = M(2);
  ASSERT_TRUE(c.node(3).Step(vote).ok());
  c.Process(3);
  auto resps = OfType(c.TakeQueued(), MessageType::kVoteResp);
  ASSERT_EQ(resps.size(), 2u);
  EXPECT_FALSE(resps[0].reject);
  EXPECT_TRUE(resps[1].reject);
  EXPECT_EQ(c.node(3).GetStatus().hard_state.vote, M(1));
}

// §5.4.1: a candidate whose log is behind is refused.
TEST(ElectionTest, StaleLogCandidateIsRefused) {
  const ClusterOptions o = VotesByLogsAlone();
  Cluster c({1, 2, 3}, {}, o);
  c.Campaign(1);
  c.Isolate(3);
  c.Propose(1, "a");
  c.Propose(1, "b");
  EXPECT_EQ(c.CommitOf(1), Index(3));
  EXPECT_EQ(c.node(3).GetStatus().last_index, Index(1));
  c.Heal();
  c.Isolate(1);
  c.Campaign(3);
  EXPECT_NE(c.RoleOf(3), Role::kLeader);
  EXPECT_EQ(c.TermOf(2), Term(2));
  EXPECT_NE(c.node(2).GetStatus().hard_state.vote, M(3));
  c.Campaign(2);
  EXPECT_EQ(c.RoleOf(2), Role::kLeader);
  // The new leader holds every committed entry (§5.4 leader completeness).
  auto es = c.storage(2).Entries(Index(2), Index(4), UINT64_MAX).value();
  ASSERT_EQ(es.size(), 2u);
  EXPECT_EQ(es[0].data, "a");
  EXPECT_EQ(es[1].data, "b");
}

// Figure 2: only a current leader or a granted vote restarts the election timer. A vote refused
// for a stale log takes the candidate's term but not the refuser's timer: without pre-vote, a
// stale candidate campaigning again and again would otherwise keep the members that hold the
// newer entries from ever campaigning (a liveness failure the simulator found).
TEST(ElectionTest, RefusedVoteDoesNotRestartTheElectionTimer) {
  const ClusterOptions o = VotesByLogsAlone();
  Cluster c({1, 2, 3}, {}, o);
  c.Campaign(1);
  c.Isolate(3);
  c.Propose(1, "a");
  ASSERT_EQ(c.node(2).GetStatus().last_index, Index(2));
  c.Isolate(1);  // member 2 hears from no leader from now on
  Term stale_term = c.TermOf(2);
  bool campaigned = false;
  // A stale vote every election_ticks - 1 ticks, for three election timeouts: a timer restarted
  // by each of them (every randomized timeout is at least election_ticks) would never fire.
  for (int round = 0; round < 3 * o.election_ticks && !campaigned; ++round) {
    if (round % (o.election_ticks - 1) == 0) {
      stale_term = std::max(stale_term, c.TermOf(2)) + 1;
      // Member 3 lacks entry 2.
      auto resps = OfType(StepAndAnswers(c, VoteRequest(3, 2, stale_term, Index(1), Term(1))),
                          MessageType::kVoteResp);
      ASSERT_EQ(resps.size(), 1u);
      EXPECT_TRUE(resps[0].reject);
      EXPECT_EQ(c.TermOf(2), stale_term);  // the term is taken all the same
    }
    c.Tick(2);
    c.Process(2);
    c.TakeQueued();
    campaigned = c.RoleOf(2) == Role::kCandidate;
  }
  EXPECT_TRUE(campaigned) << "member 2 never campaigned: stale votes kept restarting its timer";
}

// §5.1: a vote request of an older term is answered with our term (an empty kAppResp, which
// means nothing else), so a candidate that is behind catches up instead of campaigning in terms
// nobody listens to. It is not a kVoteResp: arriving after the candidate reached our term, that
// would count as a refusal of its new candidacy.
TEST(ElectionTest, VoteOfAnOlderTermIsAnsweredWithOurTerm) {
  Cluster c({1, 2, 3}, {}, NoPreVote());
  c.Isolate(2);
  c.Campaign(2);  // no one hears member 2: it stays a candidate, at term 1
  c.Campaign(2);  // then at term 2
  ASSERT_EQ(c.TermOf(2), Term(2));
  ASSERT_EQ(c.TermOf(1), Term(0));
  c.Heal();
  auto answers =
      StepAndAnswers(c, VoteRequest(1, 2, Term(1), c.node(2).GetStatus().last_index, Term(0)));
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].type, MessageType::kAppResp);
  EXPECT_EQ(answers[0].to, M(1));
  EXPECT_EQ(answers[0].term, Term(2));
  EXPECT_FALSE(answers[0].reject);
  ASSERT_TRUE(c.node(1).Step(answers[0]).ok());
  EXPECT_EQ(c.TermOf(1), Term(2));
  EXPECT_EQ(c.RoleOf(1), Role::kFollower);
}

// A granted vote restarts the timer (the voter waits for the candidate's heartbeats).
TEST(ElectionTest, GrantedVoteRestartsTheElectionTimer) {
  const ClusterOptions o = VotesByLogsAlone();
  Cluster c({1, 2, 3}, {}, o);
  c.Campaign(1);
  c.Isolate(1);
  c.Tick(2, o.election_ticks - 1);
  auto resps = OfType(StepAndAnswers(c, VoteRequest(3, 2, c.TermOf(2) + 1,
                                                    c.node(2).GetStatus().last_index,
                                                    c.TermOf(2))),
                      MessageType::kVoteResp);
  ASSERT_EQ(resps.size(), 1u);
  EXPECT_FALSE(resps[0].reject);
  c.Tick(2, o.election_ticks - 1);  // below any randomized timeout, counted from the vote
  c.Process(2);
  EXPECT_EQ(c.RoleOf(2), Role::kFollower);
}

// §9.6: a partitioned member does not inflate its term, so it does not disrupt on return.
TEST(ElectionTest, PreVotePreventsTermInflation) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(3);
  c.Run(200);
  EXPECT_EQ(c.TermOf(3), Term(1));
  EXPECT_EQ(c.RoleOf(3), Role::kPreCandidate);
  c.Heal();
  c.Run(30);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.TermOf(1), Term(1));
  EXPECT_EQ(c.node(3).GetStatus().soft_state.leader, M(1));
}

// Without pre-vote the same partition inflates the term (the behaviour pre-vote prevents).
TEST(ElectionTest, WithoutPreVoteTermInflates) {
  Cluster c({1, 2, 3}, {}, NoPreVote());
  c.Campaign(1);
  c.Isolate(3);
  c.Run(200);
  EXPECT_GT(c.TermOf(3), Term(5));
}

// §9.6: a pre-candidate that wins campaigns for real in the next term.
TEST(ElectionTest, PreVoteWinnerCampaigns) {
  Cluster c({1, 2, 3});
  c.Campaign(2);
  EXPECT_EQ(c.RoleOf(2), Role::kLeader);
  EXPECT_EQ(c.TermOf(2), Term(1));
  auto prevotes = OfType(c.trace, MessageType::kPreVote);
  ASSERT_EQ(prevotes.size(), 2u);
  EXPECT_EQ(prevotes[0].term, Term(1));
  EXPECT_EQ(OfType(c.trace, MessageType::kVote).size(), 2u);
}

// §6.2: a leader that cannot reach a quorum steps down after an election timeout.
TEST(ElectionTest, CheckQuorumStepDown) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(1);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(c.RoleOf(1), Role::kLeader) << i;
    c.Tick(1);
    c.Stabilize();
  }
  // One timeout may have seen the earlier acknowledgements; the next one cannot.
  c.Tick(1, 10);
  EXPECT_EQ(c.RoleOf(1), Role::kFollower);
  c.Heal();
}

TEST(ElectionTest, CheckQuorumKeepsHealthyLeader) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(3);
  c.Run(100);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.TermOf(1), Term(1));
}

// §4.2.3: members that hear from a live leader ignore a disruptive candidate.
TEST(ElectionTest, LeaseIgnoresDisruptiveVote) {
  Cluster c({1, 2, 3}, {}, NoPreVote());
  c.Campaign(1);
  c.Run(2);
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = M(3);
  vote.to = M(2);
  vote.term = Term(5);
  vote.index = Index(100);
  vote.log_term = Term(5);
  ASSERT_TRUE(c.node(2).Step(vote).ok());
  EXPECT_EQ(c.TermOf(2), Term(1));
  EXPECT_FALSE(c.node(2).HasReady());
  // A vote forced by a leadership transfer passes the lease.
  vote.context = "transfer";
  ASSERT_TRUE(c.node(2).Step(vote).ok());
  EXPECT_EQ(c.TermOf(2), Term(5));
  EXPECT_EQ(c.node(2).GetStatus().hard_state.vote, M(3));
}

// A stale leader learns the newer term from a follower's answer and steps down.
TEST(ElectionTest, StaleLeaderStepsDownOnHigherTerm) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(1);
  uint64_t next = 0;
  for (int i = 0; i < 100 && next == 0; ++i) {
    c.Tick(2);
    c.Tick(3);
    c.Stabilize();
    for (uint64_t id : {2, 3}) {
      if (c.RoleOf(id) == Role::kLeader) next = id;
    }
  }
  ASSERT_NE(next, 0u);
  EXPECT_EQ(c.TermOf(next), Term(2));
  EXPECT_EQ(c.RoleOf(1), Role::kLeader);  // it has not noticed yet (no tick since)
  c.Heal();
  c.Tick(1);  // 1 still believes it leads and sends a heartbeat
  c.Stabilize();
  EXPECT_EQ(c.RoleOf(1), Role::kFollower);
  EXPECT_EQ(c.TermOf(1), Term(2));
  c.Run(3);
  EXPECT_EQ(c.node(1).GetStatus().soft_state.leader, M(next));
}

// Members outside the voters never campaign.
TEST(ElectionTest, LearnerNeverCampaigns) {
  Cluster c({1, 2}, {3});
  c.Isolate(1);
  c.Isolate(2);
  c.Tick(3, 100);
  EXPECT_EQ(c.RoleOf(3), Role::kFollower);
  EXPECT_EQ(c.TermOf(3), Term(0));
}

TEST(ElectionTest, SingleVoterElectsItself) {
  Cluster c({1});
  c.Run(25);
  EXPECT_EQ(c.RoleOf(1), Role::kLeader);
  EXPECT_EQ(c.CommitOf(1), Index(1));
}

}  // namespace
}  // namespace grid::raft
