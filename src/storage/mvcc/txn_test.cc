// Batches and txns: read-your-writes, sub revisions, invisibility until Commit, events.
#include <gtest/gtest.h>

#include "storage/mvcc/test_util.h"

namespace grid::mvcc {
namespace {

using testing::Get;
using testing::OpenStore;
using testing::Put;
using testing::TempDir;

const std::string kAll(1, '\0');

TEST(TxnTest, ReadsOwnWritesWithinOneRevision) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "a", "old");  // 2
  auto batch = store->BeginBatch();
  WriteTxn& txn = batch->BeginTxn();
  EXPECT_EQ(txn.WriteRevision(), 3);
  EXPECT_EQ(Get(txn, "a").revision, 2);  // no change yet: the view is revision 2
  auto prev = txn.Put("a", "new", 0);
  ASSERT_TRUE(prev.has_value());
  EXPECT_EQ(prev->value(), "old");
  txn.Put("b", "b1", 0);
  RangeResult r = Get(txn, "a", kAll);
  ASSERT_EQ(r.kvs.size(), 2u);
  EXPECT_EQ(r.revision, 3);
  EXPECT_EQ(r.kvs[0].value(), "new");
  EXPECT_EQ(r.kvs[0].version(), 2);
  EXPECT_EQ(r.kvs[0].mod_revision(), 3);
  EXPECT_EQ(r.kvs[1].create_revision(), 3);
  // Historical read inside the txn still sees the committed past.
  EXPECT_EQ(Get(txn, "a", "", RangeOptions{.revision = 2}).kvs[0].value(), "old");
  auto future = txn.Range("a", "", RangeOptions{.revision = 4});
  EXPECT_EQ(future.status().message(), kErrFutureRev);
  // Invisible to readers until Commit.
  EXPECT_EQ(Get(*store, "a").kvs[0].value(), "old");
  EXPECT_TRUE(Get(*store, "b").kvs.empty());
  batch->EndTxn();
  EXPECT_EQ(store->CurrentRevision(), 2);
  auto events = batch->Commit();
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 2u);
  EXPECT_EQ(store->CurrentRevision(), 3);
  EXPECT_EQ(Get(*store, "a").kvs[0].value(), "new");
  EXPECT_EQ(Get(*store, "b").kvs[0].value(), "b1");
}

TEST(TxnTest, DeleteThenPutInOneTxn) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "k", "v1");  // 2
  Put(*store, "k", "v2");  // 3
  auto batch = store->BeginBatch();
  WriteTxn& txn = batch->BeginTxn();
  auto deleted = txn.DeleteRange("k", "");
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].value(), "v2");
  EXPECT_TRUE(Get(txn, "k").kvs.empty());
  EXPECT_FALSE(txn.Put("k", "v3", 0).has_value());
  RangeResult r = Get(txn, "k");
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].version(), 1);
  EXPECT_EQ(r.kvs[0].create_revision(), 4);
  batch->EndTxn();
  auto events = batch->Commit();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  const mvccpb::Event& del = (*events)[0];
  EXPECT_EQ(del.type(), mvccpb::Event::DELETE);
  EXPECT_EQ(del.kv().key(), "k");
  EXPECT_EQ(del.kv().mod_revision(), 4);
  EXPECT_EQ(del.prev_kv().value(), "v2");
  const mvccpb::Event& put = (*events)[1];
  EXPECT_EQ(put.type(), mvccpb::Event::PUT);
  EXPECT_EQ(put.kv().value(), "v3");
  EXPECT_EQ(put.prev_kv().value(), "v2");  // the key's value before the revision, as etcd
  batch.reset();
  RangeResult after = Get(*store, "k");
  EXPECT_EQ(after.kvs[0].version(), 1);
  EXPECT_EQ(after.kvs[0].create_revision(), 4);
  // After reopening, the index holds the same generations.
  store.reset();
  store = OpenStore(dir.path());
  EXPECT_EQ(Get(*store, "k").kvs[0].create_revision(), 4);
  EXPECT_EQ(Get(*store, "k", "", RangeOptions{.revision = 3}).kvs[0].value(), "v2");
}

