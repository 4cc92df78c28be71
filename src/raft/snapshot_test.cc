// Snapshots (§7): sending to a follower behind the leader's first index, installing,
// catching up afterwards, failures and unavailable snapshots.
#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::M;
using testing::OfType;

using PState = FollowerProgress::State;

// Builds a cluster where member 3 missed entries the leader (1) compacted away.
void LagAndCompact(Cluster& c) {
  c.Campaign(1);
  c.Isolate(3);
  for (int i = 0; i < 10; ++i) c.Propose(1, "e" + std::to_string(i));
  c.Snap(1);
  ASSERT_EQ(c.storage(1).FirstIndex(), Index(12));
}

// §7
TEST(SnapshotTest, SendRestoreAndCatchUp) {
  Cluster c({1, 2, 3});
  LagAndCompact(c);
  c.Heal();
  const size_t before = c.trace.size();
  c.Run(3);
  std::vector<Message> snaps;
  for (size_t i = before; i < c.trace.size(); ++i) {
    if (c.trace[i].type == MessageType::kSnap) snaps.push_back(c.trace[i]);
  }
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].to, M(3));
  EXPECT_EQ(snaps[0].snapshot->meta.index, Index(11));
  EXPECT_EQ(snaps[0].snapshot->meta.conf_state.voters.size(), 3u);
  EXPECT_EQ(c.member(3).snapshots_installed, 1);
  EXPECT_EQ(c.storage(3).FirstIndex(), Index(12));
  EXPECT_EQ(c.member(3).applied, std::vector<std::string>{"snap:11"});
  EXPECT_EQ(c.node(1).GetStatus().progress.at(M(3)).state, PState::kReplicate);
  EXPECT_EQ(c.node(1).GetStatus().progress.at(M(3)).match, Index(11));
  // Later entries arrive through the log.
  c.Propose(1, "after");
  EXPECT_EQ(c.member(3).applied, (std::vector<std::string>{"snap:11", "after"}));
  EXPECT_EQ(c.node(3).GetStatus().hard_state.commit, Index(12));
}

// The follower answers a snapshot with an AppResp at its index.
TEST(SnapshotTest, FollowerAnswersAtSnapshotIndex) {
  Cluster c({1, 2, 3});
  LagAndCompact(c);
  c.Heal();
  c.Run(3);
  auto resps = OfType(c.trace, MessageType::kAppResp);
  bool found = false;
  for (const Message& m : resps) {
    if (m.from == M(3) && !m.reject && m.index == Index(11)) found = true;
  }
  EXPECT_TRUE(found);
}

// The progress waits in snapshot state until ReportSnapshot; a failure retries.
TEST(SnapshotTest, ReportSnapshotFailureRetries) {
  Cluster c({1, 2, 3});
  LagAndCompact(c);
  c.Heal();
  c.drop = [](const Message& m) { return m.type == MessageType::kSnap; };
  c.Run(3);
  EXPECT_EQ(c.node(1).GetStatus().progress.at(M(3)).state, PState::kSnapshot);
  const size_t sent = OfType(c.trace, MessageType::kSnap).size();
  EXPECT_EQ(sent, 1u);  // paused while the snapshot is in flight
  c.node(1).ReportSnapshot(M(3), false);
  EXPECT_EQ(c.node(1).GetStatus().progress.at(M(3)).state, PState::kProbe);
  c.Heal();
  c.Run(3);
  EXPECT_EQ(OfType(c.trace, MessageType::kSnap).size(), 2u);
  EXPECT_EQ(c.member(3).snapshots_installed, 1);
  EXPECT_EQ(c.node(1).GetStatus().progress.at(M(3)).state, PState::kReplicate);
}

// ReportSnapshot(ok) moves the follower to probe right after the snapshot.
TEST(SnapshotTest, ReportSnapshotSuccessProbes) {
  Cluster c({1, 2, 3});
  LagAndCompact(c);
  c.Heal();
  c.drop = [](const Message& m) { return m.type == MessageType::kSnap; };
  c.Run(1);
  ASSERT_EQ(c.node(1).GetStatus().progress.at(M(3)).state, PState::kSnapshot);
  c.node(1).ReportSnapshot(M(3), true);
  auto pr = c.node(1).GetStatus().progress.at(M(3));
  EXPECT_EQ(pr.state, PState::kProbe);
  EXPECT_EQ(pr.next, Index(12));
}

// GetSnapshot Unavailable: the follower stays in probe and the leader retries later.
TEST(SnapshotTest, UnavailableSnapshotRetriedLater) {
  Cluster c({1, 2, 3});
  LagAndCompact(c);
  c.member(1).view->snapshot_unavailable = true;
  c.Heal();
  c.Run(3);
  EXPECT_TRUE(OfType(c.trace, MessageType::kSnap).empty());
  EXPECT_EQ(c.node(1).GetStatus().progress.at(M(3)).state, PState::kProbe);
  c.member(1).view->snapshot_unavailable = false;
  c.Run(3);
  EXPECT_EQ(OfType(c.trace, MessageType::kSnap).size(), 1u);
  EXPECT_EQ(c.member(3).snapshots_installed, 1);
}

// A snapshot at or below the follower's commit index is not installed.
TEST(SnapshotTest, StaleSnapshotIgnored) {
  Cluster c({1, 2, 3});
  c.Campaign(1);
  c.Propose(1, "a");
  c.Propose(1, "b");
  Message m;
  m.type = MessageType::kSnap;
  m.from = M(1);
  m.to = M(2);
  m.term = Term(1);
  m.snapshot = Snapshot{SnapshotMeta{Index(2), Term(1), c.member(2).conf_state}, "old"};
  ASSERT_TRUE(c.node(2).Step(m).ok());
  Ready rd = c.node(2).GetReady();
  EXPECT_FALSE(rd.snapshot.has_value());
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].index, Index(3));  // its commit index
  c.node(2).Advance(rd);
}

// A member restarted over compacted storage resumes from its snapshot.
TEST(SnapshotTest, RestartFromCompactedStorage) {
  Cluster c({1, 2, 3});
  LagAndCompact(c);
  c.Heal();
  c.Run(3);
  c.Propose(1, "x");
  c.Snap(3);
  c.Restart(3);
  EXPECT_EQ(c.node(3).GetStatus().applied, Index(12));
  EXPECT_EQ(c.node(3).GetStatus().hard_state.commit, Index(12));
  c.Run(25);
  c.Propose(c.Leader(), "later");
  EXPECT_EQ(c.member(3).applied.back(), "later");
}

}  // namespace
}  // namespace grid::raft
