#include "mas/bucket/local_dir_bucket.h"

#include <errno.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/testing/temp_dir.h"
#include "mas/bucket/digest.h"

namespace grid::mas::bucket {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

// Every file under `root`, temporary ones included.
std::vector<std::string> FilesUnder(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.key);
  return out;
}

class LocalDirBucketTest : public ::testing::Test {
 protected:
  std::unique_ptr<LocalDirBucket> Open(LocalDirOptions options = {}) {
    auto b = LocalDirBucket::Open(dir_.path() + "/bucket", std::move(options));
    GRID_CHECK(b.ok()) << b.status().ToString();
    return std::move(b).value();
  }
  std::string Local(const std::string& name) { return dir_.path() + "/" + name; }

  grid::testing::TempDir dir_;
};

TEST_F(LocalDirBucketTest, PutGetListDeleteRoundTrip) {
  auto b = Open();
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
  WriteAll(Local("src"), data);
  ASSERT_TRUE(b->PutFile("main/2024/snap.db", Local("src")).ok());
  ASSERT_TRUE(b->PutBytes("main/2024/meta.json", "{\"a\":1}").ok());
  ASSERT_TRUE(b->PutBytes("other/x", "").ok());

  ASSERT_TRUE(b->GetFile("main/2024/snap.db", Local("dst")).ok());
  EXPECT_EQ(ReadAll(Local("dst")), data);
  auto meta = b->GetBytes("main/2024/meta.json");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, "{\"a\":1}");

  auto all = b->List("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"main/2024/meta.json", "main/2024/snap.db", "other/x"}));
  EXPECT_EQ((*all)[1].size_bytes, static_cast<int64_t>(data.size()));
  EXPECT_EQ((*all)[1].etag, Sha256Hex(data));
  EXPECT_EQ((*all)[2].etag, Sha256Hex(""));
  EXPECT_GT((*all)[1].modified.time_since_epoch().count(), 0);

  EXPECT_EQ(Keys(b->List("main/2024/m").value()), (std::vector<std::string>{"main/2024/meta.json"}));
  EXPECT_EQ(Keys(b->List("main/").value()).size(), 2u);
  EXPECT_EQ(Keys(b->List("ma").value()).size(), 2u);
  EXPECT_TRUE(b->List("nothing/").value().empty());
  EXPECT_TRUE(b->List("../").value().empty());

  ASSERT_TRUE(b->Delete("main/2024/snap.db").ok());
  EXPECT_EQ(b->Delete("main/2024/snap.db").code(), Code::kNotFound);
  EXPECT_EQ(b->GetFile("main/2024/snap.db", Local("dst2")).code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(Local("dst2")));
  EXPECT_EQ(b->GetBytes("main/2024/snap.db").status().code(), Code::kNotFound);
  EXPECT_EQ(b->GetBytes("main").status().code(), Code::kNotFound);  // a directory
  EXPECT_EQ(b->Delete("main").code(), Code::kNotFound);
  EXPECT_EQ(Keys(b->List("").value()).size(), 2u);
}

TEST_F(LocalDirBucketTest, OverwriteReplacesWhole) {
  auto b = Open();
  ASSERT_TRUE(b->PutBytes("k", "first version").ok());
  ASSERT_TRUE(b->PutBytes("k", "2").ok());
  EXPECT_EQ(b->GetBytes("k").value(), "2");
  EXPECT_EQ(FilesUnder(dir_.path() + "/bucket"), std::vector<std::string>{"k"});
}

TEST_F(LocalDirBucketTest, MissingSourceIsNotFound) {
  auto b = Open();
  EXPECT_EQ(b->PutFile("k", Local("absent")).code(), Code::kNotFound);
  EXPECT_TRUE(b->List("").value().empty());
}

TEST_F(LocalDirBucketTest, FullDiskIsResourceExhaustedAndLeavesNothing) {
  for (int err : {ENOSPC, EDQUOT}) {
    LocalDirOptions options;
    // The first write succeeds, the second finds the disk full.
    options.write_fault = [err](int64_t written) { return written > 0 ? err : 0; };
    auto b = Open(std::move(options));
    WriteAll(Local("src"), std::string(3 << 20, 'x'));
    Status s = b->PutFile("a/big", Local("src"));
    EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
    EXPECT_NE(s.message().find("bucket dir:" + dir_.path() + "/bucket is full"), std::string::npos)
        << s.message();
    EXPECT_TRUE(b->List("").value().empty());
    // No temporary file is left behind either.
    EXPECT_TRUE(FilesUnder(dir_.path() + "/bucket").empty());
  }
}

TEST_F(LocalDirBucketTest, OtherWriteErrorsAreIOError) {
  LocalDirOptions options;
  options.write_fault = [](int64_t) { return EIO; };
  auto b = Open(std::move(options));
  EXPECT_EQ(b->PutBytes("k", "v").code(), Code::kIOError);
  EXPECT_TRUE(FilesUnder(dir_.path() + "/bucket").empty());
}

