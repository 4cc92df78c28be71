#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "storage/bolt/reader.h"
#include "storage/bolt/writer.h"

namespace grid::bolt {
namespace {
namespace fs = std::filesystem;

using Buckets = std::map<std::string, std::map<std::string, std::string>>;

class BoltTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "grid-bolt-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  uint64_t WriteAll(const Buckets& buckets, const WriterOptions& options = {}) {
    auto w = Writer::Create(path_, options);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    // Reverse bucket order: the writer sorts the root itself.
    for (auto it = buckets.rbegin(); it != buckets.rend(); ++it) {
      EXPECT_TRUE((*w)->BeginBucket(it->first).ok());
      for (const auto& [k, v] : it->second) {
        Status s = (*w)->Put(k, v);
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
      EXPECT_TRUE((*w)->EndBucket().ok());
    }
    auto size = (*w)->Finish();
    EXPECT_TRUE(size.ok()) << size.status().ToString();
    return size.ok() ? *size : 0;
  }

  Result<Buckets> ReadAll(const ReaderOptions& options = {}) {
    GRID_ASSIGN_OR_RETURN(auto r, Reader::Open(path_, options));
    Buckets out;
    std::string current;
    Visitor v;
    v.on_bucket = [&](std::string_view name) {
      current.assign(name);
      out[current];
      return Status::Ok();
    };
    v.on_entry = [&](std::string_view k, std::string_view val, bool nested) {
      EXPECT_FALSE(nested);
      out[current][std::string(k)] = std::string(val);
      return Status::Ok();
    };
    GRID_RETURN_IF_ERROR(r->Walk(v));
    return out;
  }

  std::string ReadFile() {
    std::ifstream in(path_, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  void WriteFile(const std::string& data) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << data;
  }

  fs::path dir_;
  std::string path_;
};

std::string Key(int i) {
  char buf[32];
  snprintf(buf, sizeof(buf), "key-%08d", i);
  return buf;
}

TEST_F(BoltTest, RoundTripMultiLevelOverflowAndInline) {
  Buckets b;
  for (int i = 0; i < 200000; ++i) b["big"][Key(i)] = "value-" + std::to_string(i * 7);
  for (int i = 0; i < 50; ++i) b["overflow"][Key(i)] = std::string(5000 + 1000 * i, 'a' + i % 26);
  b["small"]["a"] = "1";
  b["small"]["b"] = "";
  b["empty"];
  b["edge"][std::string(kMaxKeyBytes, 'k')] = "max key";
  const uint64_t size = WriteAll(b);
  EXPECT_EQ(size % kDefaultPageBytes, 0u);
  EXPECT_EQ(size, fs::file_size(path_));
  auto got = ReadAll();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == b);

  // The 200k-key bucket needs branch levels; "small" and "empty" are inline.
  auto r = Reader::Open(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->meta().high_water_pgid * kDefaultPageBytes, size);
  EXPECT_EQ((*r)->meta().txid, 2u);
}

TEST_F(BoltTest, InlineLimitIsAQuarterPage) {
  // A leaf of exactly page/4 bytes is inline, one byte more is a page of its own.
  const size_t value_bytes = kDefaultPageBytes / 4 - kPageHeaderBytes - kElementBytes - 1;
  Buckets at;
  at["b"]["k"] = std::string(value_bytes, 'x');
  const uint64_t inline_size = WriteAll(at);
  Buckets over;
  over["b"]["k"] = std::string(value_bytes + 1, 'x');
  const uint64_t paged_size = WriteAll(over);
  EXPECT_EQ(paged_size, inline_size + kDefaultPageBytes);
  auto got = ReadAll();
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == over);
}

TEST_F(BoltTest, FillPercentOneAndLargePages) {
  Buckets b;
  for (int i = 0; i < 20000; ++i) b["k"][Key(i)] = std::string(i % 300, 'v');
  WriterOptions options;
  options.fill_percent = 1.0;
  options.page_bytes = 16384;
  WriteAll(b, options);
  auto got = ReadAll();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == b);
}

