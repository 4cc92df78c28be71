#include "storage/wal/wal.h"

#include "storage/wal/wal_test_util.h"

namespace grid::wal {
namespace {

using namespace ::grid::wal::wal_testing;  // NOLINT(build/namespaces)

// --- basic behaviour -----------------------------------------------------------------------

TEST_F(WalTest, RoundTrip) {
  EXPECT_FALSE(Wal::Exists(opts_).value());
  auto w = CreateWal();
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(Wal::Exists(opts_).value());
  EXPECT_EQ(w->LastIndex(), 0u);
  auto ents = MakeEntries(1, 5, 1);
  ents[2].type = kEntryConfChange;
  ents[3].data.clear();
  HardState hs{1, 7, 3};
  ASSERT_TRUE(w->Append(ents, &hs).ok());
  ASSERT_TRUE(w->Sync().ok());
  EXPECT_EQ(w->LastIndex(), 5u);
  w.reset();

  ReplayResult r;
  w = OpenWal(&r);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(r.metadata, md_);
  EXPECT_EQ(r.hard_state, hs);
  EXPECT_EQ(r.snapshot, SnapshotMarker{});
  EXPECT_EQ(r.entries, ents);
  EXPECT_EQ(r.torn_bytes_dropped, 0u);
  EXPECT_EQ(w->LastIndex(), 5u);
  EXPECT_EQ(w->SegmentNames(), std::vector<std::string>{"0000000000000001-0000000000000001.wal"});
}

TEST_F(WalTest, CreateRefusesDirWithSegments) {
  WriteLog(1);
  auto w = Wal::Create(opts_, md_);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kAlreadyExists);
}

TEST_F(WalTest, OpenWithoutSegmentsIsNotFound) {
  fs::create_directories(opts_.dir);
  EXPECT_EQ(OpenError().code(), Code::kNotFound);
}

TEST_F(WalTest, HardStateOnlyAppend) {
  auto w = CreateWal();
  HardState hs{4, 2, 0};
  ASSERT_TRUE(w->Append({}, &hs).ok());
  ASSERT_TRUE(w->Sync().ok());
  w.reset();
  ReplayResult r;
  w = OpenWal(&r);
  EXPECT_EQ(r.hard_state, hs);
  EXPECT_TRUE(r.entries.empty());
}

TEST_F(WalTest, ManyEntriesAcrossSmallSegments) {
  opts_.segment_bytes = kMinSegmentBytes;
  auto w = CreateWal();
  std::vector<Entry> all;
  uint64_t next = 1;
  for (size_t batch : {1, 3, 7, 2, 11, 5, 20, 1}) {
    auto ents = MakeEntries(next, batch, 2);
    next += batch;
    HardState hs{2, 1, next - 1};
    ASSERT_TRUE(w->Append(ents, &hs).ok());
    all.insert(all.end(), ents.begin(), ents.end());
  }
  ASSERT_TRUE(w->Sync().ok());
  EXPECT_GE(w->SegmentNames().size(), 8u);
  for (const std::string& n : w->SegmentNames()) {
    EXPECT_EQ(fs::file_size(opts_.dir + "/" + n), kMinSegmentBytes) << n;
  }
  w.reset();
  ReplayResult r;
  w = OpenWal(&r);
  EXPECT_EQ(r.entries, all);
  EXPECT_EQ(r.hard_state, (HardState{2, 1, next - 1}));
  EXPECT_EQ(w->LastIndex(), next - 1);
}

TEST_F(WalTest, ReopenAndAppendMore) {
  opts_.segment_bytes = kMinSegmentBytes;
  WriteLog(10);
  for (int round = 0; round < 3; ++round) {
    ReplayResult r;
    auto w = OpenWal(&r);
    ASSERT_NE(w, nullptr);
    ASSERT_EQ(r.entries.size(), 10u + 4 * round);
    ASSERT_TRUE(w->Append(MakeEntries(w->LastIndex() + 1, 4, 1), nullptr).ok());
    ASSERT_TRUE(w->Sync().ok());
  }
  ReplayResult r;
  auto w = OpenWal(&r);
  EXPECT_EQ(r.entries, MakeEntries(1, 22, 1));
}

TEST_F(WalTest, OverwriteRuleOnReplay) {
  opts_.segment_bytes = kMinSegmentBytes;  // the overwritten tail spans segments
  WriteLog(20);
  {
    ReplayResult r;
    auto w = OpenWal(&r);
    // A new leader overwrites the conflicting tail from index 9 on.
    ASSERT_TRUE(w->Append(MakeEntries(9, 3, 2), nullptr).ok());
    EXPECT_EQ(w->LastIndex(), 11u);
    // And again from 11, within the same segment as the previous overwrite.
    ASSERT_TRUE(w->Append(MakeEntries(11, 2, 3), nullptr).ok());
    EXPECT_EQ(w->LastIndex(), 12u);
    ASSERT_TRUE(w->Sync().ok());
  }
  ReplayResult r;
  auto w = OpenWal(&r);
  std::vector<Entry> want = MakeEntries(1, 8, 1);
  for (auto& e : MakeEntries(9, 2, 2)) want.push_back(e);
  for (auto& e : MakeEntries(11, 2, 3)) want.push_back(e);
  EXPECT_EQ(r.entries, want);
  EXPECT_EQ(w->LastIndex(), 12u);
}

TEST_F(WalTest, AppendRejectsBadIndexes) {
  auto w = CreateWal();
  EXPECT_EQ(w->Append(MakeEntries(2, 1, 1), nullptr).code(), Code::kInvalidArgument);  // gap
  EXPECT_EQ(w->Append(MakeEntries(0, 1, 1), nullptr).code(), Code::kInvalidArgument);  // index 0
  auto ents = MakeEntries(1, 3, 1);
  ents[2].index = 4;
  EXPECT_EQ(w->Append(ents, nullptr).code(), Code::kInvalidArgument);  // not consecutive
  EXPECT_EQ(w->LastIndex(), 0u);
  // The Wal stays usable after refused input.
  ASSERT_TRUE(w->Append(MakeEntries(1, 3, 1), nullptr).ok());
  EXPECT_EQ(w->LastIndex(), 3u);
}

TEST_F(WalTest, SnapshotMarkerLimitsReplay) {
  WriteLog(10);
  {
    ReplayResult r;
    auto w = OpenWal(&r);
    ASSERT_TRUE(w->SaveSnapshotMarker({5, 1}).ok());
    EXPECT_EQ(w->SaveSnapshotMarker({4, 1}).code(), Code::kInvalidArgument);
    EXPECT_EQ(w->Append(MakeEntries(5, 1, 2), nullptr).code(), Code::kInvalidArgument);
  }
  ReplayResult r;
  auto w = OpenWal(&r);
  EXPECT_EQ(r.snapshot, (SnapshotMarker{5, 1}));
  EXPECT_EQ(r.entries, MakeEntries(6, 5, 1));
  EXPECT_EQ(w->LastIndex(), 10u);
}

TEST_F(WalTest, SnapshotMarkerBeyondLastIndex) {
  WriteLog(10);
  {
    ReplayResult r;
    auto w = OpenWal(&r);
    // A snapshot received from a leader replaces the whole log.
    ASSERT_TRUE(w->SaveSnapshotMarker({20, 3}).ok());
    EXPECT_EQ(w->LastIndex(), 20u);
    EXPECT_EQ(w->Append(MakeEntries(11, 1, 3), nullptr).code(), Code::kInvalidArgument);
    ASSERT_TRUE(w->Append(MakeEntries(21, 2, 3), nullptr).ok());
    ASSERT_TRUE(w->Sync().ok());
  }
  ReplayResult r;
  auto w = OpenWal(&r);
  EXPECT_EQ(r.snapshot, (SnapshotMarker{20, 3}));
  EXPECT_EQ(r.entries, MakeEntries(21, 2, 3));
  EXPECT_EQ(w->LastIndex(), 22u);
}

TEST_F(WalTest, ReleaseBefore) {
  opts_.segment_bytes = kMinSegmentBytes;
  auto w = CreateWal();
  HardState hs{1, 1, 60};
  ASSERT_TRUE(w->Append(MakeEntries(1, 60, 1), &hs).ok());
  ASSERT_TRUE(w->SaveSnapshotMarker({40, 1}).ok());
  const size_t before = w->SegmentNames().size();
  ASSERT_GE(before, 8u);

  ASSERT_TRUE(w->ReleaseBefore(41).ok());
  std::vector<std::string> names = w->SegmentNames();
  EXPECT_LT(names.size(), before);
  uint64_t seq, first0, first1;
  ASSERT_TRUE(ParseSegmentName(names[0], &seq, &first0));
  ASSERT_TRUE(ParseSegmentName(names[1], &seq, &first1));
  EXPECT_LE(first0, 41u);  // the segment holding entry 41 is kept
  EXPECT_GT(first1, 41u);  // every earlier one is gone
  EXPECT_EQ(std::distance(fs::directory_iterator(opts_.dir), fs::directory_iterator()),
            static_cast<std::ptrdiff_t>(names.size()));
  ASSERT_TRUE(w->Sync().ok());
  w.reset();

  ReplayResult r;
  w = OpenWal(&r);
  EXPECT_EQ(r.metadata, md_);
  EXPECT_EQ(r.hard_state, hs);
  EXPECT_EQ(r.snapshot, (SnapshotMarker{40, 1}));
  EXPECT_EQ(r.entries, MakeEntries(41, 20, 1));

  // Never the last segment, whatever the index.
  ASSERT_TRUE(w->ReleaseBefore(UINT64_MAX).ok());
  EXPECT_EQ(w->SegmentNames().size(), 1u);
  w.reset();
  w = OpenWal(&r);
  EXPECT_EQ(r.metadata, md_);
  EXPECT_EQ(r.hard_state, hs);
  EXPECT_EQ(w->LastIndex(), 60u);
}

TEST_F(WalTest, LeftoverTempSegmentIsRemoved) {
  WriteLog(3);
  std::ofstream(opts_.dir + "/" + SegmentName(2, 4) + ".tmp") << "half-made segment";
  ReplayResult r;
  auto w = OpenWal(&r);
  EXPECT_EQ(r.entries.size(), 3u);
  EXPECT_FALSE(fs::exists(opts_.dir + "/" + SegmentName(2, 4) + ".tmp"));
}

// --- limits --------------------------------------------------------------------------------

TEST_F(WalTest, SegmentBytesAtLimit) {
  opts_.segment_bytes = kMinSegmentBytes - 1;
  EXPECT_EQ(Wal::Create(opts_, md_).status().code(), Code::kInvalidArgument);
  opts_.segment_bytes = kMinSegmentBytes;
  WriteLog(30);
  ReplayResult r;
  auto w = OpenWal(&r);
  EXPECT_EQ(r.entries, MakeEntries(1, 30, 1));
}

TEST_F(WalTest, MaxRecordBytesAtLimit) {
  FaultEnv env;
  opts_.env = &env;
  opts_.max_record_bytes = 4096;
  auto w = CreateWal();
  Entry at_limit{1, 1, kEntryNormal, std::string(4096 - kEntryFixedBytes, 'x')};
  ASSERT_TRUE(w->Append({at_limit}, nullptr).ok());
  int writes = env.faults.write_calls;
  auto too_big = MakeEntries(2, 2, 1);
  too_big[1].data.assign(4096 - kEntryFixedBytes + 1, 'y');
  Status s = w->Append(too_big, nullptr);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("max_record_bytes 4096"));
  EXPECT_EQ(env.faults.write_calls, writes);  // nothing written, not even entry 2
  EXPECT_EQ(w->LastIndex(), 1u);
  ASSERT_TRUE(w->Sync().ok());
  w.reset();
  ReplayResult r;
  w = OpenWal(&r);
  EXPECT_EQ(r.entries, std::vector<Entry>{at_limit});
}

