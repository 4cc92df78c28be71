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
    fs::create_directories(root_ / "src");
    Write(root_ / "src" / "CURRENT", "MANIFEST-000001\n");
    Write(root_ / "src" / "000007.sst", std::string(100000, 'x') + "tail");
    Write(root_ / "src" / "empty", "");
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Write(const fs::path& p, const std::string& data) {
    std::ofstream(p, std::ios::binary) << data;
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::string MakeSnapshot(size_t chunk_bytes = 4096) {
    std::string out;
    size_t chunks = 0;
    Status s = WriteSnapshot((root_ / "src").string(), chunk_bytes, [&](std::string_view c) {
      EXPECT_LE(c.size(), chunk_bytes);
      out.append(c);
      ++chunks;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_GT(chunks, 1u);
    Write(root_ / "snap.db", out);
    return out;
  }

  fs::path root_;
};

TEST_F(SnapshotFileTest, LengthIsMultipleOf512PlusChecksum) {
  std::string snap = MakeSnapshot();
  EXPECT_EQ(snap.size() % kAlignBytes, kChecksumBytes);
}

TEST_F(SnapshotFileTest, RoundTripRestoresEveryFile) {
  MakeSnapshot();
  Status s = RestoreSnapshot((root_ / "snap.db").string(), (root_ / "out").string());
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const char* f : {"CURRENT", "000007.sst", "empty"}) {
    EXPECT_EQ(Read(root_ / "out" / f), Read(root_ / "src" / f)) << f;
  }
}

TEST_F(SnapshotFileTest, FlippedByteIsReportedWithOffset) {
  std::string snap = MakeSnapshot();
  snap[100] ^= 0x01;
  Write(root_ / "snap.db", snap);
  Status s = RestoreSnapshot((root_ / "snap.db").string(), (root_ / "out").string());
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("SHA-256 mismatch at offset " + std::to_string(snap.size() - 32)),
            std::string::npos)
      << s.message();
  EXPECT_FALSE(fs::exists(root_ / "out"));
}

TEST_F(SnapshotFileTest, TruncatedFileIsRefused) {
  std::string snap = MakeSnapshot();
  Write(root_ / "snap.db", snap.substr(0, snap.size() - 1));
  Status s = RestoreSnapshot((root_ / "snap.db").string(), (root_ / "out").string());
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("not a multiple of 512"), std::string::npos) << s.message();
}

TEST_F(SnapshotFileTest, ExistingTargetIsRefused) {
  MakeSnapshot();
  fs::create_directories(root_ / "out");
  Status s = RestoreSnapshot((root_ / "snap.db").string(), (root_ / "out").string());
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
}

TEST_F(SnapshotFileTest, AbortedReceiverStopsTheStream) {
  size_t chunks = 0;
  Status s = WriteSnapshot((root_ / "src").string(), 1024, [&](std::string_view) {
    return ++chunks < 3;
  });
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(chunks, 3u);
}

}  // namespace
}  // namespace grid::kv::snapshot
