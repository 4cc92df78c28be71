// Compaction: index and physical, errors, persistence and resumption after a crash.
#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include "storage/mvcc/revision.h"
#include "storage/mvcc/store_impl.h"
#include "storage/mvcc/test_util.h"

namespace grid::mvcc {
namespace {

using testing::Delete;
using testing::Get;
using testing::OpenStore;
using testing::Put;
using testing::TempDir;
using testing::WithLimits;

const std::string kAll(1, '\0');

// Counts the revisions physically present in the key family (store must be closed).
size_t CountRevisions(const std::string& dir) {
  rocksdb::DBOptions opts;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"key", {}}, {"meta", {}}, {"side", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  GRID_CHECK(rocksdb::DB::OpenForReadOnly(opts, dir, families, &handles, &db).ok());
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[1]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  it.reset();
  for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
  delete db;
  return n;
}

// History: a@2 a@3 b@4 a@5 del b@6 c@7 ; current 7
void WriteHistory(Store& store) {
  Put(store, "a", "1");
  Put(store, "a", "2");
  Put(store, "b", "1");
  Put(store, "a", "3");
  Delete(store, "b");
  Put(store, "c", "1");
}

TEST(CompactionTest, ReadsBelowCompactedRevisionFail) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteHistory(*store);
  ASSERT_TRUE(store->Compact(5).ok());
  EXPECT_EQ(store->CompactedRevision(), 5);
  auto r = store->Range("a", "", RangeOptions{.revision = 4});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_EQ(r.status().message(), "mvcc: required revision has been compacted");
  // etcd serves a read at exactly the compacted revision.
  RangeResult at = Get(*store, "a", kAll, RangeOptions{.revision = 5});
  ASSERT_EQ(at.kvs.size(), 2u);
  EXPECT_EQ(at.kvs[0].value(), "3");
  EXPECT_EQ(at.kvs[1].key(), "b");
  EXPECT_EQ(Get(*store, "a", kAll, RangeOptions{.revision = 6}).count, 1);
  EXPECT_EQ(Get(*store, "a", kAll).count, 2);
}

TEST(CompactionTest, CompactErrors) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteHistory(*store);
  Status future = store->Compact(8);
  EXPECT_EQ(future.code(), Code::kOutOfRange);
  EXPECT_EQ(future.message(), kErrFutureRev);
  ASSERT_TRUE(store->Compact(4).ok());
  EXPECT_EQ(store->Compact(4).message(), kErrCompacted);
  EXPECT_EQ(store->Compact(3).message(), kErrCompacted);
  EXPECT_TRUE(store->Compact(7).ok());  // up to the current revision
}

// etcd 3.4: an empty store is at revision 1 and was never compacted (compacted revision -1),
// so compacting to 0 and then to 1 both succeed.
TEST(CompactionTest, EmptyStoreCompactsToZeroAndOne) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    EXPECT_EQ(store->Compact(-1).message(), kErrCompacted);
    ASSERT_TRUE(store->Compact(0).ok());
    EXPECT_EQ(store->CompactedRevision(), 0);
    EXPECT_EQ(store->Compact(0).message(), kErrCompacted);
    EXPECT_EQ(store->Compact(2).message(), kErrFutureRev);
    ASSERT_TRUE(store->Compact(1).ok());
    EXPECT_EQ(store->CompactedRevision(), 1);
    EXPECT_EQ(store->CurrentRevision(), 1);
    EXPECT_EQ(store->Compact(1).message(), kErrCompacted);
    RangeResult at = Get(*store, "a", kAll, RangeOptions{.revision = 1});
    EXPECT_TRUE(at.kvs.empty());
    EXPECT_EQ(at.revision, 1);
    auto events = store->EventsInRange("a", kAll, 1, 1, false);
    ASSERT_TRUE(events.ok());
    EXPECT_TRUE(events->empty());
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->CompactedRevision(), 1);
  EXPECT_EQ(store->CurrentRevision(), 1);
  EXPECT_EQ(store->Compact(1).message(), kErrCompacted);
  Put(*store, "a", "1");
  EXPECT_EQ(store->CurrentRevision(), 2);
  EXPECT_EQ(Get(*store, "a").kvs[0].create_revision(), 2);
}