TEST(TxnTest, PutTwiceInOneTxnUsesSubRevisions) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto batch = store->BeginBatch();
  WriteTxn& txn = batch->BeginTxn();
  txn.Put("k", "a", 0);
  txn.Put("k", "b", 0);
  EXPECT_EQ(Get(txn, "k").kvs[0].version(), 2);
  batch->EndTxn();
  auto events = batch->Commit();
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(store->CurrentRevision(), 2);
  EXPECT_EQ(Get(*store, "k").kvs[0].value(), "b");
  EXPECT_FALSE((*events)[1].has_prev_kv());  // the key did not exist before revision 2
}

TEST(TxnTest, SeveralTxnsInOneBatch) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto batch = store->BeginBatch();
  batch->BeginTxn().Put("a", "1", 0);  // 2
  batch->EndTxn();
  WriteTxn& unchanged = batch->BeginTxn();  // reads only: no revision
  EXPECT_EQ(Get(unchanged, "a").kvs[0].value(), "1");
  EXPECT_EQ(unchanged.WriteRevision(), 3);
  batch->EndTxn();
  WriteTxn& t3 = batch->BeginTxn();  // 3
  EXPECT_EQ(t3.WriteRevision(), 3);
  t3.Put("a", "2", 0);
  t3.Put("b", "1", 0);
  batch->EndTxn();
  WriteTxn& t4 = batch->BeginTxn();  // 4
  EXPECT_EQ(Get(t4, "a", "", RangeOptions{.revision = 2}).kvs[0].value(), "1");
  EXPECT_TRUE(Get(t4, "b", "", RangeOptions{.revision = 2}).kvs.empty());
  EXPECT_EQ(t4.DeleteRange("a", kAll).size(), 2u);
  EXPECT_EQ(Get(t4, "a", kAll, RangeOptions{.revision = 3}).count, 2);
  EXPECT_EQ(Get(t4, "a", kAll).count, 0);
  batch->EndTxn();
  batch->SetConsistentIndex(9);
  EXPECT_TRUE(Get(*store, "a").kvs.empty());
  auto events = batch->Commit();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 5u);
  EXPECT_EQ(store->CurrentRevision(), 4);
  EXPECT_EQ(store->ConsistentIndex(), 9u);
  EXPECT_EQ((*events)[3].kv().mod_revision(), 4);
  EXPECT_EQ((*events)[3].prev_kv().value(), "2");
  EXPECT_EQ(Get(*store, "a", kAll, RangeOptions{.revision = 3}).count, 2);
}

TEST(TxnTest, MergedRangeHonoursLimitAndKeysOnly) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "a", "1");
  Put(*store, "c", "3");
  Put(*store, "e", "5");
  auto batch = store->BeginBatch();
  WriteTxn& txn = batch->BeginTxn();
  txn.Put("b", "2", 0);
  txn.DeleteRange("c", "");
  txn.Put("d", "4", 0);
  RangeResult r = Get(txn, "a", kAll, RangeOptions{.limit = 3, .keys_only = true});
  ASSERT_EQ(r.kvs.size(), 3u);
  EXPECT_EQ(r.count, 4);
  EXPECT_EQ(r.kvs[0].key(), "a");
  EXPECT_EQ(r.kvs[1].key(), "b");
  EXPECT_EQ(r.kvs[2].key(), "d");
  EXPECT_EQ(r.kvs[1].value(), "");
  EXPECT_EQ(Get(txn, "a", kAll, RangeOptions{.count_only = true}).count, 4);
  batch->EndTxn();
  ASSERT_TRUE(batch->Commit().ok());
}

TEST(TxnTest, UncommittedBatchIsDiscarded) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  {
    auto batch = store->BeginBatch();
    batch->BeginTxn().Put("a", "1", 0);
    batch->EndTxn();
  }
  EXPECT_EQ(store->CurrentRevision(), 1);
  EXPECT_TRUE(Get(*store, "a").kvs.empty());
  Put(*store, "a", "2");
  EXPECT_EQ(Get(*store, "a").kvs[0].mod_revision(), 2);
}

TEST(TxnTest, EventsCarryPrevKvAndLease) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Put(*store, "a", "1", 5);
  auto batch = store->BeginBatch();
  WriteTxn& txn = batch->BeginTxn();
  txn.Put("a", "2", 0);
  txn.Put("n", "new", 6);
  batch->EndTxn();
  auto events = batch->Commit();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].prev_kv().lease(), 5);
  EXPECT_EQ((*events)[0].kv().lease(), 0);
  EXPECT_FALSE((*events)[1].has_prev_kv());
  EXPECT_EQ((*events)[1].kv().lease(), 6);
}

}  // namespace
}  // namespace grid::mvcc
