// ReadIndex (§6.4): leadership confirmed by a heartbeat round, forwarding from followers and
// learners, waiting for the leader's first commit in its term, the single-voter case, and the
// queue limit.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// Heartbeats carrying a read round, in trace[from...].
size_t ReadRounds(const std::vector<Message>& trace, size_t from) {
  size_t n = 0;
  for (size_t i = from; i < trace.size(); ++i) {
    if (trace[i].type == MessageType::kHeartbeat && !trace[i].context.empty()) ++n;
  }
  return n;
}

// A follower's request carries the term it was made in: its acknowledgement of the leader.
// With the leader's own that is a majority of three voters: answered without a heartbeat
// round, even with the third voter cut off.
TEST(ReadIndexTest, FollowerRequestConfirmsLeaderOfThree) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  c.Isolate(3);
  const size_t before = c.trace.size();
  c.node(2).ReadIndex("f1");
  c.Stabilize();
  ASSERT_EQ(c.member(2).reads.size(), 1u);
  EXPECT_EQ(c.member(2).reads[0], (ReadState{Index(2), "f1"}));
  const std::vector<Message> requests = OfType(
      std::vector<Message>(c.trace.begin() + static_cast<long>(before), c.trace.end()),
      MessageType::kReadIndex);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].log_term, c.TermOf(2));
  EXPECT_EQ(ReadRounds(c.trace, before), 0u);
}

// Of five voters, the leader and one follower are not a majority: the request waits for a
// heartbeat round as a local one does.
TEST(ReadIndexTest, FollowerRequestOfFiveNeedsRound) {
  Cluster c({1, 2, 3, 4, 5});
  c.Campaign(1);
  c.Propose(1, "a");
  c.Isolate(3);
  c.Isolate(4);
  c.Isolate(5);
  const size_t before = c.trace.size();
  c.node(2).ReadIndex("f1");
  c.Stabilize();
  EXPECT_TRUE(c.member(2).reads.empty());
  EXPECT_GE(ReadRounds(c.trace, before), 1u);
  c.Heal();
  c.Run(1);  // the next heartbeat carries the pending round
  ASSERT_EQ(c.member(2).reads.size(), 1u);
  EXPECT_EQ(c.member(2).reads[0], (ReadState{Index(2), "f1"}));
}

// A request made in another term, or of unknown term, acknowledges nothing: a round.
TEST(ReadIndexTest, RequestOfAnotherTermNeedsRound) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  const Term term = c.TermOf(1);
  for (Term sender_term : {Term(0), Term(term.value() - 1), Term(term.value() + 1)}) {
    SCOPED_TRACE(sender_term.value());
    Message m;
    m.type = MessageType::kReadIndex;
    m.from = MemberId(2);
    m.to = MemberId(1);
    m.log_term = sender_term;
    m.context = "t" + std::to_string(sender_term.value());
    const size_t before = c.trace.size();
    ASSERT_TRUE(c.node(1).Step(m).ok());
    c.Stabilize();
    EXPECT_GE(ReadRounds(c.trace, before), 1u);
    ASSERT_FALSE(c.member(2).reads.empty());
    EXPECT_EQ(c.member(2).reads.back().request_ctx, m.context);
  }
}

// A follower that passes on another member's request does not vouch for it: the forwarded
// request goes on without a term.
TEST(ReadIndexTest, ForwardedRequestLosesItsTerm) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  Message m;
  m.type = MessageType::kReadIndex;
  m.from = MemberId(3);
  m.to = MemberId(2);
  m.log_term = c.TermOf(2);
  m.context = "via2";
  const size_t before = c.trace.size();
  ASSERT_TRUE(c.node(2).Step(m).ok());
  c.Stabilize();
  const std::vector<Message> requests = OfType(
      std::vector<Message>(c.trace.begin() + static_cast<long>(before), c.trace.end()),
      MessageType::kReadIndex);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].from, MemberId(2));
  EXPECT_EQ(requests[0].to, MemberId(1));
  EXPECT_EQ(requests[0].log_term, Term(0));
  EXPECT_GE(ReadRounds(c.trace, before), 1u);
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
