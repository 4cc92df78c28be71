// ReadIndex (§6.4): leadership confirmed by a heartbeat round, forwarding from followers and
// learners, waiting for the leader's first commit in its term, the single-voter case, and the
// queue limit.
#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::ClusterOptions;
using testing::M;
using testing::OfType;

// §6.4
TEST(ReadIndexTest, LeaderConfirmsWithHeartbeatRound) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  const size_t before = c.trace.size();
  c.node(1).ReadIndex("r1");
  c.Stabilize();
  ASSERT_EQ(c.member(1).reads.size(), 1u);
  EXPECT_EQ(c.member(1).reads[0], (ReadState{Index(2), "r1"}));
  bool round_sent = false;
  for (size_t i = before; i < c.trace.size(); ++i) {
    if (c.trace[i].type == MessageType::kHeartbeat && !c.trace[i].context.empty()) {
      round_sent = true;
    }
  }
  EXPECT_TRUE(round_sent);
}

// §6.4: without a quorum's acknowledgement no read is served.
TEST(ReadIndexTest, NoQuorumNoRead) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(2);
  c.Isolate(3);
  c.node(1).ReadIndex("r1");
  c.Stabilize();
  c.Tick(1, 3);
  c.Stabilize();
  EXPECT_TRUE(c.member(1).reads.empty());
  c.Heal();
  c.Run(1);  // the next heartbeat carries the pending round
  ASSERT_EQ(c.member(1).reads.size(), 1u);
  EXPECT_EQ(c.member(1).reads[0].request_ctx, "r1");
}

// §6.4: one acknowledgement from a majority confirms every earlier request.
TEST(ReadIndexTest, BatchedRequestsConfirmedTogether) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(2);
  c.Isolate(3);
  c.node(1).ReadIndex("r1");
  c.Propose(1, "a");
  c.node(1).ReadIndex("r2");
  c.Stabilize();
  c.Heal();
  c.Run(1);
  ASSERT_EQ(c.member(1).reads.size(), 2u);
  EXPECT_EQ(c.member(1).reads[0], (ReadState{Index(1), "r1"}));
  EXPECT_EQ(c.member(1).reads[1], (ReadState{Index(1), "r2"}));  // "a" was not committed yet
}

// §6.4: a follower forwards the request and gets the leader's read index back.
TEST(ReadIndexTest, FollowerForwardsToLeader) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  c.node(2).ReadIndex("f1");
  c.Stabilize();
  ASSERT_EQ(c.member(2).reads.size(), 1u);
  EXPECT_EQ(c.member(2).reads[0], (ReadState{Index(2), "f1"}));
  EXPECT_EQ(OfType(c.trace, MessageType::kReadIndex).size(), 1u);
  EXPECT_EQ(OfType(c.trace, MessageType::kReadIndexResp).size(), 1u);
  EXPECT_TRUE(c.member(1).reads.empty());
}

TEST(ReadIndexTest, LearnerForwardsToLeader) {
  Cluster c({1, 2}, {3});
  c.Campaign(1);
  c.node(3).ReadIndex("l1");
  c.Stabilize();
  ASSERT_EQ(c.member(3).reads.size(), 1u);
  EXPECT_EQ(c.member(3).reads[0].request_ctx, "l1");
}

// §6.4: a new leader's commit index may lag; reads wait for its first commit in its term.
TEST(ReadIndexTest, WaitsForFirstCommitOfTerm) {
  Cluster c({1, 2, 3});
  c.drop = [](const Message& m) { return m.type == MessageType::kAppResp; };
  c.Campaign(1);
  ASSERT_EQ(c.RoleOf(1), Role::kLeader);
  ASSERT_EQ(c.CommitOf(1), Index(0));
  c.node(1).ReadIndex("early");
  c.Stabilize();
  c.Tick(1);
  c.Stabilize();
  EXPECT_TRUE(c.member(1).reads.empty());
  c.Heal();
  c.Run(2);
  ASSERT_EQ(c.member(1).reads.size(), 1u);
  EXPECT_EQ(c.member(1).reads[0], (ReadState{Index(1), "early"}));
}

