// Flow control per follower (probe / replicate, the in-flight window) and every byte or count
// limit of the core, each tested at the limit.
#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::ClusterOptions;
using testing::M;
using testing::OfType;

size_t AppsWithEntriesTo(const std::vector<Message>& trace, size_t from, uint64_t to) {
  size_t n = 0;
  for (size_t i = from; i < trace.size(); ++i) {
    const Message& m = trace[i];
    if (m.type == MessageType::kApp && m.to == M(to) && !m.entries.empty()) ++n;
  }
  return n;
}

ClusterOptions WithConfig(std::function<void(Config&)> tweak) {
  ClusterOptions o;
  o.tweak = std::move(tweak);
  return o;
}

// Replicate state: at most max_inflight_msgs unacknowledged kApp; a heartbeat response lets
// one more through.
TEST(FlowControlTest, InflightWindowFullStopsSends) {
  Cluster c({1, 2}, {}, WithConfig([](Config& cfg) { cfg.max_inflight_msgs = 3; }));
  c.Campaign(1);
  ASSERT_EQ(c.node(1).GetStatus().progress.at(M(2)).state, FollowerProgress::State::kReplicate);
  // Acknowledgements from 2 are lost.
  c.drop = [](const Message& m) { return m.type == MessageType::kAppResp; };
  const size_t before = c.trace.size();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(c.node(1).Propose("e" + std::to_string(i)).ok());
    c.Stabilize();
  }
  EXPECT_EQ(AppsWithEntriesTo(c.trace, before, 2), 3u);
  // A heartbeat response frees one slot.
  const size_t mid = c.trace.size();
  c.Tick(1);
  c.Stabilize();
  EXPECT_EQ(AppsWithEntriesTo(c.trace, mid, 2), 1u);
  // Once acknowledgements flow again, the follower catches up.
  c.Heal();
  c.Run(3);
  EXPECT_EQ(c.member(2).applied.size(), 10u);
}

// Probe state: one kApp at a time until the follower answers.
TEST(FlowControlTest, ProbeStateSendsOne) {
  Cluster c({1, 2});
  c.Campaign(1);
  c.node(1).ReportUnreachable(M(2));
  ASSERT_EQ(c.node(1).GetStatus().progress.at(M(2)).state, FollowerProgress::State::kProbe);
  c.drop = [](const Message& m) { return m.to == M(2); };
  const size_t before = c.trace.size();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.node(1).Propose("e" + std::to_string(i)).ok());
    c.Stabilize();
  }
  EXPECT_EQ(AppsWithEntriesTo(c.trace, before, 2), 1u);
  c.Heal();
  c.Run(3);
  EXPECT_EQ(c.node(1).GetStatus().progress.at(M(2)).state, FollowerProgress::State::kReplicate);
  EXPECT_EQ(c.member(2).applied.size(), 5u);
}

// max_msg_entries_bytes: kApp batches stay within the limit but carry at least one entry.
TEST(FlowControlTest, MaxMsgEntriesBytes) {
  Cluster c({1, 2}, {}, WithConfig([](Config& cfg) { cfg.max_msg_entries_bytes = 10; }));
  c.Campaign(1);
  c.Isolate(2);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(c.node(1).Propose("abcd").ok());
  ASSERT_TRUE(c.node(1).Propose(std::string(25, 'z')).ok());
  c.Stabilize();
  c.Heal();
  const size_t before = c.trace.size();
  c.node(1).ReportUnreachable(M(2));  // restart from a probe
  c.Run(3);
  size_t big_alone = 0;
  for (size_t i = before; i < c.trace.size(); ++i) {
    const Message& m = c.trace[i];
    if (m.type != MessageType::kApp || m.entries.empty()) continue;
    uint64_t bytes = 0;
    for (const Entry& e : m.entries) bytes += e.data.size();
    if (m.entries.size() == 1 && bytes == 25) {
      ++big_alone;
    } else {
      EXPECT_LE(bytes, 10u);
    }
  }
  EXPECT_EQ(big_alone, 1u);
  EXPECT_EQ(c.member(2).applied.size(), 7u);
}

// max_uncommitted_entries_bytes: proposals are refused (Unavailable) beyond it.
TEST(FlowControlTest, MaxUncommittedEntriesBytes) {
  Cluster c({1, 2, 3}, {},
            WithConfig([](Config& cfg) { cfg.max_uncommitted_entries_bytes = 10; }));
  c.Campaign(1);
  c.Isolate(2);
  c.Isolate(3);
  EXPECT_TRUE(c.node(1).Propose("12345").ok());
  EXPECT_TRUE(c.node(1).Propose("12345").ok());  // exactly at the limit
  Status s = c.node(1).Propose("1");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  // Empty entries never count.
  c.Stabilize();
  c.Heal();
  c.Run(3);
  EXPECT_EQ(c.CommitOf(1), Index(3));
  EXPECT_TRUE(c.node(1).Propose("12345678").ok());
}

// The first proposal is accepted even when larger than the limit (nothing is uncommitted).
TEST(FlowControlTest, OversizedFirstProposalAccepted) {
  Cluster c({1}, {}, WithConfig([](Config& cfg) { cfg.max_uncommitted_entries_bytes = 4; }));
  c.Campaign(1);
  EXPECT_TRUE(c.node(1).Propose("123456789").ok());
  EXPECT_EQ(c.node(1).Propose("1").code(), Code::kUnavailable);
  c.Stabilize();
  EXPECT_TRUE(c.node(1).Propose("1").ok());
}

// max_committed_entries_bytes_per_ready: committed entries are handed out in bounded batches.
TEST(FlowControlTest, MaxCommittedEntriesBytesPerReady) {
  Cluster c({1}, {},
            WithConfig([](Config& cfg) { cfg.max_committed_entries_bytes_per_ready = 10; }));
  c.Campaign(1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.node(1).Propose("abcd").ok());
  ASSERT_TRUE(c.node(1).Propose(std::string(30, 'z')).ok());
  std::vector<size_t> batch_bytes;
  int readys = 0;
  while (c.node(1).HasReady() && readys < 100) {
    ++readys;
    Ready rd = c.node(1).GetReady();
    c.Persist(1, rd);
    c.Apply(1, rd);
    if (!rd.committed_entries.empty()) {
      uint64_t bytes = 0;
      for (const Entry& e : rd.committed_entries) bytes += e.data.size();
      if (rd.committed_entries.size() > 1) {
        EXPECT_LE(bytes, 10u);
      }
      batch_bytes.push_back(bytes);
    }
    c.node(1).Advance(rd);
  }
  EXPECT_EQ(c.member(1).applied.size(), 6u);
  EXPECT_GE(batch_bytes.size(), 4u);
}

}  // namespace
}  // namespace grid::raft
