// The member snapshot file: round trips through a store, corruption located by file and offset,
// the record limits.
#include "kv/snapshot/member_snapshot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "common/testing/temp_dir.h"
#include "storage/mvcc/test_util.h"

namespace grid::kv::snapshot {
namespace {

namespace fs = std::filesystem;
using mvcc::RawFamily;
using mvcc::RawRecord;
using mvcc::testing::Delete;
using mvcc::testing::Get;
using mvcc::testing::OpenStore;
using mvcc::testing::Put;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}
uint32_t BE32(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

// The layout as README.md documents it: a 12-byte header, records (type, table length, key
// length BE32, value length BE32, table, key, value, CRC32C BE32), a 13-byte trailer.
struct Layout {
  std::vector<size_t> records;  // offset of each record
  size_t trailer = 0;
};
Layout Parse(const std::string& file) {
  Layout layout;
  size_t at = 12;
  while (static_cast<uint8_t>(file.at(at)) != 0xff) {
    layout.records.push_back(at);
    const size_t table = static_cast<uint8_t>(file.at(at + 1));
    at += 10 + table + BE32(file, at + 2) + BE32(file, at + 6) + 4;
  }
  layout.trailer = at;
  GRID_CHECK_EQ(at + 13, file.size());
  return layout;
}

struct Captured {
  RawFamily family;
  std::string table, key, value;
  bool operator==(const Captured& o) const {
    return std::tie(family, table, key, value) == std::tie(o.family, o.table, o.key, o.value);
  }
};
std::vector<Captured> ExportAll(const mvcc::Store& store) {
  std::vector<Captured> out;
  Status s = store.ExportRaw([&](const RawRecord& r) {
    out.push_back({r.family, std::string(r.table), std::string(r.key), std::string(r.value)});
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

class MemberSnapshotTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // A store with revisions across several keys, a compaction, rows in two side tables.
  std::unique_ptr<mvcc::Store> MakeStore(const std::string& name) {
    auto store = OpenStore(Path(name));
    Put(*store, "a", "1");                            // 2
    Put(*store, "b", "1");                            // 3
    Put(*store, "a", "2");                            // 4
    Put(*store, "c", std::string(1536 * 1024, 'c'));  // 5: larger than the I/O buffer
    Delete(*store, "b");                              // 6
    Put(*store, "d", "1", 7);                         // 7
    Put(*store, "a", "3");                            // 8
    auto batch = store->BeginBatch();
    batch->PutMeta("members", "\x01", "member one");
    batch->PutMeta("members", "\x02", "member two");
    batch->PutMeta("lease", std::string("\0\0\0\0\0\0\0\x07", 8), "lease seven");
    batch->SetConsistentIndex(1234);
    EXPECT_TRUE(batch->Commit().ok());
    EXPECT_TRUE(store->Compact(4).ok());
    return store;
  }

  // Writes `bytes` as a snapshot file, then checks Verify and Import both report Corruption
  // naming the file and `offset`, and that Import leaves nothing behind.
  void ExpectCorrupt(const std::string& bytes, size_t offset, const std::string& what = "") {
    const std::string path = Path("bad.snap");
    const std::string store_dir = Path("bad.store");
    WriteAll(path, bytes);
    const std::string at = "offset " + std::to_string(offset) + ":";
    auto verified = VerifyMemberSnapshot(path);
    ASSERT_EQ(verified.status().code(), Code::kCorruption) << what;
    EXPECT_NE(verified.status().message().find(path), std::string::npos)
        << what << ": " << verified.status().message();
    EXPECT_NE(verified.status().message().find(at), std::string::npos)
        << what << ": " << verified.status().message();
    auto imported = ImportMemberSnapshot(path, store_dir);
    ASSERT_EQ(imported.status().code(), Code::kCorruption) << what;
    EXPECT_EQ(imported.status().message(), verified.status().message()) << what;
    EXPECT_FALSE(fs::exists(store_dir)) << what;
    EXPECT_FALSE(fs::exists(store_dir + ".importing")) << what;
  }

  grid::testing::TempDir dir_{"member_snapshot_test"};
};

TEST_F(MemberSnapshotTest, RoundTripRebuildsTheSameStore) {
  auto source = MakeStore("source");
  const std::string path = Path("member.snap");
  auto written = WriteMemberSnapshot(*source, path);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->bytes, fs::file_size(path));
  EXPECT_EQ(written->records, ExportAll(*source).size());
  EXPECT_EQ(written->consistent_index, 1234u);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  auto verified = VerifyMemberSnapshot(path);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->bytes, written->bytes);
  EXPECT_EQ(verified->records, written->records);
  EXPECT_EQ(verified->consistent_index, 1234u);

  const std::string store_dir = Path("rebuilt");
  auto imported = ImportMemberSnapshot(path, store_dir);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->records, written->records);
  EXPECT_EQ(imported->consistent_index, 1234u);
  EXPECT_FALSE(fs::exists(store_dir + ".importing"));

  auto rebuilt = OpenStore(store_dir);
  EXPECT_EQ(rebuilt->CurrentRevision(), source->CurrentRevision());
  EXPECT_EQ(rebuilt->CompactedRevision(), 4);
  EXPECT_EQ(rebuilt->ConsistentIndex(), 1234u);
  EXPECT_EQ(rebuilt->HashKV(0)->hash, source->HashKV(0)->hash);
  EXPECT_EQ(rebuilt->HashKV(0)->compact_revision, source->HashKV(0)->compact_revision);
  EXPECT_EQ(rebuilt->HashBackend().value(), source->HashBackend().value());
  EXPECT_EQ(rebuilt->ReadMeta("members").value(), source->ReadMeta("members").value());
  EXPECT_EQ(rebuilt->ReadMeta("lease").value(), source->ReadMeta("lease").value());
  EXPECT_EQ(rebuilt->ReadMeta("lease")->size(), 1u);
  EXPECT_EQ(Get(*rebuilt, "a").kvs.at(0).value(), "3");
  EXPECT_EQ(Get(*rebuilt, "a", "", {.revision = 4}).kvs.at(0).value(), "2");
  EXPECT_TRUE(Get(*rebuilt, "b").kvs.empty());
  EXPECT_EQ(Get(*rebuilt, "d").kvs.at(0).lease(), 7);
  EXPECT_TRUE(ExportAll(*rebuilt) == ExportAll(*source));
}

TEST_F(MemberSnapshotTest, EmptyStoreRoundTrips) {
  auto source = OpenStore(Path("empty"));
  const std::string path = Path("empty.snap");
  auto written = WriteMemberSnapshot(*source, path);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->consistent_index, 0u);
  ASSERT_TRUE(VerifyMemberSnapshot(path).ok());
  ASSERT_TRUE(ImportMemberSnapshot(path, Path("rebuilt")).ok());
  auto rebuilt = OpenStore(Path("rebuilt"));
  EXPECT_EQ(rebuilt->CurrentRevision(), 1);
  EXPECT_EQ(rebuilt->ConsistentIndex(), 0u);
  EXPECT_EQ(rebuilt->HashBackend().value(), source->HashBackend().value());
  EXPECT_EQ(rebuilt->HashKV(0)->hash, source->HashKV(0)->hash);
}

