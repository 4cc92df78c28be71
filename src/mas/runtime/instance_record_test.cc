#include "mas/runtime/instance_record.h"

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/testing/temp_dir.h"

namespace grid::mas::runtime {
namespace {

InstanceRecord Sample() {
  InstanceRecord r;
  r.spec = {"kv/demo/m1", "gridkv", "1.0", {"--data-dir={data_dir}", "--name=m1"},
            RestartPolicy::kReplace, {{"grid.dev/zone", "a"}}};
  r.want_running = true;
  r.process = {4242, 987654321};
  r.incarnation = 3;
  r.restarts = 7;
  r.last_exit = "signal 9 (Killed)";
  r.started_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  return r;
}

TEST(InstanceRecordTest, RoundTrips) {
  Result<InstanceRecord> decoded = DecodeInstanceRecord(EncodeInstanceRecord(Sample()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, Sample());
}

// A record written before instances had labels reads back with none.
TEST(InstanceRecordTest, RecordWithoutLabelsReadsBack) {
  InstanceRecord old = Sample();
  old.spec.labels.clear();
  nlohmann::json j = nlohmann::json::parse(EncodeInstanceRecord(old));
  j["spec"].erase("labels");
  Result<InstanceRecord> decoded = DecodeInstanceRecord(j.dump());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, old);
}

TEST(InstanceRecordTest, WritesAndReadsAtomically) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteInstanceRecord(dir.path(), Sample()).ok());
  InstanceRecord next = Sample();
  next.restarts = 8;
  ASSERT_TRUE(WriteInstanceRecord(dir.path(), next).ok());
  Result<InstanceRecord> read = ReadInstanceRecord(dir.path());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, next);
  EXPECT_FALSE(std::ifstream(dir.path() + "/instance.json.tmp").good());
}

TEST(InstanceRecordTest, MissingIsNotFound) {
  testing::TempDir dir;
  EXPECT_EQ(ReadInstanceRecord(dir.path()).status().code(), Code::kNotFound);
}

TEST(InstanceRecordTest, DamageIsCorruptionNamingTheFile) {
  const std::string text = EncodeInstanceRecord(Sample());
  testing::TempDir dir;
  // Every truncation and a few byte flips must be refused, never crash.
  for (size_t cut = 0; cut < text.size() - 2; cut += 7) {
    std::ofstream(dir.path() + "/instance.json", std::ios::trunc) << text.substr(0, cut);
    Result<InstanceRecord> read = ReadInstanceRecord(dir.path());
    ASSERT_EQ(read.status().code(), Code::kCorruption) << cut;
    EXPECT_NE(read.status().message().find(dir.path() + "/instance.json"), std::string::npos);
  }
  for (const std::string& bad :
       {std::string("[]"), std::string("{\"format\": 2}"),
        [&] { std::string t = text; t.replace(t.find("Replace"), 7, "Sideway"); return t; }(),
        [&] { std::string t = text; t.replace(t.find("kv/demo"), 7, "KV/demo"); return t; }()}) {
    EXPECT_EQ(DecodeInstanceRecord(bad).status().code(), Code::kCorruption) << bad;
  }
}

TEST(InstanceRecordTest, SizeLimit) {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/instance.json") << std::string(kMaxInstanceRecordBytes + 1, ' ');
  Result<InstanceRecord> read = ReadInstanceRecord(dir.path());
  EXPECT_EQ(read.status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace grid::mas::runtime
