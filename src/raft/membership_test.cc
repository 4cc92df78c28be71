// Membership changes one at a time (§4.1) with learners (§4.2.1): adding, promoting and
// removing members, the pending-change refusal, and the commit quorum after a change.
#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::ClusterOptions;
using testing::M;
using testing::OfType;

ConfChange CC(ConfChangeType t, uint64_t id) { return ConfChange{t, M(id), "ctx"}; }

void ProposeCC(Cluster& c, uint64_t on, const ConfChange& cc) {
  Status s = c.node(on).ProposeConfChange(cc);
  ASSERT_TRUE(s.ok()) << s.ToString();
  c.Stabilize();
}

// §4.2.1: learners receive the log but never vote and never count towards a commit.
TEST(MembershipTest, LearnerDoesNotVoteOrCount) {
  Cluster c({1, 2}, {3});
  c.Campaign(1);
  for (const Message& m : OfType(c.trace, MessageType::kPreVote)) EXPECT_NE(m.to, M(3));
  for (const Message& m : OfType(c.trace, MessageType::kVote)) EXPECT_NE(m.to, M(3));
  c.Propose(1, "a");
  EXPECT_EQ(c.member(3).applied, std::vector<std::string>{"a"});
  c.Isolate(2);
  ASSERT_TRUE(c.node(1).Propose("b").ok());
  c.Stabilize();
  EXPECT_EQ(c.node(1).GetStatus().progress.at(M(3)).match, Index(3));
  EXPECT_EQ(c.CommitOf(1), Index(2));  // the learner's copy does not commit "b"
  auto st = c.node(1).GetStatus();
  EXPECT_TRUE(st.progress.at(M(3)).learner);
  EXPECT_EQ(st.conf_state.learners, std::vector<MemberId>{M(3)});
}

// §4.2.1: kAddVoter promotes a learner; it then counts.
TEST(MembershipTest, PromoteLearner) {
  Cluster c({1, 2}, {3});
  c.Campaign(1);
  ProposeCC(c, 1, CC(ConfChangeType::kAddVoter, 3));
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(c.member(id).conf_state.voters, (std::vector<MemberId>{M(1), M(2), M(3)})) << id;
    EXPECT_TRUE(c.member(id).conf_state.learners.empty());
  }
  c.Isolate(2);
  c.Propose(1, "b");
  EXPECT_EQ(c.member(1).applied, std::vector<std::string>{"b"});
}

// §4.1: a brand-new member joins as a learner, catches up from the log, and is promoted.
TEST(MembershipTest, AddNewMember) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  // It boots like the others, from the initial configuration, and replays the log.
  c.AddMember(4, ConfState{{M(1), M(2), M(3)}, {}});
  ProposeCC(c, 1, CC(ConfChangeType::kAddLearner, 4));
  c.Run(3);
  EXPECT_EQ(c.member(4).applied, std::vector<std::string>{"a"});
  EXPECT_EQ(c.member(4).conf_state.learners, std::vector<MemberId>{M(4)});
  EXPECT_EQ(c.member(4).conf_state.voters.size(), 3u);
  ProposeCC(c, 1, CC(ConfChangeType::kAddVoter, 4));
  c.Run(3);
  EXPECT_EQ(c.member(4).conf_state.voters.size(), 4u);
  EXPECT_EQ(c.node(4).GetStatus().soft_state.leader, M(1));
}

// A member waiting to be added never campaigns.
TEST(MembershipTest, UnaddedMemberDoesNotCampaign) {
  Cluster c({1, 2, 3});
  c.AddMember(4, ConfState{{M(1), M(2), M(3)}, {}});
  c.Tick(4, 100);
  EXPECT_EQ(c.RoleOf(4), Role::kFollower);
  EXPECT_EQ(c.TermOf(4), Term(0));
}

// §4.2.2: a removed leader steps down and does not campaign again; the rest elect a leader.
TEST(MembershipTest, RemoveLeaderStepsDown) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  ProposeCC(c, 1, CC(ConfChangeType::kRemove, 1));
  EXPECT_EQ(c.RoleOf(1), Role::kFollower);
  EXPECT_EQ(c.member(2).conf_state.voters, (std::vector<MemberId>{M(2), M(3)}));
  c.Isolate(1);
  for (int i = 0; i < 100 && c.Leader() == 0; ++i) c.Run(1);
  ASSERT_NE(c.Leader(), 0u);
  EXPECT_NE(c.Leader(), 1u);
  c.Run(50);
  EXPECT_NE(c.RoleOf(1), Role::kLeader);
  EXPECT_NE(c.RoleOf(1), Role::kCandidate);
  EXPECT_NE(c.RoleOf(1), Role::kPreCandidate);
}