TEST_F(WalTest, DefaultMaxRecordBytesAtLimitUsesOversizeSegment) {
  opts_.segment_bytes = 1 << 20;  // smaller than one maximal entry
  auto w = CreateWal();
  Entry big{1, 1, kEntryNormal, std::string(kDefaultMaxRecordBytes - kEntryFixedBytes, 'b')};
  ASSERT_TRUE(w->Append({big}, nullptr).ok());
  Entry bigger{1, 2, kEntryNormal, std::string(kDefaultMaxRecordBytes - kEntryFixedBytes + 1, 'c')};
  EXPECT_EQ(w->Append({bigger}, nullptr).code(), Code::kInvalidArgument);
  ASSERT_TRUE(w->Append(MakeEntries(2, 3, 1), nullptr).ok());
  ASSERT_TRUE(w->Sync().ok());
  std::vector<std::string> names = w->SegmentNames();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(fs::file_size(opts_.dir + "/" + names[1]),
            kSegmentHeaderBytes + kPreambleBytes + RecordBytes(kDefaultMaxRecordBytes));
  EXPECT_EQ(fs::file_size(opts_.dir + "/" + names[2]), opts_.segment_bytes);
  w.reset();
  ReplayResult r;
  w = OpenWal(&r);
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(r.entries[0], big);
}

