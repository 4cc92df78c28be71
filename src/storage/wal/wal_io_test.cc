// WAL tests of what reaches the file: writes and directory syncs per operation, and the zeros
// kept ahead of the records.
#include "storage/wal/wal.h"

#include "storage/wal/wal_test_util.h"

namespace grid::wal {
namespace {

using namespace ::grid::wal::wal_testing;  // NOLINT(build/namespaces)

// --- syscalls per operation ----------------------------------------------------------------

TEST_F(WalTest, OneWritePerAppendAndDirSyncOnlyAfterNewSegment) {
  FaultEnv env;
  opts_.env = &env;
  auto w = CreateWal();
  int writes = env.faults.write_calls;
  int dir_syncs = env.faults.sync_dir_calls;
  HardState hs{1, 1, 100};
  ASSERT_TRUE(w->Append(MakeEntries(1, 100, 1, 256), &hs).ok());
  EXPECT_EQ(env.faults.write_calls, writes + 1);
  ASSERT_TRUE(w->Sync().ok());
  EXPECT_EQ(env.faults.sync_dir_calls, dir_syncs);
  // Filling the segment creates the next one (zeros ahead do not add a write); the following
  // Sync makes its name durable.
  ASSERT_TRUE(w->Append(MakeEntries(101, 300, 1, 256), nullptr).ok());
  EXPECT_EQ(w->SegmentNames().size(), 2u);
  ASSERT_TRUE(w->Sync().ok());
  EXPECT_EQ(env.faults.sync_dir_calls, dir_syncs + 1);
}

// --- zeros ahead of the records -----------------------------------------------------------

uint64_t RecordsBytes(const std::vector<Entry>& entries) {
  uint64_t n = 0;
  for (const Entry& e : entries) n += RecordBytes(EntryPayloadBytes(e));
  return n;
}

TEST_F(WalTest, SegmentIsWrittenWithZerosAheadOfItsRecordsInTheSameWrite) {
  FaultEnv env;
  opts_.env = &env;
  opts_.zero_ahead_bytes = 4096;
  auto w = CreateWal();
  // The new segment's one write: header, preamble, then zeros up to 4096 bytes past them.
  EXPECT_EQ(env.faults.last_write_offset, 0u);
  EXPECT_EQ(env.faults.last_write_bytes, kFirstRecordOffset + 4096);

  // Records inside the written space: exactly their bytes.
  auto first = MakeEntries(1, 10, 1);
  ASSERT_LT(RecordsBytes(first), 4096u);
  int writes = env.faults.write_calls;
  ASSERT_TRUE(w->Append(first, nullptr).ok());
  EXPECT_EQ(env.faults.write_calls, writes + 1);
  EXPECT_EQ(env.faults.last_write_offset, kFirstRecordOffset);
  EXPECT_EQ(env.faults.last_write_bytes, RecordsBytes(first));

  // Records that cross the mark: their bytes and 4096 bytes of zeros, still one write.
  uint64_t end = kFirstRecordOffset + RecordsBytes(first);
  auto crossing = MakeEntries(11, 40, 1);
  ASSERT_GT(end + RecordsBytes(crossing), kFirstRecordOffset + 4096);
  writes = env.faults.write_calls;
  ASSERT_TRUE(w->Append(crossing, nullptr).ok());
  EXPECT_EQ(env.faults.write_calls, writes + 1);
  EXPECT_EQ(env.faults.last_write_offset, end);
  EXPECT_EQ(env.faults.last_write_bytes, RecordsBytes(crossing) + 4096);
  ASSERT_TRUE(w->Sync().ok());

  // Near the end of the segment the zeros stop at its capacity.
  end += RecordsBytes(crossing);
  uint64_t next = 51;
  while (end + RecordBytes(EntryPayloadBytes(MakeEntries(next, 1, 1)[0])) <= opts_.segment_bytes) {
    auto one = MakeEntries(next++, 1, 1);
    ASSERT_TRUE(w->Append(one, nullptr).ok());
    EXPECT_LE(env.faults.last_write_offset + env.faults.last_write_bytes, opts_.segment_bytes);
    end += RecordsBytes(one);
  }
  EXPECT_EQ(w->SegmentNames().size(), 1u);
  ASSERT_TRUE(w->Sync().ok());
  w.reset();

  ReplayResult r;
  auto reopened = OpenWal(&r);
  EXPECT_EQ(r.entries, MakeEntries(1, next - 1, 1));
  EXPECT_EQ(r.torn_bytes_dropped, 0u);
}

TEST_F(WalTest, ReopenedSegmentZeroesAheadAtItsFirstAppend) {
  opts_.zero_ahead_bytes = 4096;
  WriteLog(5);
  FaultEnv env;
  opts_.env = &env;
  ReplayResult r;
  auto w = OpenWal(&r);
  const uint64_t end = kFirstRecordOffset + RecordsBytes(MakeEntries(1, 5, 1));
  auto more = MakeEntries(6, 1, 1);
  ASSERT_TRUE(w->Append(more, nullptr).ok());
  EXPECT_EQ(env.faults.last_write_offset, end);
  EXPECT_EQ(env.faults.last_write_bytes, RecordsBytes(more) + 4096);
}

TEST_F(WalTest, ZeroAheadOffWritesOnlyRecords) {
  FaultEnv env;
  opts_.env = &env;
  opts_.zero_ahead_bytes = 0;
  auto w = CreateWal();
  EXPECT_EQ(env.faults.last_write_bytes, kFirstRecordOffset);
  auto entries = MakeEntries(1, 50, 1);
  ASSERT_TRUE(w->Append(entries, nullptr).ok());
  EXPECT_EQ(env.faults.last_write_offset, kFirstRecordOffset);
  EXPECT_EQ(env.faults.last_write_bytes, RecordsBytes(entries));
}

TEST_F(WalTest, ZeroAheadBytesAtLimit) {
  opts_.zero_ahead_bytes = kMaxZeroAheadBytes + 1;
  Status s = Wal::Create(opts_, md_).status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("zero_ahead_bytes"));
  opts_.zero_ahead_bytes = kMaxZeroAheadBytes;  // more than the segment: capped by it
  WriteLog(30);
  ReplayResult r;
  auto w = OpenWal(&r);
  EXPECT_EQ(r.entries, MakeEntries(1, 30, 1));
}

}  // namespace
}  // namespace grid::wal
