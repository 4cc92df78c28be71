#include "mas/backup/snapshot.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "mas/backup/testing/snapshot_files.h"

namespace grid::mas::backup {
namespace {

using testing::FlipByte;
using testing::WriteFakeSnapshot;

class SnapshotFileTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) { return dir_.path() + "/" + name; }
  grid::testing::TempDir dir_;
};

TEST_F(SnapshotFileTest, GoodFileVerifies) {
  const std::string path = Path("good.db");
  WriteFakeSnapshot(path, 3 * 4096);
  auto info = VerifySnapshotFile(path);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size_bytes, 3 * 4096 + 32);
  auto digest = DigestFile(path);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(info->sha256, digest->sha256);
  EXPECT_EQ(info->sha256.size(), 64u);
}

// A flipped byte anywhere is reported with the offset of the trailing digest (the check that
// failed), the file named.
TEST_F(SnapshotFileTest, FlippedBytesAreCorruptionWithTheOffset) {
  const int64_t db = 2 * 4096;
  for (int64_t offset : {int64_t{0}, int64_t{100}, db - 1, db, db + 31}) {
    const std::string path = Path("flip.db");
    WriteFakeSnapshot(path, db);
    FlipByte(path, offset);
    auto info = VerifySnapshotFile(path);
    ASSERT_FALSE(info.ok()) << offset;
    EXPECT_EQ(info.status().code(), Code::kCorruption);
    EXPECT_NE(info.status().message().find("snapshot " + path + ": offset 8192: trailing sha256"),
              std::string::npos)
        << info.status().message();
  }
}

TEST_F(SnapshotFileTest, WrongMagicIsReportedAtItsOffset) {
  const std::string path = Path("magic.db");
  WriteFakeSnapshot(path, 4096);
  FlipByte(path, kBoltMagicOffset + 1);
  auto info = VerifySnapshotFile(path);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Code::kCorruption);
  EXPECT_NE(info.status().message().find("offset 16: not a bbolt file"), std::string::npos)
      << info.status().message();
}

TEST_F(SnapshotFileTest, TruncatedAndTinyFiles) {
  const std::string path = Path("short.db");
  WriteFakeSnapshot(path, 4096);
  std::filesystem::resize_file(path, 4096 + 31);
  auto info = VerifySnapshotFile(path);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("offset 4127: size 4127 is not a multiple of 512 plus 32"),
            std::string::npos)
      << info.status().message();

  std::ofstream(Path("tiny.db"), std::ios::binary) << std::string(40, 'x');
  info = VerifySnapshotFile(Path("tiny.db"));
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("offset 0: 40 bytes cannot hold"), std::string::npos)
      << info.status().message();

  info = VerifySnapshotFile(Path("absent.db"));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Code::kIOError);
}

// The smallest acceptable file: 512 + 32 bytes (the alignment rule), and files larger than
// the 1 MiB read chunk.
TEST_F(SnapshotFileTest, SizesAtTheEdges) {
  WriteFakeSnapshot(Path("min.db"), 512);
  EXPECT_TRUE(VerifySnapshotFile(Path("min.db")).ok());
  WriteFakeSnapshot(Path("big.db"), (size_t{1} << 20) * 2 + 512);
  auto big = VerifySnapshotFile(Path("big.db"));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  FlipByte(Path("big.db"), (int64_t{1} << 20) + 5);
  EXPECT_EQ(VerifySnapshotFile(Path("big.db")).status().code(), Code::kCorruption);
}

TEST(TakeSnapshotTest, NoEndpointAnswers) {
  grid::testing::TempDir dir;
  TakeSnapshotOptions o;
  o.dial_timeout = std::chrono::milliseconds(200);
  o.call_timeout = std::chrono::milliseconds(200);
  auto r = TakeSnapshot({"127.0.0.1:1", "http://127.0.0.1:2"}, dir.path() + "/s.db", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1:1"), std::string::npos);
  EXPECT_NE(r.status().message().find("http://127.0.0.1:2"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/s.db"));
  EXPECT_EQ(TakeSnapshot({}, dir.path() + "/s.db").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace grid::mas::backup
