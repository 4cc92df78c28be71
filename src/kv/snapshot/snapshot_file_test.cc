#include "kv/snapshot/snapshot_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace grid::kv::snapshot {
namespace {
namespace fs = std::filesystem;

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gridsnap-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    db_ = (root_ / "db").string();
    // 3 pages of a fake database: a multiple of 512.
    std::string data;
    for (int i = 0; i < 3 * 4096; ++i) data.push_back(static_cast<char>(i * 31));
    Write(db_, data);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Write(const std::string& p, const std::string& data) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
  }
  static std::string Read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // Streams db_ into a snapshot file; returns its path.
  std::string Snapshot(size_t chunk_bytes) {
    std::string out;
    uint64_t last_remaining = UINT64_MAX;
    Status s = StreamWithSha256(db_, chunk_bytes, [&](std::string_view c, uint64_t remaining) {
      EXPECT_LE(c.size(), std::max(chunk_bytes, kSha256Bytes));
      EXPECT_LT(remaining, last_remaining);
      last_remaining = remaining;
      out.append(c);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(last_remaining, 0u);
    const std::string path = (root_ / "snap").string();
    Write(path, out);
    return path;
  }

  fs::path root_;
  std::string db_;
};

TEST_F(SnapshotFileTest, StreamEndsWithTheChecksumAsItsOwnChunk) {
  size_t chunks = 0;
  std::string last;
  ASSERT_TRUE(StreamWithSha256(db_, 4096, [&](std::string_view c, uint64_t) {
                ++chunks;
                last.assign(c);
                return true;
              }).ok());
  EXPECT_EQ(chunks, 4u);  // three database chunks, then the checksum
  Sha256 sha;
  sha.Update(Read(db_));
  EXPECT_EQ(last, sha.Final());
}

TEST_F(SnapshotFileTest, VerifyAcceptsAndReturnsTheDatabaseLength) {
  const std::string snap = Snapshot(1000);
  auto db_bytes = VerifySha256(snap);
  ASSERT_TRUE(db_bytes.ok()) << db_bytes.status().ToString();
  EXPECT_EQ(*db_bytes, 3u * 4096);
  EXPECT_EQ(fs::file_size(snap) % kAlignBytes, kSha256Bytes);
}

TEST_F(SnapshotFileTest, FlippedByteIsExpectedSha256WithOffset) {
  const std::string snap = Snapshot(4096);
  std::string data = Read(snap);
  data[100] ^= 0x01;
  Write(snap, data);
  auto r = VerifySha256(snap);
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("expected sha256 "), std::string::npos);
  EXPECT_NE(r.status().message().find("checksum at offset 12288"), std::string::npos)
      << r.status().message();
}

TEST_F(SnapshotFileTest, TruncatedFileHasNoChecksum) {
  const std::string snap = Snapshot(4096);
  std::string data = Read(snap);
  Write(snap, data.substr(0, data.size() - 1));
  auto r = VerifySha256(snap);
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("no sha256 checksum"), std::string::npos)
      << r.status().message();
}

TEST_F(SnapshotFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(VerifySha256((root_ / "nope").string()).status().code(), Code::kNotFound);
}

TEST_F(SnapshotFileTest, AbortedReceiverStopsTheStream) {
  size_t chunks = 0;
  Status s = StreamWithSha256(db_, 1024, [&](std::string_view, uint64_t) { return ++chunks < 3; });
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(chunks, 3u);
}

}  // namespace
}  // namespace grid::kv::snapshot
