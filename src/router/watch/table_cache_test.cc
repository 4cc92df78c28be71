#include "router/watch/table_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"
#include "router/watch/test_util.h"

namespace grid::router::watch {
namespace {

using testing::kPrefix;

table::TableSource SampleSource() {
  table::TableSource s;
  s.prefix = kPrefix;
  s.kvs[testing::CellKey("a")] = testing::CellJson(1);
  s.kvs[testing::TenantKey("t")] = testing::TenantJson("a");
  // Bytes the format must carry as they are: newlines, spaces, NUL, non-UTF-8.
  s.kvs[std::string(kPrefix) + "/odd\nkey 1"] = std::string("v\n2 3\0\xff", 8);
  s.kvs[std::string(kPrefix) + "/empty"] = "";
  return s;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(TableCacheTest, RoundTripsEveryByte) {
  const table::TableSource source = SampleSource();
  auto decoded = DecodeCache(EncodeCache(source, 42));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->revision, 42);
  EXPECT_EQ(decoded->source.prefix, source.prefix);
  EXPECT_EQ(decoded->source.kvs, source.kvs);
}

TEST(TableCacheTest, EmptySourceRoundTrips) {
  table::TableSource source;
  source.prefix = kPrefix;
  auto decoded = DecodeCache(EncodeCache(source, 1));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(decoded->source.kvs.empty());
}

TEST(TableCacheTest, EveryTruncationAndEveryFlippedByteIsCorruption) {
  const std::string text = EncodeCache(SampleSource(), 7);
  for (size_t n = 0; n < text.size(); ++n) {
    auto r = DecodeCache(std::string_view(text).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(r.status().code(), Code::kCorruption);
  }
  for (size_t i = 0; i < text.size(); ++i) {
    std::string damaged = text;
    damaged[i] ^= 0x01;
    auto r = DecodeCache(damaged);
    ASSERT_FALSE(r.ok()) << "byte " << i << " flipped still decoded";
    EXPECT_EQ(r.status().code(), Code::kCorruption);
  }
}

TEST(TableCacheTest, FileRoundTripAndReplace) {
  grid::testing::TempDir dir;
  const std::string path = dir.path() + "/routes.cache";
  EXPECT_EQ(ReadCacheFile(path).status().code(), Code::kNotFound);
  ASSERT_TRUE(WriteCacheFile(path, SampleSource(), 5).ok());
  table::TableSource second;
  second.prefix = kPrefix;
  second.kvs[testing::CellKey("b")] = testing::CellJson(2);
  ASSERT_TRUE(WriteCacheFile(path, second, 6).ok());
  auto r = ReadCacheFile(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->revision, 6);
  EXPECT_EQ(r->source.kvs, second.kvs);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(TableCacheTest, DamagedFileNamesThePath) {
  grid::testing::TempDir dir;
  const std::string path = dir.path() + "/routes.cache";
  ASSERT_TRUE(WriteCacheFile(path, SampleSource(), 5).ok());
  std::string text = ReadAll(path);
  WriteRaw(path, text.substr(0, text.size() / 2));
  auto r = ReadCacheFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
}

TEST(TableCacheTest, FileSizeLimitIsInclusive) {
  grid::testing::TempDir dir;
  const std::string path = dir.path() + "/routes.cache";
  const size_t bytes = EncodeCache(SampleSource(), 9).size();
  // At the limit: written and read back.
  ASSERT_TRUE(WriteCacheFile(path, SampleSource(), 9, bytes).ok());
  EXPECT_TRUE(ReadCacheFile(path, bytes).ok());
  // One byte under it: refused both ways, and the old file is left alone.
  Status s = WriteCacheFile(path, SampleSource(), 10, bytes - 1);
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
  EXPECT_EQ(ReadCacheFile(path, bytes - 1).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(ReadCacheFile(path)->revision, 9);
}

TEST(TableCacheTest, DefaultLimitIsNamed) { EXPECT_EQ(kMaxCacheFileBytes, 256u * 1024 * 1024); }

}  // namespace
}  // namespace grid::router::watch
