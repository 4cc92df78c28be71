// Leadership transfer (§3.10).
#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::M;
using testing::OfType;

// §3.10: the transferee campaigns at once and wins, past the followers' lease.
TEST(TransferTest, TransferToUpToDateFollower) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  c.node(1).TransferLeadership(M(2));
  c.Stabilize();
  EXPECT_EQ(c.RoleOf(2), Role::kLeader);
  EXPECT_EQ(c.TermOf(2), Term(2));
  EXPECT_EQ(c.RoleOf(1), Role::kFollower);
  EXPECT_EQ(OfType(c.trace, MessageType::kTimeoutNow).size(), 1u);
  // No pre-vote for a transfer: the votes are forced past the lease.
  for (const Message& m : OfType(c.trace, MessageType::kVote)) {
    if (m.term == Term(2)) {
      EXPECT_EQ(m.context, "transfer");
    }
  }
  c.Propose(2, "b");
  EXPECT_EQ(c.member(3).applied, (std::vector<std::string>{"a", "b"}));
}

// §3.10: a lagging transferee is caught up first; proposals are refused meanwhile.
TEST(TransferTest, CatchesUpTransfereeFirst) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(3);
  c.Propose(1, "a");
  c.Propose(1, "b");
  c.node(1).TransferLeadership(M(3));
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, M(3));
  EXPECT_EQ(c.node(1).Propose("refused").code(), Code::kUnavailable);
  EXPECT_EQ(c.node(1).ProposeConfChange(ConfChange{}).code(), Code::kUnavailable);
  c.Heal();
  c.Run(3);
  EXPECT_EQ(c.RoleOf(3), Role::kLeader);
  EXPECT_EQ(c.member(3).applied, (std::vector<std::string>{"a", "b"}));
}

// §3.10: a transfer that does not complete within an election timeout is abandoned.
TEST(TransferTest, AbortsAfterElectionTimeout) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(3);
  c.node(1).TransferLeadership(M(3));
  EXPECT_EQ(c.node(1).Propose("refused").code(), Code::kUnavailable);
  for (int i = 0; i < 9; ++i) c.Run(1);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, M(3));
  c.Run(1);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, kNoMember);
  EXPECT_EQ(c.RoleOf(1), Role::kLeader);
  EXPECT_TRUE(c.node(1).Propose("accepted").ok());
}

TEST(TransferTest, LearnerRefused) {
  Cluster c({1, 2}, {3});
  c.Campaign(1);
  c.node(1).TransferLeadership(M(3));
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, kNoMember);
  EXPECT_TRUE(c.node(1).Propose("fine").ok());
  c.Stabilize();
  EXPECT_TRUE(OfType(c.trace, MessageType::kTimeoutNow).empty());
}

TEST(TransferTest, ForwardedByFollower) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.node(3).TransferLeadership(M(3));
  c.Stabilize();
  EXPECT_EQ(c.RoleOf(3), Role::kLeader);
}

TEST(TransferTest, TransferToSelfIsNoop) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.node(1).TransferLeadership(M(1));
  c.Stabilize();
  EXPECT_EQ(c.RoleOf(1), Role::kLeader);
  EXPECT_EQ(c.TermOf(1), Term(1));
}

}  // namespace
}  // namespace grid::raft