TEST_F(BoltTest, WriterRefusesUnsortedKeysAndDuplicateBuckets) {
  auto w = Writer::Create(path_);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->BeginBucket("a").ok());
  ASSERT_TRUE((*w)->Put("b", "1").ok());
  EXPECT_EQ((*w)->Put("b", "2").code(), Code::kInvalidArgument);
  EXPECT_EQ((*w)->Put("a", "2").code(), Code::kInvalidArgument);
  EXPECT_EQ((*w)->Put("", "2").code(), Code::kInvalidArgument);
  EXPECT_EQ((*w)->Put(std::string(kMaxKeyBytes + 1, 'z'), "2").code(), Code::kInvalidArgument);
  ASSERT_TRUE((*w)->EndBucket().ok());
  ASSERT_TRUE((*w)->BeginBucket("a").ok());
  ASSERT_TRUE((*w)->EndBucket().ok());
  EXPECT_EQ((*w)->Finish().status().code(), Code::kInvalidArgument);
}

TEST_F(BoltTest, FlippedMetaByteIsAChecksumErrorWithOffset) {
  Buckets b;
  b["key"]["a"] = "b";
  WriteAll(b);
  std::string data = ReadFile();
  data[kDefaultPageBytes + kPageHeaderBytes + 16] ^= 0x01;  // meta 1's root page id
  WriteFile(data);
  auto r = Reader::Open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("meta page 1: checksum mismatch at offset " +
                                      std::to_string(kDefaultPageBytes + kPageHeaderBytes +
                                                     kMetaChecksumOffset)),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(path_), std::string::npos);

  // Like bbolt, a reader that tolerates one bad meta page uses the other.
  ReaderOptions lenient;
  lenient.require_both_metas = false;
  auto got = ReadAll(lenient);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == b);
}

TEST_F(BoltTest, BadMagicIsReported) {
  WriteAll({{"x", {{"a", "b"}}}});
  std::string data = ReadFile();
  data[kPageHeaderBytes] = 0;
  WriteFile(data);
  auto r = Reader::Open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad magic (not a bolt file) at offset 16"),
            std::string::npos)
      << r.status().message();
}

TEST_F(BoltTest, TruncatedFileIsCorruption) {
  Buckets b;
  for (int i = 0; i < 5000; ++i) b["k"][Key(i)] = "v";
  WriteAll(b);
  std::string data = ReadFile();
  WriteFile(data.substr(0, data.size() - kDefaultPageBytes));
  auto r = Reader::Open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("high water mark"), std::string::npos)
      << r.status().message();
}

TEST_F(BoltTest, DamagedPageIsCorruptionWithItsOffset) {
  Buckets b;
  for (int i = 0; i < 5000; ++i) b["k"][Key(i)] = "v";
  WriteAll(b);
  std::string data = ReadFile();
  // Page 2 is the first leaf of "k": break its id.
  data[2 * kDefaultPageBytes] ^= 0x40;
  WriteFile(data);
  auto got = ReadAll();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_NE(got.status().message().find("at offset " + std::to_string(2 * kDefaultPageBytes)),
            std::string::npos)
      << got.status().message();
}

TEST_F(BoltTest, ElementCountBeyondPageIsCorruption) {
  Buckets b;
  for (int i = 0; i < 5000; ++i) b["k"][Key(i)] = "v";
  WriteAll(b);
  std::string data = ReadFile();
  PutLE16(data.data() + 2 * kDefaultPageBytes + 10, 0xFFFE);
  WriteFile(data);
  auto got = ReadAll();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("exceeds the page"), std::string::npos)
      << got.status().message();
}

TEST_F(BoltTest, DbBytesExcludesATrailer) {
  WriteAll({{"x", {{"a", "b"}}}});
  const uint64_t size = fs::file_size(path_);
  std::ofstream(path_, std::ios::binary | std::ios::app) << std::string(32, '\xff');
  ReaderOptions options;
  options.db_bytes = size;
  auto got = ReadAll(options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ((*got)["x"]["a"], "b");
}

}  // namespace
}  // namespace grid::bolt