TEST_F(WalTest, EntryLargerThanFreeSpaceStartsNewSegment) {
  opts_.segment_bytes = kMinSegmentBytes;
  auto w = CreateWal();
  ASSERT_TRUE(w->Append(MakeEntries(1, 5, 1), nullptr).ok());  // 168 + 5*136 = 848 bytes used
  ASSERT_TRUE(w->Append(MakeEntries(6, 1, 1, 200), nullptr).ok());
  ASSERT_EQ(w->SegmentNames().size(), 2u);
  EXPECT_EQ(w->SegmentNames()[1], SegmentName(2, 6));
}

// --- corruption and torn tails -------------------------------------------------------------

TEST_F(WalTest, FlippedPayloadByteIsCorruptionWithFileAndOffset) {
  WriteLog(10);
  FlipByte(Seg(1, 1), EntryOffset(4) + kRecordHeaderBytes + 30);
  Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.message(),
            "wal: checksum mismatch in 0000000000000001-0000000000000001.wal at offset " +
                std::to_string(EntryOffset(4)));
}

TEST_F(WalTest, TruncatedMidRecordIsTornTail) {
  WriteLog(10);
  fs::resize_file(Seg(1, 1), EntryOffset(9) + 50);
  ReplayResult r;
  auto w = OpenWal(&r);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(r.entries, MakeEntries(1, 9, 1));
  EXPECT_EQ(r.torn_bytes_dropped, 50u);
  EXPECT_THAT(log_.str(), HasSubstr("dropped torn tail of 50 bytes in "
                                    "0000000000000001-0000000000000001.wal at offset " +
                                    std::to_string(EntryOffset(9))));
  EXPECT_EQ(fs::file_size(Seg(1, 1)), opts_.segment_bytes);  // preallocated again
  // Appending continues cleanly where the torn record was.
  ASSERT_TRUE(w->Append(MakeEntries(10, 2, 2), nullptr).ok());
  ASSERT_TRUE(w->Sync().ok());
  w.reset();
  w = OpenWal(&r);
  std::vector<Entry> want = MakeEntries(1, 9, 1);
  for (auto& e : MakeEntries(10, 2, 2)) want.push_back(e);
  EXPECT_EQ(r.entries, want);
  EXPECT_EQ(r.torn_bytes_dropped, 0u);
}

