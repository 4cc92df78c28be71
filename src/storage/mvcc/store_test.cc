// Reads, revisions, generations and reopening of the store.
#include <gtest/gtest.h>

#include "storage/mvcc/test_util.h"

namespace grid::mvcc {
namespace {

using testing::Delete;
using testing::Get;
using testing::OpenStore;
using testing::Put;
using testing::TempDir;

const std::string kAll(1, '\0');

std::vector<std::string> Keys(const RangeResult& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs) out.push_back(kv.key());
  return out;
}

TEST(StoreTest, EmptyStore) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->CurrentRevision(), 1);  // as etcd: an empty store is at revision 1
  EXPECT_EQ(store->CompactedRevision(), 0);
  EXPECT_EQ(store->ConsistentIndex(), 0u);
  RangeResult r = Get(*store, "a");
  EXPECT_TRUE(r.kvs.empty());
  EXPECT_EQ(r.count, 0);
  EXPECT_EQ(r.revision, 1);
}

TEST(StoreTest, PutGetRevisionsAndVersions) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "foo", "v1", 7);
  Put(*store, "bar", "b");
  Put(*store, "foo", "v2");
  EXPECT_EQ(store->CurrentRevision(), 4);
  RangeResult r = Get(*store, "foo");
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].value(), "v2");
  EXPECT_EQ(r.kvs[0].create_revision(), 2);
  EXPECT_EQ(r.kvs[0].mod_revision(), 4);
  EXPECT_EQ(r.kvs[0].version(), 2);
  EXPECT_EQ(r.kvs[0].lease(), 0);
  EXPECT_EQ(r.revision, 4);
  RangeResult old = Get(*store, "foo", "", RangeOptions{.revision = 2});
  ASSERT_EQ(old.kvs.size(), 1u);
  EXPECT_EQ(old.kvs[0].value(), "v1");
  EXPECT_EQ(old.kvs[0].lease(), 7);
  EXPECT_EQ(old.revision, 4);  // the store's revision, as etcd's header
}

TEST(StoreTest, RangeLimitCountKeysOnlyCountOnly) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (const char* k : {"d", "b", "a", "c", "e"}) Put(*store, k, std::string("v") + k);
  RangeResult all = Get(*store, "a", kAll);
  EXPECT_EQ(Keys(all), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(all.count, 5);
  RangeResult part = Get(*store, "b", "d");
  EXPECT_EQ(Keys(part), (std::vector<std::string>{"b", "c"}));
  RangeResult limited = Get(*store, "a", kAll, RangeOptions{.limit = 2});
  EXPECT_EQ(Keys(limited), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(limited.count, 5);
  RangeResult at_limit = Get(*store, "a", kAll, RangeOptions{.limit = 5});
  EXPECT_EQ(at_limit.kvs.size(), 5u);
  RangeResult keys_only = Get(*store, "a", "c", RangeOptions{.keys_only = true});
  ASSERT_EQ(keys_only.kvs.size(), 2u);
  EXPECT_EQ(keys_only.kvs[0].value(), "");
  EXPECT_EQ(keys_only.kvs[0].mod_revision(), 4);
  RangeResult count_only = Get(*store, "a", kAll, RangeOptions{.count_only = true});
  EXPECT_TRUE(count_only.kvs.empty());
  EXPECT_EQ(count_only.count, 5);
  EXPECT_TRUE(Get(*store, "e", "a").kvs.empty());  // end before key
  EXPECT_TRUE(Get(*store, "zz").kvs.empty());
}

TEST(StoreTest, FutureRevisionIsRefused) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "a", "1");
  auto r = store->Range("a", "", RangeOptions{.revision = 3});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_EQ(r.status().message(), "mvcc: required revision is a future revision");
}

TEST(StoreTest, DeleteAndRecreateStartsNewGeneration) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "k", "1");   // 2
  Put(*store, "k", "2");   // 3
  Delete(*store, "k");     // 4
  EXPECT_TRUE(Get(*store, "k").kvs.empty());
  Put(*store, "k", "3");   // 5
  RangeResult r = Get(*store, "k");
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].create_revision(), 5);
  EXPECT_EQ(r.kvs[0].version(), 1);
  EXPECT_TRUE(Get(*store, "k", "", RangeOptions{.revision = 4}).kvs.empty());
  EXPECT_EQ(Get(*store, "k", "", RangeOptions{.revision = 3}).kvs[0].version(), 2);
}

TEST(StoreTest, DeleteOfMissingKeyConsumesNoRevision) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "a", "1");
  Delete(*store, "zzz");
  EXPECT_EQ(store->CurrentRevision(), 2);
  Delete(*store, "a", kAll);
  EXPECT_EQ(store->CurrentRevision(), 3);
}

TEST(StoreTest, ReopenRebuildsIndexAndMeta) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    Put(*store, "a", "1");
    Put(*store, "b", "2");
    Put(*store, "a", "3");
    Delete(*store, "b");
    auto batch = store->BeginBatch();
    batch->PutMeta("lease", "x", "record");
    batch->SetConsistentIndex(42);
    ASSERT_TRUE(batch->Commit().ok());
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->CurrentRevision(), 5);
  EXPECT_EQ(store->ConsistentIndex(), 42u);
  RangeResult r = Get(*store, "a", kAll);
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].value(), "3");
  EXPECT_EQ(r.kvs[0].version(), 2);
  EXPECT_EQ(Get(*store, "b", "", RangeOptions{.revision = 4}).kvs[0].value(), "2");
  auto meta = store->ReadMeta("lease");
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ((*meta)[0].first, "x");
  EXPECT_EQ((*meta)[0].second, "record");
  Put(*store, "b", "again");
  EXPECT_EQ(Get(*store, "b").kvs[0].create_revision(), 6);
}

TEST(StoreTest, SideTablesAreSeparate) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto batch = store->BeginBatch();
  batch->PutMeta("lease", "1", "a");
  batch->PutMeta("lease", "2", "b");
  batch->PutMeta("leases", "3", "c");
  batch->PutMeta("alarm", "1", "d");
  ASSERT_TRUE(batch->Commit().ok());
  batch.reset();
  EXPECT_EQ(store->ReadMeta("lease")->size(), 2u);
  EXPECT_EQ(store->ReadMeta("leases")->size(), 1u);
  batch = store->BeginBatch();
  batch->DeleteMeta("lease", "1");
  ASSERT_TRUE(batch->Commit().ok());
  auto left = store->ReadMeta("lease");
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].first, "2");
}

}  // namespace
}  // namespace grid::mvcc