// A single voter answers at once (after its first commit in its term).
TEST(ReadIndexTest, SingleVoterAnswersAtOnce) {
  Cluster c({1});
  c.Campaign(1);
  c.Propose(1, "a");
  const size_t before = c.trace.size();
  c.node(1).ReadIndex("s1");
  ASSERT_TRUE(c.node(1).HasReady());
  Ready rd = c.node(1).GetReady();
  ASSERT_EQ(rd.read_states.size(), 1u);
  EXPECT_EQ(rd.read_states[0], (ReadState{Index(2), "s1"}));
  c.node(1).Advance(rd);
  EXPECT_EQ(c.trace.size(), before);
}

TEST(ReadIndexTest, SingleVoterWaitsForNoop) {
  Cluster c({1});
  Message hup;
  hup.type = MessageType::kHup;
  ASSERT_TRUE(c.node(1).Step(hup).ok());
  c.node(1).ReadIndex("s0");  // the no-op is not durable yet
  Ready rd = c.node(1).GetReady();
  EXPECT_TRUE(rd.read_states.empty());
  c.Persist(1, rd);
  c.node(1).Advance(rd);
  rd = c.node(1).GetReady();
  ASSERT_EQ(rd.read_states.size(), 1u);
  EXPECT_EQ(rd.read_states[0], (ReadState{Index(1), "s0"}));
  c.node(1).Advance(rd);
}

// max_pending_read_index_requests: requests beyond it are dropped.
TEST(ReadIndexTest, PendingRequestsLimit) {
  ClusterOptions o;
  o.tweak = [](Config& cfg) { cfg.max_pending_read_index_requests = 2; };
  Cluster c({1, 2, 3}, {}, o);
  c.Campaign(1);
  c.Isolate(2);
  c.Isolate(3);
  c.node(1).ReadIndex("r1");
  c.node(1).ReadIndex("r2");
  c.node(1).ReadIndex("r3");  // dropped
  c.Stabilize();
  c.Heal();
  c.Run(1);
  ASSERT_EQ(c.member(1).reads.size(), 2u);
  EXPECT_EQ(c.member(1).reads[0].request_ctx, "r1");
  EXPECT_EQ(c.member(1).reads[1].request_ctx, "r2");
  c.node(1).ReadIndex("r4");  // room again
  c.Stabilize();
  EXPECT_EQ(c.member(1).reads.size(), 3u);
}

// The waiting list (before the first commit of the term) shares the same limit.
TEST(ReadIndexTest, WaitingRequestsLimit) {
  ClusterOptions o;
  o.tweak = [](Config& cfg) { cfg.max_pending_read_index_requests = 1; };
  Cluster c({1, 2, 3}, {}, o);
  c.drop = [](const Message& m) { return m.type == MessageType::kAppResp; };
  c.Campaign(1);
  c.node(1).ReadIndex("w1");
  c.node(1).ReadIndex("w2");  // dropped
  c.Heal();
  c.Run(2);
  ASSERT_EQ(c.member(1).reads.size(), 1u);
  EXPECT_EQ(c.member(1).reads[0].request_ctx, "w1");
}

// A leader that loses leadership drops its pending reads (the callers retry).
TEST(ReadIndexTest, SteppingDownDropsPendingReads) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Isolate(1);
  c.node(1).ReadIndex("r1");
  c.Stabilize();
  c.Tick(1, 20);  // check-quorum makes it step down
  ASSERT_EQ(c.RoleOf(1), Role::kFollower);
  c.Heal();
  c.Run(30);
  EXPECT_TRUE(c.member(1).reads.empty());
}

// Without a known leader, a follower drops the request.
TEST(ReadIndexTest, NoLeaderDropped) {
  Cluster c({1, 2, 3});
  c.node(2).ReadIndex("x");
  EXPECT_FALSE(c.node(2).HasReady());
}

}  // namespace
}  // namespace grid::raft