TEST_F(WalTest, TruncatedMidHeaderIsTornTail) {
  WriteLog(10);
  fs::resize_file(Seg(1, 1), EntryOffset(9) + 5);
  ReplayResult r;
  auto w = OpenWal(&r);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(r.entries, MakeEntries(1, 9, 1));
  EXPECT_EQ(r.torn_bytes_dropped, 5u);
}

TEST_F(WalTest, PartlyWrittenLastRecordInPreallocatedSpaceIsTornTail) {
  WriteLog(10);
  // The second half of the last record never reached the disk: zeros up to the segment end.
  Patch(Seg(1, 1), EntryOffset(9) + 70, std::string(66, '\0'));
  ReplayResult r;
  auto w = OpenWal(&r);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(r.entries, MakeEntries(1, 9, 1));
  EXPECT_EQ(r.torn_bytes_dropped, RecordBytes(kEntryFixedBytes + 100));
  // The torn bytes were zeroed on disk.
  std::string after = ReadAll(Seg(1, 1)).substr(EntryOffset(9));
  EXPECT_EQ(after.find_first_not_of('\0'), std::string::npos);
}

TEST_F(WalTest, ZeroedMiddleRecordIsCorruption) {
  WriteLog(10);
  Patch(Seg(1, 1), EntryOffset(4), std::string(RecordBytes(kEntryFixedBytes + 100), '\0'));
  Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.message(),
            "wal: zeroed record followed by data in "
            "0000000000000001-0000000000000001.wal at offset " +
                std::to_string(EntryOffset(4)));
}