TEST_F(LocalDirBucketTest, TemporaryFilesAreNeverListed) {
  auto b = Open();
  ASSERT_TRUE(b->PutBytes("a/k", "v").ok());
  // What an interrupted put (a crash between create and rename) leaves.
  WriteAll(dir_.path() + "/bucket/a/" + std::string(kReservedSegmentPrefix) + "123.0", "partial");
  WriteAll(dir_.path() + "/bucket/" + std::string(kReservedSegmentPrefix) + "9.9", "partial");
  EXPECT_EQ(Keys(b->List("").value()), std::vector<std::string>{"a/k"});
  EXPECT_EQ(Keys(b->List("a/").value()), std::vector<std::string>{"a/k"});
}

TEST_F(LocalDirBucketTest, KeyValidationAtTheLimit) {
  auto b = Open();
  // Exactly kMaxObjectKeyBytes, in segments short enough for the file system (<= 255).
  std::string key;
  while (key.size() + 201 <= kMaxObjectKeyBytes) key += std::string(200, 'k') + "/";
  key += std::string(kMaxObjectKeyBytes - key.size(), 'z');
  ASSERT_EQ(key.size(), kMaxObjectKeyBytes);
  ASSERT_TRUE(b->PutBytes(key, "v").ok());
  EXPECT_EQ(b->GetBytes(key).value(), "v");
  EXPECT_EQ(Keys(b->List("").value()), std::vector<std::string>{key});
  ASSERT_TRUE(b->Delete(key).ok());

  std::string over = key + "z";
  EXPECT_EQ(b->PutBytes(over, "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(b->GetBytes(over).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(b->Delete(over).code(), Code::kInvalidArgument);
  EXPECT_EQ(b->GetFile(over, Local("x")).code(), Code::kInvalidArgument);
  for (const char* bad : {"/abs", "a/../b", "a//b", ""}) {
    EXPECT_EQ(b->PutBytes(bad, "v").code(), Code::kInvalidArgument) << bad;
  }
  // A segment over the file system's name limit is refused, not an I/O error.
  EXPECT_EQ(b->PutBytes(std::string(300, 's'), "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(b->PutBytes("d/" + std::string(300, 's') + "/f", "v").code(), Code::kInvalidArgument);
}

TEST_F(LocalDirBucketTest, ObjectAndDirectoryKeysConflict) {
  auto b = Open();
  ASSERT_TRUE(b->PutBytes("a/b", "v").ok());
  EXPECT_EQ(b->PutBytes("a/b/c", "v").code(), Code::kFailedPrecondition);
  EXPECT_EQ(b->PutBytes("a", "v").code(), Code::kFailedPrecondition);
  EXPECT_EQ(Keys(b->List("").value()), std::vector<std::string>{"a/b"});
}

TEST_F(LocalDirBucketTest, ListLimitIsExact) {
  LocalDirOptions options;
  options.max_listed_objects = 3;
  auto b = Open(std::move(options));
  for (const char* k : {"p/1", "p/2", "p/3"}) ASSERT_TRUE(b->PutBytes(k, "v").ok());
  EXPECT_EQ(b->List("p/").value().size(), 3u);
  ASSERT_TRUE(b->PutBytes("p/4", "v").ok());
  Status s = b->List("p/").status();
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
  EXPECT_EQ(b->List("p/1").value().size(), 1u);  // a narrower prefix still lists
  EXPECT_EQ(LocalDirOptions().max_listed_objects, kMaxListedObjects);
}

TEST_F(LocalDirBucketTest, InMemoryLimitIsExact) {
  auto b = Open();
  std::string at_limit(static_cast<size_t>(kMaxInMemoryObjectBytes), 'm');
  ASSERT_TRUE(b->PutBytes("big", at_limit).ok());
  auto got = b->GetBytes("big");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), at_limit.size());
  at_limit.push_back('m');
  EXPECT_EQ(b->PutBytes("bigger", at_limit).code(), Code::kResourceExhausted);
  // A file put through PutFile may be larger, but GetBytes refuses it.
  WriteAll(Local("src"), at_limit);
  ASSERT_TRUE(b->PutFile("bigger", Local("src")).ok());
  EXPECT_EQ(b->GetBytes("bigger").status().code(), Code::kResourceExhausted);
}

TEST_F(LocalDirBucketTest, ConcurrentPutsOfOneKeyLeaveOneWholeObject) {
  auto b = Open();
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&b, t] {
      std::string value(100000, static_cast<char>('a' + t));
      for (int i = 0; i < 10; ++i) GRID_CHECK(b->PutBytes("shared/key", value).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto listed = b->List("").value();
  ASSERT_EQ(Keys(listed), std::vector<std::string>{"shared/key"});
  std::string got = b->GetBytes("shared/key").value();
  ASSERT_EQ(got.size(), 100000u);
  EXPECT_EQ(got, std::string(100000, got[0]));
  EXPECT_EQ(listed[0].etag, Sha256Hex(got));
  EXPECT_EQ(FilesUnder(dir_.path() + "/bucket"), std::vector<std::string>{"shared/key"});
}

TEST_F(LocalDirBucketTest, ObjectsWrittenByOthersAreHashedWhenListed) {
  auto b = Open();
  fs::create_directories(dir_.path() + "/bucket/x");
  WriteAll(dir_.path() + "/bucket/x/plain", "hello");
  auto listed = b->List("x/").value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].etag, Sha256Hex("hello"));
}

}  // namespace
}  // namespace grid::mas::bucket