TEST_F(MemberSnapshotTest, CorruptionIsLocatedAndLeavesNothingBehind) {
  auto source = MakeStore("source");
  ASSERT_TRUE(WriteMemberSnapshot(*source, Path("good.snap")).ok());
  const std::string good = ReadAll(Path("good.snap"));
  const Layout layout = Parse(good);
  ASSERT_GE(layout.records.size(), 4u);
  const auto flipped = [&](size_t at) {
    std::string b = good;
    b[at] = static_cast<char>(b[at] ^ 0x20);
    return b;
  };
  const size_t r1 = layout.records[1];
  const size_t r1_end = layout.records[2];

  ExpectCorrupt(flipped(3), 0, "magic");
  ExpectCorrupt(flipped(11), 8, "version");
  ExpectCorrupt(flipped(r1 + 10), r1, "a byte of the table/key/value of record 1");
  ExpectCorrupt(flipped(r1_end - 10), r1, "a byte of the value of record 1");
  ExpectCorrupt(flipped(r1_end - 1), r1, "record 1's checksum");
  ExpectCorrupt(flipped(r1), r1, "record 1's type");
  ExpectCorrupt(flipped(r1 + 5), r1, "record 1's key length");
  ExpectCorrupt(flipped(r1 + 6), r1, "record 1's value length, high byte");
  ExpectCorrupt(flipped(r1 + 9), r1, "record 1's value length, low byte");
  ExpectCorrupt(flipped(layout.trailer + 8), layout.trailer, "the trailer's record count");
  ExpectCorrupt(flipped(good.size() - 1), layout.trailer, "the file checksum");
  ExpectCorrupt(flipped(layout.trailer), layout.trailer, "the trailer's type");

  // Truncation anywhere: in the header, at and inside records, in the trailer.
  ExpectCorrupt("", 0, "empty file");
  ExpectCorrupt(good.substr(0, 5), 5, "inside the header");
  ExpectCorrupt(good.substr(0, 12), 12, "header only");
  ExpectCorrupt(good.substr(0, r1), r1, "at a record boundary");
  ExpectCorrupt(good.substr(0, r1 + 4), r1, "inside a record header");
  ExpectCorrupt(good.substr(0, r1_end - 1), r1, "inside a record checksum");
  ExpectCorrupt(good.substr(0, layout.trailer), layout.trailer, "before the trailer");
  ExpectCorrupt(good.substr(0, layout.trailer + 5), layout.trailer, "inside the trailer");
  ExpectCorrupt(good.substr(0, good.size() - 1), layout.trailer, "last byte missing");

  // Garbage after the trailer, and a record dropped (its neighbours intact).
  ExpectCorrupt(good + "x", good.size(), "one byte appended");
  ExpectCorrupt(good + std::string(4096, '\0'), good.size(), "a block appended");
  ExpectCorrupt(good.substr(0, r1) + good.substr(r1_end), layout.trailer - (r1_end - r1),
                "record 1 removed");
}