TEST_F(WalTest, ImpossibleLengthIsCorruption) {
  WriteLog(10);
  std::string len;
  PutU32(&len, 0xfffffff0u);
  Patch(Seg(1, 1), EntryOffset(4), len);
  Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.message(),
            "wal: impossible record length 4294967280 in "
            "0000000000000001-0000000000000001.wal at offset " +
                std::to_string(EntryOffset(4)));
}

TEST_F(WalTest, CorruptSegmentHeaderIsCorruption) {
  WriteLog(3);
  FlipByte(Seg(1, 1), 20);
  Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.message(),
            "wal: bad segment header in 0000000000000001-0000000000000001.wal at offset 0");
}

TEST_F(WalTest, BadRecordInNonLastSegmentIsCorruptionEvenBeforeZeros) {
  opts_.segment_bytes = kMinSegmentBytes;
  WriteLog(10);  // six 136-byte entries fit in the first segment
  ASSERT_TRUE(fs::exists(Seg(2, 7)));
  // Entry 6 is the last record of segment 1, followed only by zeros: torn-looking, but a
  // segment that is not the last was complete before its successor existed.
  fs::resize_file(Seg(1, 1), EntryOffset(5) + 50);
  Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.message(),
            "wal: truncated record in 0000000000000001-0000000000000001.wal at offset " +
                std::to_string(EntryOffset(5)));
}

TEST_F(WalTest, IndexGapBetweenSegmentsIsCorruption) {
  opts_.segment_bytes = kMinSegmentBytes;
  WriteLog(10);
  ASSERT_TRUE(fs::exists(Seg(2, 7)));
  // Rewrite segment 2 as if it started at index 12.
  std::string data = ReadAll(Seg(2, 7));
  data.replace(0, kSegmentHeaderBytes, EncodeSegmentHeader({2, 12, kMinSegmentBytes}));
  fs::remove(Seg(2, 7));
  std::ofstream(Seg(2, 12), std::ios::binary) << data;
  Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(s.message(), HasSubstr("index gap"));
  EXPECT_THAT(s.message(), HasSubstr("in 0000000000000002-000000000000000c.wal at offset 0"));
}

