#include "transport/snapshot_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/testing/temp_dir.h"
#include "transport/options.h"

namespace grid::transport {
namespace {

std::string Sha(const std::string& data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Finish();
}

size_t FileCount(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

TEST(Sha256Test, KnownVector) {
  std::string d = Sha("abc");
  ASSERT_EQ(d.size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(d[0]), 0xba);
  EXPECT_EQ(static_cast<unsigned char>(d[31]), 0xad);
}

TEST(SnapshotFileWriterTest, CommitsVerifiedData) {
  testing::TempDir dir;
  auto w = SnapshotFileWriter::Create(dir.path() + "/snap", "snap-1", 6);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Append("abc").ok());
  ASSERT_TRUE((*w)->Append("def").ok());
  auto path = (*w)->Commit(Sha("abcdef"));
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  w->reset();
  EXPECT_EQ(std::filesystem::path(*path).extension(), ".snap");
  std::ifstream in(*path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "abcdef");
  EXPECT_EQ(FileCount(dir.path() + "/snap"), 1u);

  auto reader = OpenFileSnapshotReader(*path);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->size_bytes(), 6u);
  char buf[16];
  auto n = (*reader)->Read(buf, sizeof(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "abcdef");
}

TEST(SnapshotFileWriterTest, ChecksumMismatchLeavesNoFile) {
  testing::TempDir dir;
  auto w = SnapshotFileWriter::Create(dir.path(), "snap-1", 3);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("abc").ok());
  EXPECT_EQ((*w)->Commit(Sha("abd")).status().code(), Code::kCorruption);
  w->reset();
  EXPECT_EQ(FileCount(dir.path()), 0u);
}

TEST(SnapshotFileWriterTest, SizeIsExactlyTheAnnouncedSize) {
  testing::TempDir dir;
  auto w = SnapshotFileWriter::Create(dir.path(), "snap-1", 4);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("abcd").ok());          // at the limit
  EXPECT_EQ((*w)->Append("e").code(), Code::kOutOfRange);  // one past it
  auto short_w = SnapshotFileWriter::Create(dir.path(), "snap-2", 4);
  ASSERT_TRUE(short_w.ok());
  ASSERT_TRUE((*short_w)->Append("abc").ok());
  EXPECT_EQ((*short_w)->Commit(Sha("abc")).status().code(), Code::kOutOfRange);
  w->reset();
  short_w->reset();
  EXPECT_EQ(FileCount(dir.path()), 0u);
}

}  // namespace
}  // namespace grid::transport
