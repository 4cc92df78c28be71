#include <gtest/gtest.h>

#include <sstream>

#include "sim/cluster.h"
#include "sim/invariants.h"
#include "sim/linearizability/history.h"

namespace grid::sim {
namespace {

SimOptions Options(uint64_t seed, int members) {
  SimOptions o;
  o.seed = seed;
  o.members = members;
  return o;
}

TEST(SimTest, SameSeedSameTrace) {
  for (int members : {3, 5}) {
    const SimOptions o = Options(7, members);
    const RunResult a = RunSeed(o);
    const RunResult b = RunSeed(o);
    EXPECT_TRUE(a.ok()) << a.Summary(o);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    ASSERT_EQ(a.history.size(), b.history.size());
    for (size_t i = 0; i < a.history.size(); ++i) {
      EXPECT_EQ(lin::Describe(a.history[i]), lin::Describe(b.history[i]));
    }
    EXPECT_GT(a.stats.ops, 0u);
  }
  EXPECT_NE(RunSeed(Options(7, 3)).trace_hash, RunSeed(Options(8, 3)).trace_hash);
}

TEST(SimTest, VerboseTraceDoesNotChangeTheRun) {
  SimOptions o = Options(11, 5);
  const RunResult quiet = RunSeed(o);
  std::ostringstream out;
  o.trace_out = &out;
  const RunResult loud = RunSeed(o);
  EXPECT_EQ(quiet.trace_hash, loud.trace_hash);
  EXPECT_NE(out.str().find("liveness phase"), std::string::npos);
}

TEST(SimTest, SeedsPass) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const SimOptions o = Options(seed, seed % 2 == 1 ? 3 : 5);
    const RunResult r = RunSeed(o);
    EXPECT_TRUE(r.ok()) << r.Summary(o);
  }
}

TEST(SimTest, ExercisesTheFaultModel) {
  RunStats total;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const RunResult r = RunSeed(Options(seed, seed % 2 == 1 ? 3 : 5));
    total.crashes += r.stats.crashes;
    total.partitions += r.stats.partitions;
    total.conf_changes_applied += r.stats.conf_changes_applied;
    total.snapshots_installed += r.stats.snapshots_installed;
    total.transfers += r.stats.transfers;
    total.ops_indeterminate += r.stats.ops_indeterminate;
    total.ops_ok += r.stats.ops_ok;
  }
  EXPECT_GT(total.crashes, 40u);
  EXPECT_GT(total.partitions, 10u);
  EXPECT_GT(total.conf_changes_applied, 5u);
  EXPECT_GT(total.snapshots_installed, 5u);
  EXPECT_GT(total.transfers, 5u);
  EXPECT_GT(total.ops_indeterminate, 5u);
  EXPECT_GT(total.ops_ok, 500u);
}

// The checks catch a server that serves reads from its local state without ReadIndex.
TEST(SimSabotageTest, LocalReadsAreCaughtAsStaleReads) {
  int by_checker = 0;
  for (uint64_t seed = 1; seed <= 100 && by_checker == 0; ++seed) {
    SimOptions o = Options(seed, 3);
    o.sabotage_local_reads = true;
    const RunResult r = RunSeed(o);
    if (r.ok()) continue;
    // A stale read: of the final write, or anywhere in the history.
    EXPECT_TRUE(r.violation->invariant == "linearizability" ||
                r.violation->invariant == "final read")
        << r.Summary(o);
    if (r.violation->invariant == "linearizability") {
      ++by_checker;
      EXPECT_NE(r.violation->detail.find("no order places"), std::string::npos) << r.Summary(o);
    }
  }
  EXPECT_GT(by_checker, 0);
}

// ... and a server that acknowledges appends before they are durable.
TEST(SimSabotageTest, AcknowledgingBeforeSyncIsCaught) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 300 && caught == 0; ++seed) {
    SimOptions o = Options(seed, 5);
    o.sabotage_ack_before_sync = true;
    const RunResult r = RunSeed(o);
    if (!r.ok()) {
      ++caught;
    }
  }
  EXPECT_GT(caught, 0);
}

// A joining member that boots with an empty configuration replays the log from index 1 and
// rebuilds a configuration without the founders (they are only in the index-0 snapshot): once
// promoted it can count itself a majority. The simulator boots joiners with the founding
// configuration; this test documents why.
TEST(SimJoinTest, JoinerBootingWithoutTheFoundingConfigurationBreaksSafety) {
  int broken = 0;
  for (uint64_t seed = 1; seed <= 200 && broken == 0; ++seed) {
    SimOptions o = Options(seed, seed % 2 == 1 ? 3 : 5);
    o.joiners_boot_empty = true;
    const RunResult r = RunSeed(o);
    if (!r.ok() && r.violation->invariant != "liveness") {
      ++broken;
      std::cerr << r.Summary(o) << "\n";
    }
  }
  EXPECT_GT(broken, 0);
}

// ---- The invariant checks on hand-made states --------------------------------------------

raft::Entry E(uint64_t index, uint64_t term, std::string data = "") {
  return raft::Entry{raft::Term(term), raft::Index(index), raft::EntryType::kNormal,
                     std::move(data)};
}