TEST_F(WalTest, MissingMiddleSegmentIsCorruption) {
  opts_.segment_bytes = kMinSegmentBytes;
  WriteLog(20);
  ASSERT_GE(std::distance(fs::directory_iterator(opts_.dir), fs::directory_iterator()), 3);
  fs::remove(Seg(2, 7));
  Status s = OpenError();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(s.message(),
              HasSubstr("missing segment between 0000000000000001-0000000000000001.wal"));
}

TEST_F(WalTest, SegmentNameNotMatchingHeaderIsCorruption) {
  WriteLog(3);
  fs::rename(Seg(1, 1), Seg(1, 2));
  EXPECT_EQ(OpenError().message(),
            "wal: segment header does not match its name in "
            "0000000000000001-0000000000000002.wal at offset 0");
}

TEST_F(WalTest, EveryFlippedByteOfAMiddleRecordIsCorruptionAtItsOffset) {
  WriteLog(6);
  const std::string pristine = ReadAll(Seg(1, 1));
  const uint64_t rec = EntryOffset(2);
  for (uint64_t i = rec; i < EntryOffset(3); ++i) {
    FlipByte(Seg(1, 1), i);
    Status s = OpenError();
    EXPECT_EQ(s.code(), Code::kCorruption) << "byte " << i;
    EXPECT_THAT(s.message(), HasSubstr(" at offset " + std::to_string(rec))) << "byte " << i;
    Patch(Seg(1, 1), 0, pristine);
  }
}

// A crash can cut the file anywhere after the last synced record: Open keeps exactly the
// records that are complete and drops the rest.
TEST_F(WalTest, EveryTruncationPointOfTheLastSegmentKeepsCompleteRecords) {
  WriteLog(4);
  const std::string pristine = ReadAll(Seg(1, 1));
  const uint64_t rec_bytes = RecordBytes(kEntryFixedBytes + 100);
  for (uint64_t cut = kFirstRecordOffset; cut <= EntryOffset(4); cut += 3) {
    std::ofstream(Seg(1, 1), std::ios::binary | std::ios::trunc) << pristine.substr(0, cut);
    ReplayResult r;
    auto w = OpenWal(&r);
    ASSERT_NE(w, nullptr) << "cut " << cut;
    const size_t complete = (cut - kFirstRecordOffset) / rec_bytes;
    EXPECT_EQ(r.entries, MakeEntries(1, complete, 1)) << "cut " << cut;
    EXPECT_EQ(r.torn_bytes_dropped, (cut - kFirstRecordOffset) % rec_bytes) << "cut " << cut;
  }
}

// The same crash inside preallocated space: the unwritten rest of the record reads as zeros.
TEST_F(WalTest, EveryZeroedSuffixOfTheLastRecordIsATornTail) {
  WriteLog(4);
  const std::string pristine = ReadAll(Seg(1, 1));
  const uint64_t rec_bytes = RecordBytes(kEntryFixedBytes + 100);
  for (uint64_t cut = EntryOffset(3) + 1; cut < EntryOffset(4); ++cut) {
    Patch(Seg(1, 1), 0, pristine);
    Patch(Seg(1, 1), cut, std::string(EntryOffset(4) - cut, '\0'));
    ReplayResult r;
    auto w = OpenWal(&r);
    ASSERT_NE(w, nullptr) << "cut " << cut;
    if (cut >= EntryOffset(3) + kRecordHeaderBytes + kEntryFixedBytes + 100) {
      EXPECT_EQ(r.entries.size(), 4u) << "only padding was zeroed, cut " << cut;
    } else {
      EXPECT_EQ(r.entries, MakeEntries(1, 3, 1)) << "cut " << cut;
      EXPECT_EQ(r.torn_bytes_dropped, rec_bytes) << "cut " << cut;
    }
  }
}