TEST(CompactionTest, PhysicallyDropsSupersededRevisionsAndPersists) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    WriteHistory(*store);
    ASSERT_TRUE(store->Compact(6).ok());
  }
  // Kept: a@5, c@7 (b's generation ended at 6, its tombstone is dropped).
  EXPECT_EQ(CountRevisions(dir.path()), 2u);
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->CompactedRevision(), 6);
  EXPECT_EQ(store->CurrentRevision(), 7);
  EXPECT_EQ(store->Range("a", "", RangeOptions{.revision = 5}).status().message(), kErrCompacted);
  RangeResult r = Get(*store, "a", kAll);
  ASSERT_EQ(r.kvs.size(), 2u);
  EXPECT_EQ(r.kvs[0].version(), 3);
  EXPECT_EQ(r.kvs[0].create_revision(), 2);
  Put(*store, "a", "4");
  EXPECT_EQ(Get(*store, "a").kvs[0].version(), 4);
}

TEST(CompactionTest, CompactingEverythingKeepsCurrentRevision) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    Put(*store, "a", "1");
    Delete(*store, "a");
    ASSERT_TRUE(store->Compact(3).ok());
  }
  EXPECT_EQ(CountRevisions(dir.path()), 0u);
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->CurrentRevision(), 3);
  Put(*store, "a", "2");
  EXPECT_EQ(store->CurrentRevision(), 4);
}

// The chunk size must not change the outcome; 1 is the smallest legal limit.
TEST(CompactionTest, ChunkSizeAtTheLimit) {
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{1000}}) {
    TempDir dir;
    {
      auto store = OpenStore(dir.path(), WithLimits(1000, chunk));
      for (int i = 0; i < 10; ++i) Put(*store, "k" + std::to_string(i % 3), std::to_string(i));
      ASSERT_TRUE(store->Compact(9).ok());
    }
    // Kept at 9: k0@8, k1@9, k2@7; plus revisions 10 and 11.
    EXPECT_EQ(CountRevisions(dir.path()), 5u) << "chunk " << chunk;
  }
  Options zero;
  zero.compaction_batch_limit = 0;
  TempDir dir;
  zero.dir = dir.path();
  EXPECT_EQ(Store::Open(zero).status().code(), Code::kInvalidArgument);
}

TEST(CompactionTest, ScheduledCompactionFinishesOnOpen) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    WriteHistory(*store);
  }
  {
    // Simulates a crash after the compaction was scheduled but before any deletion.
    rocksdb::DBOptions opts;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"key", {}}, {"meta", {}}, {"side", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(opts, dir.path(), families, &handles, &db).ok());
    std::string value;
    AppendBigEndian64(6, &value);
    ASSERT_TRUE(db->Put({}, handles[2], kMetaScheduledCompact, value).ok());
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  {
    auto store = OpenStore(dir.path());
    EXPECT_EQ(store->CompactedRevision(), 6);
    EXPECT_EQ(Get(*store, "a").kvs[0].value(), "3");
  }
  EXPECT_EQ(CountRevisions(dir.path()), 2u);
}

TEST(CompactionTest, EventsBelowCompactedRevisionFail) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteHistory(*store);
  ASSERT_TRUE(store->Compact(5).ok());
  auto r = store->EventsInRange("a", kAll, 4, 7, false);
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_EQ(r.status().message(), kErrCompacted);
  auto ok = store->EventsInRange("a", kAll, 6, 7, true);
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].type(), mvccpb::Event::DELETE);
  EXPECT_EQ((*ok)[0].prev_kv().key(), "b");
  EXPECT_EQ((*ok)[0].prev_kv().mod_revision(), 4);
}

}  // namespace
}  // namespace grid::mvcc
