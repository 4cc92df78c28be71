#include "storage/mvcc/key_index.h"

#include <gtest/gtest.h>

#include "storage/mvcc/crc32c.h"
#include "storage/mvcc/revision.h"

namespace grid::mvcc {
namespace {

TEST(RevisionKeyTest, RoundTripsAndSortsByRevision) {
  std::string a = RevisionKey({5, 1});
  std::string b = RevisionKey({5, 2}, /*tombstone=*/true);
  std::string c = RevisionKey({256, 0});
  EXPECT_EQ(a.size(), kRevisionKeyBytes);
  EXPECT_EQ(b.size(), kRevisionKeyBytes + 1);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  Revision rev;
  bool tomb = false;
  ASSERT_TRUE(ParseRevisionKey(b, &rev, &tomb));
  EXPECT_EQ(rev, (Revision{5, 2}));
  EXPECT_TRUE(tomb);
  ASSERT_TRUE(ParseRevisionKey(c, &rev, &tomb));
  EXPECT_EQ(rev, (Revision{256, 0}));
  EXPECT_FALSE(tomb);
  EXPECT_FALSE(ParseRevisionKey("short", &rev, &tomb));
}

TEST(Crc32cTest, KnownVector) {
  Crc32c crc;
  crc.Update("123456789");
  EXPECT_EQ(crc.value(), 0xE3069283u);
  Crc32c split;
  split.Update("1234");
  split.Update("56789");
  EXPECT_EQ(split.value(), crc.value());
}

// History of key "foo" used below (as in etcd's key_index tests):
//   put 2, put 4, tombstone 6 | put 8, put 10, tombstone 12 | put 14, put 14.1, put 16
KeyIndex History() {
  KeyIndex ki;
  ki.Put({2, 0});
  ki.Put({4, 0});
  EXPECT_TRUE(ki.Tombstone({6, 0}));
  ki.Put({8, 0});
  ki.Put({10, 0});
  EXPECT_TRUE(ki.Tombstone({12, 0}));
  ki.Put({14, 0});
  ki.Put({14, 1});
  ki.Put({16, 0});
  return ki;
}

TEST(KeyIndexTest, GetAcrossGenerations) {
  KeyIndex ki = History();
  struct Case {
    int64_t at;
    bool found;
    Revision modified;
    Revision created;
    int64_t version;
  };
  const Case cases[] = {
      {1, false, {}, {}, 0},          {2, true, {2, 0}, {2, 0}, 1},
      {3, true, {2, 0}, {2, 0}, 1},   {5, true, {4, 0}, {2, 0}, 2},
      {6, false, {}, {}, 0},          {7, false, {}, {}, 0},
      {8, true, {8, 0}, {8, 0}, 1},   {11, true, {10, 0}, {8, 0}, 2},
      {12, false, {}, {}, 0},         {14, true, {14, 1}, {14, 0}, 2},
      {15, true, {14, 1}, {14, 0}, 2}, {100, true, {16, 0}, {14, 0}, 3},
  };
  for (const Case& c : cases) {
    auto f = ki.Get(c.at);
    ASSERT_EQ(f.has_value(), c.found) << "at " << c.at;
    if (!f) continue;
    EXPECT_EQ(f->modified, c.modified) << "at " << c.at;
    EXPECT_EQ(f->created, c.created) << "at " << c.at;
    EXPECT_EQ(f->version, c.version) << "at " << c.at;
  }
}

TEST(KeyIndexTest, TombstoneOfDeadKeyFails) {
  KeyIndex ki;
  ki.Put({1, 0});
  EXPECT_TRUE(ki.Tombstone({2, 0}));
  EXPECT_FALSE(ki.Tombstone({3, 0}));
}

TEST(KeyIndexTest, CompactKeepsLatestNonTombstone) {
  struct Case {
    int64_t at;
    std::vector<Revision> kept;
    size_t generations;
  };
  const Case cases[] = {
      {1, {}, 3},          {2, {{2, 0}}, 3},  {5, {{4, 0}}, 3}, {6, {}, 2},
      {9, {{8, 0}}, 2},    {12, {}, 1},       {14, {{14, 1}}, 1},
      {20, {{16, 0}}, 1},
  };
  for (const Case& c : cases) {
    KeyIndex ki = History();
    std::vector<Revision> keep;
    ki.Keep(c.at, &keep);
    std::vector<Revision> kept;
    ki.Compact(c.at, &kept);
    EXPECT_EQ(kept, c.kept) << "at " << c.at;
    EXPECT_EQ(keep, c.kept) << "keep at " << c.at;
    EXPECT_EQ(ki.generations().size(), c.generations) << "at " << c.at;
    // Reads at or after the compaction point are unchanged.
    KeyIndex whole = History();
    for (int64_t at = c.at; at <= 20; ++at) {
      auto a = ki.Get(at);
      auto b = whole.Get(at);
      ASSERT_EQ(a.has_value(), b.has_value()) << c.at << " " << at;
      if (a) {
        EXPECT_EQ(a->modified, b->modified);
        EXPECT_EQ(a->version, b->version);
      }
    }
  }
}

TEST(TreeIndexTest, RangeBoundsAndCompactRemovesDeadKeys) {
  TreeIndex idx;
  idx.Put("a", {1, 0});
  idx.Put("b", {2, 0});
  idx.Put("c", {3, 0});
  ASSERT_TRUE(idx.Tombstone("b", {4, 0}));
  auto keys = [&](std::string_view k, std::string_view e, int64_t at) {
    std::vector<std::string> out;
    idx.Range(k, e, at, [&](std::string_view key, const KeyIndex::Found&) {
      out.emplace_back(key);
    });
    return out;
  };
  EXPECT_EQ(keys("a", "", 4), std::vector<std::string>({"a"}));
  EXPECT_EQ(keys("a", "c", 3), std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(keys("a", "c", 4), std::vector<std::string>({"a"}));
  EXPECT_EQ(keys("b", std::string(1, '\0'), 4), std::vector<std::string>({"c"}));
  EXPECT_EQ(keys("c", "a", 4), std::vector<std::string>());
  EXPECT_EQ(idx.Compact(4), (std::vector<Revision>{{1, 0}, {3, 0}}));
  EXPECT_EQ(idx.key_count(), 2u);
}

// Revisions only grow: a put at or below the newest revision (a tombstone included, and after
// a compaction) is a bug in the caller.
TEST(KeyIndexDeathTest, PutNotAfterNewestRevisionCrashes) {
  KeyIndex ki;
  ki.Put({2, 0});
  EXPECT_DEATH(ki.Put({2, 0}), "not after 2/0");
  ASSERT_TRUE(ki.Tombstone({4, 1}));
  EXPECT_DEATH(ki.Put({4, 0}), "not after 4/1");
  ki.Put({5, 0});
  std::vector<Revision> kept;
  ki.Compact(5, &kept);
  EXPECT_DEATH(ki.Put({5, 0}), "not after 5/0");
  ki.Put({6, 0});
  EXPECT_EQ(ki.Get(6)->modified, (Revision{6, 0}));
}

// Keys longer than KeyBytes keeps inline, and keys that differ only after that point.
TEST(TreeIndexTest, LongKeys) {
  TreeIndex idx;
  const std::string base(40, 'k');
  idx.Put(base + "b", {1, 0});
  idx.Put(base + "a", {2, 0});
  idx.Put(base, {3, 0});
  idx.Put("short", {4, 0});
  std::vector<std::string> keys;
  idx.Range(base, std::string(1, '\0'), 4, [&](std::string_view key, const KeyIndex::Found&) {
    keys.emplace_back(key);
  });
  EXPECT_EQ(keys, (std::vector<std::string>{base, base + "a", base + "b", "short"}));
  EXPECT_EQ(idx.Get(base + "a", 4)->modified, (Revision{2, 0}));
  EXPECT_FALSE(idx.Get(base + "c", 4).has_value());
}

}  // namespace
}  // namespace grid::mvcc
