// MemoryStorage and the value types' encodings.
#include <gtest/gtest.h>

#include "raft/storage.h"
#include "raft/types.h"

namespace grid::raft {
namespace {

Entry E(uint64_t index, uint64_t term, std::string data = "") {
  return Entry{Term(term), Index(index), EntryType::kNormal, std::move(data)};
}

// Storage holding entries 3..5 (terms 3, 4, 5) after a compaction at 3.
void Make345(MemoryStorage& s) {
  s.Append({E(1, 1), E(2, 2), E(3, 3), E(4, 4), E(5, 5)});
  EXPECT_TRUE(s.Compact(Index(3)).ok());
}

TEST(MemoryStorageTest, FreshStorageIsEmpty) {
  MemoryStorage s;
  EXPECT_EQ(s.FirstIndex(), Index(1));
  EXPECT_EQ(s.LastIndex(), Index(0));
  EXPECT_EQ(s.TermAt(Index(0)).value(), Term(0));
  EXPECT_FALSE(s.TermAt(Index(1)).ok());
  EXPECT_TRUE(s.GetSnapshot().value().empty());
}

TEST(MemoryStorageTest, TermAtAndBounds) {
  MemoryStorage s;
  Make345(s);
  EXPECT_EQ(s.FirstIndex(), Index(4));
  EXPECT_EQ(s.LastIndex(), Index(5));
  EXPECT_EQ(s.TermAt(Index(2)).status().code(), Code::kOutOfRange);
  EXPECT_EQ(s.TermAt(Index(3)).value(), Term(3));  // the compaction point stays known
  EXPECT_EQ(s.TermAt(Index(5)).value(), Term(5));
  EXPECT_EQ(s.TermAt(Index(6)).status().code(), Code::kOutOfRange);
}

TEST(MemoryStorageTest, EntriesRangeAndByteLimit) {
  MemoryStorage s;
  s.Append({E(1, 1, "aaaa"), E(2, 1, "bbbb"), E(3, 1, "cccc")});
  EXPECT_EQ(s.Entries(Index(1), Index(4), UINT64_MAX).value().size(), 3u);
  EXPECT_EQ(s.Entries(Index(1), Index(4), 8).value().size(), 2u);
  // At least one entry even when it alone exceeds the limit.
  EXPECT_EQ(s.Entries(Index(1), Index(4), 0).value().size(), 1u);
  EXPECT_EQ(s.Entries(Index(0), Index(2), UINT64_MAX).status().code(), Code::kOutOfRange);
  EXPECT_EQ(s.Entries(Index(2), Index(5), UINT64_MAX).status().code(), Code::kOutOfRange);
  MemoryStorage c;
  Make345(c);
  EXPECT_EQ(c.Entries(Index(3), Index(5), UINT64_MAX).status().code(), Code::kOutOfRange);
  EXPECT_EQ(c.Entries(Index(4), Index(6), UINT64_MAX).value().size(), 2u);
}

TEST(MemoryStorageTest, AppendOverwritesConflictingTail) {
  MemoryStorage s;
  Make345(s);
  s.Append({E(4, 6), E(5, 6)});
  EXPECT_EQ(s.TermAt(Index(4)).value(), Term(6));
  EXPECT_EQ(s.LastIndex(), Index(5));
  s.Append({E(5, 7), E(6, 7)});
  EXPECT_EQ(s.TermAt(Index(4)).value(), Term(6));
  EXPECT_EQ(s.TermAt(Index(5)).value(), Term(7));
  EXPECT_EQ(s.LastIndex(), Index(6));
  // Entries at or before the compaction point are ignored.
  s.Append({E(2, 9), E(3, 9)});
  EXPECT_EQ(s.LastIndex(), Index(6));
  EXPECT_EQ(s.TermAt(Index(3)).value(), Term(3));
  s.Append({E(3, 9), E(4, 9)});
  EXPECT_EQ(s.TermAt(Index(4)).value(), Term(9));
  EXPECT_EQ(s.LastIndex(), Index(4));
}

TEST(MemoryStorageTest, CompactRules) {
  MemoryStorage s;
  Make345(s);
  EXPECT_EQ(s.Compact(Index(3)).code(), Code::kOutOfRange);
  EXPECT_EQ(s.Compact(Index(6)).code(), Code::kOutOfRange);
  EXPECT_TRUE(s.Compact(Index(5)).ok());
  EXPECT_EQ(s.FirstIndex(), Index(6));
  EXPECT_EQ(s.LastIndex(), Index(5));
  EXPECT_EQ(s.TermAt(Index(5)).value(), Term(5));
}

TEST(MemoryStorageTest, CreateAndApplySnapshot) {
  MemoryStorage s;
  Make345(s);
  ConfState cs{{MemberId(1), MemberId(2)}, {MemberId(3)}};
  EXPECT_TRUE(s.CreateSnapshot(Index(4), cs, "data").ok());
  auto snap = s.GetSnapshot().value();
  EXPECT_EQ(snap.meta.index, Index(4));
  EXPECT_EQ(snap.meta.term, Term(4));
  EXPECT_EQ(snap.meta.conf_state, cs);
  EXPECT_EQ(s.CreateSnapshot(Index(3), cs, "old").code(), Code::kOutOfRange);
  EXPECT_EQ(s.CreateSnapshot(Index(9), cs, "future").code(), Code::kOutOfRange);
  EXPECT_EQ(s.GetInitialState().conf_state, cs);

  Snapshot newer;
  newer.meta = SnapshotMeta{Index(10), Term(8), cs};
  EXPECT_TRUE(s.ApplySnapshot(newer).ok());
  EXPECT_EQ(s.FirstIndex(), Index(11));
  EXPECT_EQ(s.LastIndex(), Index(10));
  EXPECT_EQ(s.TermAt(Index(10)).value(), Term(8));
  Snapshot older;
  older.meta = SnapshotMeta{Index(9), Term(8), cs};
  EXPECT_EQ(s.ApplySnapshot(older).code(), Code::kOutOfRange);
}

TEST(MemoryStorageTest, HardState) {
  MemoryStorage s;
  HardState hs{Term(3), MemberId(2), Index(0)};
  s.SetHardState(hs);
  EXPECT_EQ(s.GetInitialState().hard_state, hs);
}

TEST(TypesTest, ConfChangeRoundTrip) {
  for (auto type : {ConfChangeType::kAddVoter, ConfChangeType::kAddLearner,
                    ConfChangeType::kRemove, ConfChangeType::kUpdate}) {
    ConfChange cc{type, MemberId(0x0102030405060708ull), std::string("ctx\0x", 5)};
    ConfChange out;
    ASSERT_TRUE(DecodeConfChange(EncodeConfChange(cc), &out));
    EXPECT_EQ(out, cc);
  }
}

TEST(TypesTest, ConfChangeDecodeRejectsGarbage) {
  ConfChange out;
  const std::string good = EncodeConfChange(ConfChange{ConfChangeType::kRemove, MemberId(7), "ab"});
  EXPECT_FALSE(DecodeConfChange("", &out));
  EXPECT_FALSE(DecodeConfChange("garbage", &out));
  EXPECT_FALSE(DecodeConfChange(good.substr(0, good.size() - 1), &out));  // truncated
  EXPECT_FALSE(DecodeConfChange(good + "x", &out));                        // trailing bytes
  std::string bad_version = good;
  bad_version[0] = 2;
  EXPECT_FALSE(DecodeConfChange(bad_version, &out));
  std::string bad_type = good;
  bad_type[1] = 9;
  EXPECT_FALSE(DecodeConfChange(bad_type, &out));
}

TEST(TypesTest, Names) {
  EXPECT_STREQ(MessageTypeName(MessageType::kAppResp), "AppResp");
  EXPECT_STREQ(RoleName(Role::kPreCandidate), "PreCandidate");
  EXPECT_FALSE(IsWireMessage(MessageType::kHup));
  EXPECT_FALSE(IsWireMessage(MessageType::kCheckQuorum));
  EXPECT_TRUE(IsWireMessage(MessageType::kProp));
  EXPECT_TRUE(IsWireMessage(MessageType::kReadIndexResp));
  EXPECT_FALSE(IsWireMessage(static_cast<MessageType>(99)));
}

}  // namespace
}  // namespace grid::raft