TEST_F(WalTest, TornTailInLaterSegment) {
  opts_.segment_bytes = kMinSegmentBytes;
  WriteLog(20);
  ReplayResult r;
  std::vector<std::string> names;
  {
    auto w = OpenWal(&r);
    names = w->SegmentNames();
  }
  ASSERT_GE(names.size(), 3u);
  const std::string last = opts_.dir + "/" + names.back();
  uint64_t seq, first;
  ASSERT_TRUE(ParseSegmentName(names.back(), &seq, &first));
  // Cut the last record of the last segment in half.
  const uint64_t in_last = 20 - first + 1;
  fs::resize_file(last,
                  kFirstRecordOffset + (in_last - 1) * RecordBytes(kEntryFixedBytes + 100) + 60);
  auto w = OpenWal(&r);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(r.entries, MakeEntries(1, 19, 1));
  EXPECT_EQ(w->LastIndex(), 19u);
  EXPECT_THAT(log_.str(), HasSubstr("dropped torn tail of 60 bytes in " + names.back()));
}

// --- I/O errors ----------------------------------------------------------------------------

TEST_F(WalTest, EnospcOnWriteMakesWalUnusableAndKeepsSyncedData) {
  FaultEnv env;
  opts_.env = &env;
  auto w = CreateWal();
  ASSERT_TRUE(w->Append(MakeEntries(1, 5, 1), nullptr).ok());
  ASSERT_TRUE(w->Sync().ok());

  env.faults.fail_writes_errno = ENOSPC;
  Status s = w->Append(MakeEntries(6, 1, 1), nullptr);
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_THAT(s.message(), HasSubstr("No space left on device"));
  env.faults.fail_writes_errno = 0;  // even once the disk has room again
  EXPECT_EQ(w->Append(MakeEntries(6, 1, 1), nullptr).message(), s.message());
  EXPECT_EQ(w->Sync().message(), s.message());
  EXPECT_EQ(w->SaveSnapshotMarker({1, 1}).message(), s.message());
  EXPECT_EQ(w->ReleaseBefore(1).message(), s.message());
  w.reset();

  opts_.env = nullptr;
  ReplayResult r;
  w = OpenWal(&r);
  EXPECT_EQ(r.entries, MakeEntries(1, 5, 1));
}

TEST_F(WalTest, FailedSyncMakesWalUnusable) {
  FaultEnv env;
  opts_.env = &env;
  auto w = CreateWal();
  ASSERT_TRUE(w->Append(MakeEntries(1, 2, 1), nullptr).ok());
  env.faults.fail_sync_errno = EIO;
  Status s = w->Sync();
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_THAT(s.message(), HasSubstr("Input/output error"));
  env.faults.fail_sync_errno = 0;
  EXPECT_EQ(w->Append(MakeEntries(3, 1, 1), nullptr).message(), s.message());
  EXPECT_EQ(w->Sync().message(), s.message());
}

TEST_F(WalTest, EnospcPreallocatingNextSegment) {
  FaultEnv env;
  opts_.env = &env;
  opts_.segment_bytes = kMinSegmentBytes;
  auto w = CreateWal();
  ASSERT_TRUE(w->Append(MakeEntries(1, 6, 1), nullptr).ok());  // fills segment 1
  ASSERT_TRUE(w->Sync().ok());
  env.faults.fail_allocate_errno = ENOSPC;
  Status s = w->Append(MakeEntries(7, 1, 1), nullptr);
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_THAT(s.message(), HasSubstr("No space left on device"));
  env.faults.fail_allocate_errno = 0;
  EXPECT_EQ(w->Sync().message(), s.message());
  w.reset();
  opts_.env = nullptr;
  ReplayResult r;
  w = OpenWal(&r);  // the half-made segment was never renamed into the log
  EXPECT_EQ(r.entries, MakeEntries(1, 6, 1));
  EXPECT_EQ(w->SegmentNames().size(), 1u);
}

}  // namespace
}  // namespace grid::wal