TEST(MembershipTest, RemoveFollower) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  ProposeCC(c, 1, CC(ConfChangeType::kRemove, 3));
  EXPECT_EQ(c.node(1).GetStatus().conf_state.voters, (std::vector<MemberId>{M(1), M(2)}));
  EXPECT_EQ(c.node(1).GetStatus().progress.count(M(3)), 0u);
  c.Propose(1, "a");
  EXPECT_EQ(c.member(2).applied, std::vector<std::string>{"a"});
}

// §4.1: the commit quorum is recomputed when a change applies; removing a member can
// commit entries a majority of the remaining voters holds.
TEST(MembershipTest, RemovalCommitsWithSmallerQuorum) {
  Cluster c({1, 2, 3, 4});
  c.Campaign(1);
  c.Isolate(3);
  c.Isolate(4);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Stabilize();
  EXPECT_EQ(c.CommitOf(1), Index(1));  // 2 of 4
  // The caller applies a committed removal of 4 (voters 1, 2, 3: quorum 2).
  c.node(1).ApplyConfChange(CC(ConfChangeType::kRemove, 4));
  c.Stabilize();
  EXPECT_EQ(c.CommitOf(1), Index(2));
  EXPECT_EQ(c.member(1).applied, std::vector<std::string>{"x"});
}

// §4.1: one change at a time: a second change is refused until the first is applied.
TEST(MembershipTest, OneChangeAtATime) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  ASSERT_TRUE(c.node(1).ProposeConfChange(CC(ConfChangeType::kAddLearner, 4)).ok());
  Status s = c.node(1).ProposeConfChange(CC(ConfChangeType::kAddLearner, 5));
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_TRUE(c.node(1).Propose("normal entries still flow").ok());
  c.Stabilize();
  EXPECT_EQ(c.member(1).conf_state.learners, std::vector<MemberId>{M(4)});
  EXPECT_TRUE(c.node(1).ProposeConfChange(CC(ConfChangeType::kAddLearner, 5)).ok());
  c.Stabilize();
  EXPECT_EQ(c.member(1).conf_state.learners, (std::vector<MemberId>{M(4), M(5)}));
}

// A new leader refuses a change until every entry it inherited is applied (any of them may
// be a change it cannot yet see as committed).
TEST(MembershipTest, NewLeaderWaitsForInheritedEntries) {
  ClusterOptions o;
  o.pre_vote = false;
  o.check_quorum = false;
  Cluster c({1, 2, 3}, {}, o);
  c.Campaign(1);
  c.drop = [](const Message& m) { return m.type == MessageType::kAppResp; };
  c.Propose(1, "a");  // in every log, committed nowhere
  c.Heal();
  c.Isolate(1);
  Message hup;
  hup.type = MessageType::kHup;
  ASSERT_TRUE(c.node(2).Step(hup).ok());
  c.Process(2);
  c.DeliverAll();
  c.Process(3);
  c.DeliverAll();
  ASSERT_EQ(c.RoleOf(2), Role::kLeader);
  EXPECT_EQ(c.node(2).ProposeConfChange(CC(ConfChangeType::kRemove, 1)).code(),
            Code::kFailedPrecondition);
  c.Stabilize();
  EXPECT_EQ(c.member(2).applied, std::vector<std::string>{"a"});
  EXPECT_TRUE(c.node(2).ProposeConfChange(CC(ConfChangeType::kRemove, 1)).ok());
}

// kUpdate changes nothing in the configuration.
TEST(MembershipTest, UpdateChangesNothing) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  const ConfState before = c.member(1).conf_state;
  ProposeCC(c, 1, CC(ConfChangeType::kUpdate, 2));
  EXPECT_EQ(c.member(1).conf_state, before);
  EXPECT_EQ(c.node(1).GetStatus().conf_state, before);
}

// A follower forwards a change to the leader.
TEST(MembershipTest, FollowerForwardsChange) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  ProposeCC(c, 2, CC(ConfChangeType::kAddLearner, 9));
  EXPECT_EQ(c.member(3).conf_state.learners, std::vector<MemberId>{M(9)});
}

}  // namespace
}  // namespace grid::raft
