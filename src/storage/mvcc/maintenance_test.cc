// Events paging, hashes, checkpoints and sizes.
#include <gtest/gtest.h>

#include <filesystem>

#include "storage/mvcc/test_util.h"

namespace grid::mvcc {
namespace {

using testing::Delete;
using testing::Get;
using testing::OpenStore;
using testing::Put;
using testing::TempDir;

const std::string kAll(1, '\0');

TEST(EventsTest, RangeFilterAndPrevKv) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "a", "1");  // 2
  Put(*store, "x", "1");  // 3
  Put(*store, "a", "2");  // 4
  Delete(*store, "a");    // 5
  auto evs = store->EventsInRange("a", "b", 2, 5, /*with_prev_kv=*/true);
  ASSERT_TRUE(evs.ok());
  ASSERT_EQ(evs->size(), 3u);
  EXPECT_FALSE((*evs)[0].has_prev_kv());
  EXPECT_EQ((*evs)[1].kv().value(), "2");
  EXPECT_EQ((*evs)[1].prev_kv().value(), "1");
  EXPECT_EQ((*evs)[2].type(), mvccpb::Event::DELETE);
  EXPECT_EQ((*evs)[2].kv().mod_revision(), 5);
  EXPECT_EQ((*evs)[2].prev_kv().value(), "2");
  auto without = store->EventsInRange("a", "", 3, 4, false);
  ASSERT_EQ(without->size(), 1u);
  EXPECT_FALSE((*without)[0].has_prev_kv());
  EXPECT_TRUE(store->EventsInRange("a", "", 6, 10, false)->empty());
}

TEST(EventsTest, PagesAtTheLimitEndOnRevisionBoundaries) {
  TempDir dir;
  auto store = OpenStore(dir.path(), testing::WithLimits(3, 1000));
  for (int i = 0; i < 5; ++i) Put(*store, "k" + std::to_string(i), "v");  // 2..6
  auto batch = store->BeginBatch();  // revision 7 with 4 events
  WriteTxn& txn = batch->BeginTxn();
  for (int i = 0; i < 4; ++i) txn.Put("t" + std::to_string(i), "v", 0);
  batch->EndTxn();
  ASSERT_TRUE(batch->Commit().ok());
  batch.reset();

  auto page1 = store->EventsInRange("a", kAll, 2, 7, false);
  ASSERT_EQ(page1->size(), 3u);  // exactly the limit
  EXPECT_EQ(page1->back().kv().mod_revision(), 4);
  auto page2 = store->EventsInRange("a", kAll, 5, 7, false);
  // 5, 6, then all of revision 7: a page never ends inside a revision.
  ASSERT_EQ(page2->size(), 6u);
  EXPECT_EQ(page2->back().kv().mod_revision(), 7);
}

void History(Store& store, const std::string& last) {
  Put(store, "a", "1");
  Put(store, "b", "1");
  Delete(store, "a");
  Put(store, "b", last);
}

TEST(HashTest, EqualHistoriesHashEqual) {
  TempDir d1, d2, d3;
  auto s1 = OpenStore(d1.path());
  auto s2 = OpenStore(d2.path());
  auto s3 = OpenStore(d3.path());
  History(*s1, "2");
  History(*s2, "2");
  History(*s3, "other");
  auto h1 = s1->HashKV(0);
  auto h2 = s2->HashKV(0);
  auto h3 = s3->HashKV(0);
  ASSERT_TRUE(h1.ok() && h2.ok() && h3.ok());
  EXPECT_EQ(h1->hash, h2->hash);
  EXPECT_NE(h1->hash, h3->hash);
  EXPECT_EQ(h1->revision, 5);
  // Up to revision 4 the histories agree.
  EXPECT_EQ(s1->HashKV(4)->hash, s3->HashKV(4)->hash);
  EXPECT_EQ(s1->HashBackend().value(), s2->HashBackend().value());
  EXPECT_NE(s1->HashBackend().value(), s3->HashBackend().value());

  // Compaction in one store only: the hash at the current revision changes only by the
  // dropped revisions, and equals another store compacted the same way.
  ASSERT_TRUE(s1->Compact(4).ok());
  ASSERT_TRUE(s2->Compact(4).ok());
  EXPECT_EQ(s1->HashKV(0)->hash, s2->HashKV(0)->hash);
  EXPECT_EQ(s1->HashKV(0)->compact_revision, 4);
  EXPECT_EQ(s1->HashKV(4).status().message(), kErrCompacted);
  EXPECT_EQ(s1->HashKV(6).status().message(), kErrFutureRev);
}

// etcd 3.4: HashKV of an empty store is at revision 1 with compact_revision -1 (never
// compacted); after a compaction it reports that revision, also after reopening.
TEST(HashTest, EmptyStore) {
  TempDir dir;
  uint32_t empty_hash = 0;
  {
    auto store = OpenStore(dir.path());
    auto h = store->HashKV(0);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->revision, 1);
    EXPECT_EQ(h->compact_revision, -1);
    empty_hash = h->hash;
    auto at1 = store->HashKV(1);
    ASSERT_TRUE(at1.ok());
    EXPECT_EQ(at1->revision, 1);
    EXPECT_EQ(at1->hash, empty_hash);
    EXPECT_EQ(store->HashKV(2).status().message(), kErrFutureRev);
  }
  {
    auto store = OpenStore(dir.path());
    EXPECT_EQ(store->HashKV(0)->compact_revision, -1);
    ASSERT_TRUE(store->Compact(1).ok());
    auto h = store->HashKV(0);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->revision, 1);
    EXPECT_EQ(h->compact_revision, 1);
    EXPECT_EQ(h->hash, empty_hash);
    EXPECT_EQ(store->HashKV(1).status().message(), kErrCompacted);
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->HashKV(0)->compact_revision, 1);
}

TEST(MaintenanceTest, CheckpointOpensWithSameData) {
  TempDir dir;
  TempDir parent;
  auto store = OpenStore(dir.path());
  History(*store, "2");
  {
    auto batch = store->BeginBatch();
    batch->PutMeta("members", "1", "m");
    batch->SetConsistentIndex(17);
    ASSERT_TRUE(batch->Commit().ok());
  }
  const std::string copy = parent.path() + "/snap";
  ASSERT_TRUE(store->Checkpoint(copy).ok());
  EXPECT_FALSE(store->Checkpoint(copy).ok());  // must not exist
  auto restored = OpenStore(copy);
  EXPECT_EQ(restored->CurrentRevision(), 5);
  EXPECT_EQ(restored->ConsistentIndex(), 17u);
  EXPECT_EQ(Get(*restored, "b").kvs[0].value(), "2");
  EXPECT_EQ(restored->HashKV(0)->hash, store->HashKV(0)->hash);
  EXPECT_EQ(restored->ReadMeta("members")->size(), 1u);
}

TEST(MaintenanceTest, SizesAndDefragment) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 100; ++i) Put(*store, "k" + std::to_string(i % 10), std::string(100, 'x'));
  EXPECT_GT(store->DbSizeBytes(), 0);
  ASSERT_TRUE(store->Compact(101).ok());
  ASSERT_TRUE(store->Defragment().ok());
  EXPECT_GT(store->DbSizeBytes(), 0);
  EXPECT_GE(store->DbSizeInUseBytes(), 0);
  EXPECT_EQ(Get(*store, "k0", "k9\xff").count, 10);
}

}  // namespace
}  // namespace grid::mvcc
