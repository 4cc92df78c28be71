#include "sim/disk.h"

#include <gtest/gtest.h>

namespace grid::sim {
namespace {

using raft::Entry;
using raft::HardState;
using raft::Index;
using raft::Term;

raft::Snapshot Boot() {
  raft::Snapshot s;
  s.meta.conf_state.voters = {raft::MemberId(1), raft::MemberId(2), raft::MemberId(3)};
  return s;
}

std::vector<Entry> Entries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<Entry> out;
  for (uint64_t i = from; i <= to; ++i)
    out.push_back(Entry{Term(term), Index(i), raft::EntryType::kNormal, "e" + std::to_string(i)});
  return out;
}

TEST(DiskTest, WritesAreDurableOnlyAfterSync) {
  Disk d(Boot());
  d.WriteEntries(Entries(1, 3, 1));
  d.WriteHardState(HardState{Term(1), raft::MemberId(1), Index(2)});
  EXPECT_EQ(d.unsynced_writes(), 2u);
  EXPECT_EQ(d.durable().LastIndex(), Index(0));
  d.Sync();
  EXPECT_EQ(d.unsynced_writes(), 0u);
  EXPECT_EQ(d.durable().LastIndex(), Index(3));
  EXPECT_EQ(d.durable().hard_state.commit, Index(2));
}

TEST(DiskTest, CrashLosesEverythingUnsynced) {
  Disk d(Boot());
  d.WriteEntries(Entries(1, 3, 1));
  d.Sync();
  d.WriteEntries(Entries(4, 5, 1));
  d.WriteHardState(HardState{Term(2), raft::MemberId(2), Index(3)});
  d.Crash(0);
  EXPECT_EQ(d.durable().LastIndex(), Index(3));
  EXPECT_EQ(d.durable().hard_state.term, Term(0));
  EXPECT_EQ(d.unsynced_writes(), 0u);
}

TEST(DiskTest, CrashKeepsAPrefixOfUnsyncedWritesInOrder) {
  Disk d(Boot());
  d.WriteEntries(Entries(1, 3, 1));
  d.WriteHardState(HardState{Term(1), raft::MemberId(1), Index(0)});
  d.WriteEntries(Entries(4, 4, 1));
  d.Crash(2);  // the entries and the hard state reached the disk, entry 4 did not
  EXPECT_EQ(d.durable().LastIndex(), Index(3));
  EXPECT_EQ(d.durable().hard_state.vote, raft::MemberId(1));
}

TEST(DiskTest, TornAppendKeepsAPrefixOfItsEntries) {
  Disk d(Boot());
  d.WriteEntries(Entries(1, 2, 1));
  d.WriteEntries(Entries(3, 6, 1));
  EXPECT_EQ(d.EntriesInUnsyncedWrite(1), 4u);
  d.Crash(1, 2);  // the first append, then entries 3 and 4 of the second
  EXPECT_EQ(d.durable().LastIndex(), Index(4));
}

TEST(DiskTest, ConflictingEntriesReplaceTheTail) {
  Disk d(Boot());
  d.WriteEntries(Entries(1, 5, 1));
  d.Sync();
  d.WriteEntries(Entries(3, 3, 2));
  d.Sync();
  EXPECT_EQ(d.durable().LastIndex(), Index(3));
  EXPECT_EQ(d.durable().entries.back().term, Term(2));
}

TEST(DiskTest, SnapshotFromTheLeaderReplacesTheLog) {
  Disk d(Boot());
  d.WriteEntries(Entries(1, 5, 1));
  d.Sync();
  raft::Snapshot snap;
  snap.meta.index = Index(10);
  snap.meta.term = Term(3);
  snap.meta.conf_state = Boot().meta.conf_state;
  d.WriteSnapshot(snap);
  d.WriteEntries(Entries(11, 12, 3));
  d.Sync();
  EXPECT_EQ(d.durable().snapshot.meta.index, Index(10));
  EXPECT_EQ(d.durable().base_index, Index(10));
  EXPECT_EQ(d.durable().LastIndex(), Index(12));
  raft::MemoryStorage s;
  ASSERT_TRUE(d.Restore(&s).ok());
  EXPECT_EQ(s.FirstIndex(), Index(11));
  EXPECT_EQ(s.LastIndex(), Index(12));
}

TEST(DiskTest, LocalSnapshotCompactsAndRestoreStartsAfterIt) {
  Disk d(Boot());
  d.WriteEntries(Entries(1, 10, 1));
  d.WriteHardState(HardState{Term(1), raft::MemberId(1), Index(8)});
  d.Sync();
  raft::Snapshot snap;
  snap.meta.index = Index(8);
  snap.meta.term = Term(1);
  d.SaveLocalSnapshot(snap, Index(6));
  EXPECT_EQ(d.durable().base_index, Index(6));
  EXPECT_EQ(d.durable().entries.size(), 4u);
  EXPECT_EQ(d.RestartAppliedIndex(), Index(8));
  raft::MemoryStorage s;
  ASSERT_TRUE(d.Restore(&s).ok());
  EXPECT_EQ(s.FirstIndex(), Index(9));
  EXPECT_EQ(s.LastIndex(), Index(10));
  EXPECT_EQ(s.GetInitialState().hard_state.commit, Index(8));
}

TEST(DiskTest, AppliedIndexIsClippedToTheDurableCommit) {
  Disk d(Boot());
  d.WriteEntries(Entries(1, 10, 1));
  d.WriteHardState(HardState{Term(1), raft::MemberId(1), Index(5)});
  d.Sync();
  d.SaveAppliedIndex(Index(9));
  EXPECT_EQ(d.durable().applied, Index(5));
  EXPECT_EQ(d.RestartAppliedIndex(), Index(5));
}

TEST(DiskTest, UnsyncedWritesAtTheLimitAreWrittenBack) {
  Disk d(Boot());
  for (size_t i = 1; i < Disk::kMaxUnsyncedWrites; ++i) {
    d.WriteHardState(HardState{Term(i), raft::MemberId(1), Index(0)});
  }
  EXPECT_EQ(d.unsynced_writes(), Disk::kMaxUnsyncedWrites - 1);
  d.WriteHardState(HardState{Term(9999), raft::MemberId(1), Index(0)});
  EXPECT_EQ(d.unsynced_writes(), 0u);
  EXPECT_EQ(d.durable().hard_state.term, Term(9999));
}

}  // namespace
}  // namespace grid::sim
