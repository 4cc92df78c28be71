// ExportRaw and RawImporter: a store copied record by record is the same store.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "storage/mvcc/revision.h"
#include "storage/mvcc/test_util.h"

namespace grid::mvcc {
namespace {

using testing::Delete;
using testing::Get;
using testing::OpenStore;
using testing::Put;
using testing::TempDir;

struct Captured {
  RawFamily family;
  std::string table, key, value;
  bool operator==(const Captured& o) const {
    return std::tie(family, table, key, value) == std::tie(o.family, o.table, o.key, o.value);
  }
};

std::vector<Captured> ExportAll(const Store& store) {
  std::vector<Captured> out;
  Status s = store.ExportRaw([&](const RawRecord& r) {
    out.push_back({r.family, std::string(r.table), std::string(r.key), std::string(r.value)});
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(RawIoTest, ExportOrderAndImportRoundTrip) {
  TempDir dir;
  auto store = OpenStore(dir.path() + "/a");
  Put(*store, "a", "1");  // 2
  Put(*store, "b", "1");  // 3
  Put(*store, "a", "2");  // 4
  Delete(*store, "b");    // 5
  Put(*store, "c", "3");  // 6
  {
    auto batch = store->BeginBatch();
    batch->PutMeta("lease", "\x01", "L1");
    batch->PutMeta("alarm", "\x02", "A1");
    batch->SetConsistentIndex(42);
    ASSERT_TRUE(batch->Commit().ok());
  }
  ASSERT_TRUE(store->Compact(4).ok());
  const auto records = ExportAll(*store);
  // Key family first in revision order, then meta, then side tables grouped by table.
  ASSERT_GE(records.size(), 6u);
  int stage = 0;
  for (const auto& r : records) {
    const int s = static_cast<int>(r.family);
    EXPECT_GE(s, stage);
    stage = s;
  }
  EXPECT_EQ(records.back().table, "lease");
  EXPECT_EQ(records[records.size() - 2].table, "alarm");
  int metas = 0;
  for (const auto& r : records) metas += r.family == RawFamily::kMeta;
  EXPECT_EQ(metas, 3);  // consistent_index, scheduled and finished compaction

  auto importer = RawImporter::Create(Options{.dir = dir.path() + "/b"});
  ASSERT_TRUE(importer.ok()) << importer.status().ToString();
  for (auto it = records.rbegin(); it != records.rend(); ++it) {  // any order
    ASSERT_TRUE((*importer)->Add({it->family, it->table, it->key, it->value}).ok());
  }
  ASSERT_TRUE((*importer)->Finish().ok());
  auto copy = OpenStore(dir.path() + "/b");
  EXPECT_EQ(copy->CurrentRevision(), 6);
  EXPECT_EQ(copy->CompactedRevision(), 4);
  EXPECT_EQ(copy->ConsistentIndex(), 42u);
  EXPECT_EQ(Get(*copy, "a").kvs.at(0).value(), "2");
  EXPECT_TRUE(Get(*copy, "b").kvs.empty());
  EXPECT_EQ(copy->HashKV(0)->hash, store->HashKV(0)->hash);
  EXPECT_EQ(copy->ReadMeta("lease")->at(0).second, "L1");
  EXPECT_TRUE(ExportAll(*copy) == records);
}

TEST(RawIoTest, ImporterRefusesBadRecordsAndExistingDir) {
  TempDir dir;
  EXPECT_EQ(RawImporter::Create(Options{.dir = dir.path()}).status().code(),
            Code::kFailedPrecondition);
  auto importer = RawImporter::Create(Options{.dir = dir.path() + "/x"});
  ASSERT_TRUE(importer.ok());
  RawImporter& im = **importer;
  EXPECT_EQ(im.Add({RawFamily::kKey, "", "short", ""}).code(), Code::kCorruption);
  EXPECT_EQ(im.Add({RawFamily::kKey, "", RevisionKey({2, 0}), "\xff\xff"}).code(),
            Code::kCorruption);
  EXPECT_EQ(im.Add({RawFamily::kMeta, "", "term", "12345678"}).code(), Code::kCorruption);
  EXPECT_EQ(im.Add({RawFamily::kMeta, "", "consistent_index", "1"}).code(), Code::kCorruption);
  EXPECT_EQ(im.Add({RawFamily::kSide, "", "k", "v"}).code(), Code::kCorruption);
  EXPECT_EQ(im.Add({RawFamily::kSide, std::string(256, 't'), "k", "v"}).code(),
            Code::kCorruption);
  EXPECT_TRUE(im.Add({RawFamily::kSide, std::string(255, 't'), "k", "v"}).ok());
  EXPECT_TRUE(im.Finish().ok());
}

TEST(RawIoTest, ManyRecordsSpanSeveralBatches) {
  TempDir dir;
  auto importer = RawImporter::Create(Options{.dir = dir.path() + "/x"});
  ASSERT_TRUE(importer.ok());
  // More than RawImporter::kBatchBytes of values.
  const std::string value(4096, 'v');
  const int n = static_cast<int>(RawImporter::kBatchBytes / value.size()) * 2 + 10;
  for (int i = 0; i < n; ++i) {
    mvccpb::KeyValue kv;
    kv.set_key("k" + std::to_string(i));
    kv.set_value(value);
    kv.set_create_revision(i + 2);
    kv.set_mod_revision(i + 2);
    kv.set_version(1);
    ASSERT_TRUE((*importer)
                    ->Add({RawFamily::kKey, "", RevisionKey({i + 2, 0}), kv.SerializeAsString()})
                    .ok());
  }
  ASSERT_TRUE((*importer)->Finish().ok());
  auto store = OpenStore(dir.path() + "/x");
  EXPECT_EQ(store->CurrentRevision(), n + 1);
  EXPECT_EQ(Get(*store, "k", std::string(1, '\0'), {.count_only = true}).count, n);
}

}  // namespace
}  // namespace grid::mvcc