TEST_F(MemberSnapshotTest, RecordTheImporterRefusesIsCorruptionAtItsOffset) {
  const std::string path = Path("refused.snap");
  auto writer = MemberSnapshotWriter::Create(path, {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Add({RawFamily::kSide, "members", "m", "v"}).ok());
  ASSERT_TRUE((*writer)->Add({RawFamily::kKey, "", "not a revision key", "x"}).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  const Layout layout = Parse(ReadAll(path));

  ASSERT_TRUE(VerifyMemberSnapshot(path).ok());  // well framed
  const std::string store_dir = Path("refused.store");
  auto imported = ImportMemberSnapshot(path, store_dir);
  ASSERT_EQ(imported.status().code(), Code::kCorruption);
  const std::string& message = imported.status().message();
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("offset " + std::to_string(layout.records[1]) + ": record 1"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("bad revision key"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(store_dir));
  EXPECT_FALSE(fs::exists(store_dir + ".importing"));
}

TEST_F(MemberSnapshotTest, BadConsistentIndexIsCorruption) {
  const std::string path = Path("ci.snap");
  auto writer = MemberSnapshotWriter::Create(path, {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Add({RawFamily::kMeta, "", "consistent_index", "1234567"}).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  ExpectCorrupt(ReadAll(path), 12, "a 7-byte consistent_index");
}

TEST_F(MemberSnapshotTest, KeyAtTheLimitRoundTripsOnePastIsRefused) {
  auto source = OpenStore(Path("source"));
  const std::string at_limit(kMaxMemberSnapshotKeyBytes, 'k');
  {
    auto batch = source->BeginBatch();
    batch->PutMeta("members", at_limit, "v");
    ASSERT_TRUE(batch->Commit().ok());
  }
  ASSERT_TRUE(WriteMemberSnapshot(*source, Path("ok.snap")).ok());
  ASSERT_TRUE(ImportMemberSnapshot(Path("ok.snap"), Path("rebuilt")).ok());
  EXPECT_EQ(OpenStore(Path("rebuilt"))->ReadMeta("members")->at(0).first, at_limit);

  {
    auto batch = source->BeginBatch();
    batch->PutMeta("members", at_limit + "k", "v");
    ASSERT_TRUE(batch->Commit().ok());
  }
  auto refused = WriteMemberSnapshot(*source, Path("over.snap"));
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status().ToString();
  EXPECT_FALSE(fs::exists(Path("over.snap")));
  EXPECT_FALSE(fs::exists(Path("over.snap.tmp")));
}

TEST_F(MemberSnapshotTest, ValueAndTableLimits) {
  const MemberSnapshotLimits small{.max_key_bytes = 16, .max_value_bytes = 64};
  const std::string path = Path("limits.snap");
  {
    auto writer = MemberSnapshotWriter::Create(path, small);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Add({RawFamily::kSide, "t", std::string(16, 'k'), std::string(64, 'v')})
                    .ok());
    ASSERT_TRUE((*writer)->Add({RawFamily::kSide, std::string(255, 't'), "k", "v"}).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
  }
  ASSERT_TRUE(VerifyMemberSnapshot(path, small).ok());
  ASSERT_TRUE(ImportMemberSnapshot(path, Path("small.store"), small).ok());
  auto store = OpenStore(Path("small.store"));
  EXPECT_EQ(store->ReadMeta("t")->at(0).second, std::string(64, 'v'));
  EXPECT_EQ(store->ReadMeta(std::string(255, 't'))->size(), 1u);

  // A reader with lower limits than the writer's reports the record as Corruption.
  auto strict = VerifyMemberSnapshot(path, {.max_key_bytes = 16, .max_value_bytes = 63});
  EXPECT_EQ(strict.status().code(), Code::kCorruption);
  EXPECT_NE(strict.status().message().find("offset 12: record 0: value of 64 bytes"),
            std::string::npos)
      << strict.status().message();

  const auto refused = [&](const RawRecord& record) {
    auto writer = MemberSnapshotWriter::Create(Path("refused.snap"), small);
    GRID_CHECK(writer.ok());
    const Status s = (*writer)->Add(record);
    EXPECT_FALSE(fs::exists(Path("refused.snap.tmp")));  // a failed Add removes the file
    return s.code();
  };
  EXPECT_EQ(refused({RawFamily::kSide, "t", "k", std::string(65, 'v')}),
            Code::kResourceExhausted);
  EXPECT_EQ(refused({RawFamily::kSide, "t", std::string(17, 'k'), "v"}),
            Code::kResourceExhausted);
  EXPECT_EQ(refused({RawFamily::kSide, std::string(256, 't'), "k", "v"}), Code::kInvalidArgument);
  EXPECT_EQ(refused({RawFamily::kSide, "", "k", "v"}), Code::kInvalidArgument);
  EXPECT_EQ(refused({RawFamily::kMeta, "t", "consistent_index", "12345678"}),
            Code::kInvalidArgument);
}

TEST_F(MemberSnapshotTest, ImportRefusesAnExistingStoreDirAndLeavesItAlone) {
  auto source = MakeStore("source");
  ASSERT_TRUE(WriteMemberSnapshot(*source, Path("m.snap")).ok());
  fs::create_directory(Path("taken"));
  WriteAll(Path("taken/file"), "mine");
  auto imported = ImportMemberSnapshot(Path("m.snap"), Path("taken"));
  EXPECT_EQ(imported.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(ReadAll(Path("taken/file")), "mine");
}

TEST_F(MemberSnapshotTest, ImportRemovesALeftoverOfAnInterruptedImport) {
  auto source = MakeStore("source");
  ASSERT_TRUE(WriteMemberSnapshot(*source, Path("m.snap")).ok());
  fs::create_directory(Path("store.importing"));
  WriteAll(Path("store.importing/CURRENT"), "half");
  ASSERT_TRUE(ImportMemberSnapshot(Path("m.snap"), Path("store")).ok());
  EXPECT_FALSE(fs::exists(Path("store.importing")));
  EXPECT_EQ(OpenStore(Path("store"))->HashBackend().value(), source->HashBackend().value());
}

TEST_F(MemberSnapshotTest, MissingFileAndUnfinishedWriter) {
  EXPECT_EQ(VerifyMemberSnapshot(Path("absent.snap")).status().code(), Code::kNotFound);
  EXPECT_EQ(ImportMemberSnapshot(Path("absent.snap"), Path("s")).status().code(),
            Code::kNotFound);
  EXPECT_FALSE(fs::exists(Path("s")));
  {
    auto writer = MemberSnapshotWriter::Create(Path("never.snap"), {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Add({RawFamily::kSide, "t", "k", "v"}).ok());
    EXPECT_TRUE(fs::exists(Path("never.snap.tmp")));
  }
  EXPECT_FALSE(fs::exists(Path("never.snap.tmp")));
  EXPECT_FALSE(fs::exists(Path("never.snap")));
}

TEST_F(MemberSnapshotTest, WriteReplacesAnOlderFileAtThePath) {
  auto source = MakeStore("source");
  const std::string path = Path("m.snap");
  WriteAll(path, "an older snapshot");
  auto written = WriteMemberSnapshot(*source, path);
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(VerifyMemberSnapshot(path).ok());
}

}  // namespace
}  // namespace grid::kv::snapshot
