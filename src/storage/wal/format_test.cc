#include "storage/wal/format.h"

#include <gtest/gtest.h>

namespace grid::wal {
namespace {

TEST(FormatTest, SegmentNameRoundTrip) {
  EXPECT_EQ(SegmentName(1, 1), "0000000000000001-0000000000000001.wal");
  EXPECT_EQ(SegmentName(0xab, 0x10f), "00000000000000ab-000000000000010f.wal");
  uint64_t seq = 0, first = 0;
  ASSERT_TRUE(ParseSegmentName("00000000000000ab-000000000000010f.wal", &seq, &first));
  EXPECT_EQ(seq, 0xabu);
  EXPECT_EQ(first, 0x10fu);
  EXPECT_FALSE(ParseSegmentName("00000000000000ab-000000000000010f.wal.tmp", &seq, &first));
  EXPECT_FALSE(ParseSegmentName("00000000000000AB-000000000000010f.wal", &seq, &first));
  EXPECT_FALSE(ParseSegmentName("00000000000000ab_000000000000010f.wal", &seq, &first));
  EXPECT_FALSE(ParseSegmentName("LOCK", &seq, &first));
}

TEST(FormatTest, SegmentHeaderRoundTripAndChecks) {
  std::string h = EncodeSegmentHeader({7, 42, 1 << 20});
  ASSERT_EQ(h.size(), kSegmentHeaderBytes);
  SegmentHeader got;
  ASSERT_TRUE(DecodeSegmentHeader(h, &got));
  EXPECT_EQ(got.sequence, 7u);
  EXPECT_EQ(got.first_index, 42u);
  EXPECT_EQ(got.capacity_bytes, 1u << 20);
  for (size_t i = 0; i < 44; ++i) {
    std::string bad = h;
    bad[i] ^= 0x01;
    EXPECT_FALSE(DecodeSegmentHeader(bad, &got)) << "byte " << i;
  }
}

TEST(FormatTest, RecordsArePaddedAndChecksummed) {
  for (size_t n = 0; n < 24; ++n) {
    std::string out;
    AppendRecord(RecordType::kMetadata, std::string(n, 'x'), &out);
    EXPECT_EQ(out.size() % kRecordAlignBytes, 0u);
    EXPECT_EQ(out.size(), RecordBytes(n));
    EXPECT_EQ(GetU32(out.data()), n);
    EXPECT_EQ(GetU32(out.data() + 4), RecordCrc(RecordType::kMetadata, std::string(n, 'x')));
  }
  // The checksum covers the record type.
  EXPECT_NE(RecordCrc(RecordType::kEntry, "abc"), RecordCrc(RecordType::kHardState, "abc"));
}

TEST(FormatTest, EntryRecordMatchesGenericEncoding) {
  Entry e{3, 9, kEntryConfChange, "payload"};
  std::string direct;
  AppendEntryRecord(e, &direct);
  std::string payload;
  PutU64(&payload, e.term);
  PutU64(&payload, e.index);
  PutU32(&payload, e.type);
  payload += e.data;
  std::string generic;
  AppendRecord(RecordType::kEntry, payload, &generic);
  EXPECT_EQ(direct, generic);
  Entry back;
  ASSERT_TRUE(DecodeEntry(payload, &back));
  EXPECT_EQ(back, e);
  EXPECT_FALSE(DecodeEntry(payload.substr(0, kEntryFixedBytes - 1), &back));
}

TEST(FormatTest, FixedPayloadsRejectWrongSizes) {
  HardState hs{1, 2, 3}, hs2;
  ASSERT_TRUE(DecodeHardState(EncodeHardState(hs), &hs2));
  EXPECT_EQ(hs, hs2);
  EXPECT_FALSE(DecodeHardState(EncodeHardState(hs) + "x", &hs2));
  SnapshotMarker m{5, 2}, m2;
  ASSERT_TRUE(DecodeSnapshotMarker(EncodeSnapshotMarker(m), &m2));
  EXPECT_EQ(m, m2);
  EXPECT_FALSE(DecodeSnapshotMarker("short", &m2));
  Metadata md{0xc1, 0x3e}, md2;
  ASSERT_TRUE(DecodeMetadata(EncodeMetadata(md), &md2));
  EXPECT_EQ(md, md2);
}

}  // namespace
}  // namespace grid::wal