MemberView View(uint64_t id, const raft::MemoryStorage* s, raft::Role role, uint64_t term) {
  MemberView v;
  v.id = MemberId(id);
  v.storage = s;
  v.status.soft_state.role = role;
  v.status.hard_state.term = raft::Term(term);
  v.idle = true;
  v.incarnation = 1;
  return v;
}

TEST(InvariantsTest, TwoLeadersInOneTerm) {  // §5.2
  raft::MemoryStorage s;
  Invariants inv;
  inv.CheckStep({View(1, &s, raft::Role::kLeader, 3)}, 1);
  inv.CheckStep({View(2, &s, raft::Role::kLeader, 4)}, 2);
  EXPECT_FALSE(inv.violation());
  inv.CheckStep({View(2, &s, raft::Role::kLeader, 3)}, 3);
  ASSERT_TRUE(inv.violation());
  EXPECT_NE(inv.violation()->invariant.find("election safety"), std::string::npos);
  EXPECT_EQ(inv.violation()->tick, 3u);
}

TEST(InvariantsTest, CommittedPrefixesMustMatch) {  // §5.3
  raft::MemoryStorage a, b;
  a.Append({E(1, 1, "x"), E(2, 1, "y")});
  a.SetHardState(raft::HardState{raft::Term(1), MemberId(1), raft::Index(2)});
  b.Append({E(1, 1, "x"), E(2, 2, "z")});
  b.SetHardState(raft::HardState{raft::Term(2), MemberId(2), raft::Index(1)});
  Invariants inv;
  inv.CheckStep({View(1, &a, raft::Role::kFollower, 1), View(2, &b, raft::Role::kFollower, 2)}, 1);
  EXPECT_FALSE(inv.violation());  // b's entry 2 is not committed
  b.SetHardState(raft::HardState{raft::Term(2), MemberId(2), raft::Index(2)});
  inv.CheckStep({View(1, &a, raft::Role::kFollower, 1), View(2, &b, raft::Role::kFollower, 2)}, 2);
  ASSERT_TRUE(inv.violation());
  EXPECT_NE(inv.violation()->invariant.find("log matching"), std::string::npos);
}

TEST(InvariantsTest, LeaderMustHoldEntriesCommittedBeforeItsTerm) {  // §5.4
  raft::MemoryStorage follower, leader;
  follower.Append({E(1, 1), E(2, 1)});
  follower.SetHardState(raft::HardState{raft::Term(1), MemberId(1), raft::Index(2)});
  leader.Append({E(1, 1)});
  Invariants inv;
  inv.CheckStep({View(1, &follower, raft::Role::kFollower, 1)}, 1);
  // A leader of the same term that lacks entry 2 breaks leader completeness...
  inv.CheckStep({View(2, &leader, raft::Role::kLeader, 2)}, 2);
  ASSERT_TRUE(inv.violation());
  EXPECT_NE(inv.violation()->invariant.find("leader completeness"), std::string::npos);
}

TEST(InvariantsTest, StaleLeaderOfAnOlderTermMayLackNewerCommits) {
  raft::MemoryStorage follower, stale;
  follower.Append({E(1, 1), E(2, 3)});
  follower.SetHardState(raft::HardState{raft::Term(3), MemberId(1), raft::Index(2)});
  stale.Append({E(1, 1)});
  Invariants inv;
  inv.CheckStep(
      {View(1, &follower, raft::Role::kFollower, 3), View(2, &stale, raft::Role::kLeader, 2)}, 1);
  EXPECT_FALSE(inv.violation());
}

TEST(InvariantsTest, DifferentEntriesAppliedAtOneIndex) {  // §5.4.3
  Invariants inv;
  inv.OnApplied(MemberId(1), E(1, 1, "a"), 10, 1);
  inv.OnApplied(MemberId(2), E(1, 1, "a"), 10, 2);
  EXPECT_FALSE(inv.violation());
  inv.OnApplied(MemberId(3), E(1, 2, "b"), 11, 3);
  ASSERT_TRUE(inv.violation());
  EXPECT_NE(inv.violation()->invariant.find("state machine safety"), std::string::npos);
}

TEST(InvariantsTest, SameEntryDifferentStateIsCaught) {
  Invariants inv;
  inv.OnApplied(MemberId(1), E(1, 1, "a"), 10, 1);
  inv.OnApplied(MemberId(2), E(1, 1, "a"), 12, 2);
  ASSERT_TRUE(inv.violation());
}

TEST(InvariantsTest, AcknowledgedWriteOverwritten) {
  raft::MemoryStorage s;
  s.Append({E(1, 2, "other")});
  s.SetHardState(raft::HardState{raft::Term(2), MemberId(1), raft::Index(1)});
  Invariants inv;
  inv.OnWriteAcked(MemberId(1), E(1, 1, "acked"), 1);
  inv.CheckStep({View(1, &s, raft::Role::kFollower, 2)}, 2);
  ASSERT_TRUE(inv.violation());
  EXPECT_EQ(inv.violation()->invariant, "no acknowledged write lost");
}

}  // namespace
}  // namespace grid::sim
