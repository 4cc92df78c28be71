#include "kv/server/store_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "common/testing/temp_dir.h"

namespace grid::kv {
namespace {
namespace fs = std::filesystem;

TEST(StoreDirTest, NamesTheInitialStoreUntilSwitched) {
  testing::TempDir tmp;
  const std::string member = tmp.path();
  EXPECT_EQ(ActiveStoreDirName(member).value(), "kv");
  fs::create_directories(fs::path(member) / "kv-120-17");
  ASSERT_TRUE(SetActiveStoreDir(member, "kv-120-17").ok());
  EXPECT_EQ(ActiveStoreDirName(member).value(), "kv-120-17");
  EXPECT_FALSE(fs::exists(fs::path(member) / "kv.current.tmp"));
}

TEST(StoreDirTest, DamagedPointerIsCorruptionNamingTheFile) {
  testing::TempDir tmp;
  const std::string member = tmp.path();
  for (const std::string& content : std::vector<std::string>{
           "../etc\n", "kv-1-2.incoming\n", "kv-9-9\n", std::string(300, 'k')}) {
    std::ofstream(fs::path(member) / "kv.current") << content;
    Result<std::string> r = ActiveStoreDirName(member);
    ASSERT_FALSE(r.ok()) << content;
    EXPECT_EQ(r.status().code(), Code::kCorruption);
    EXPECT_NE(r.status().message().find("kv.current"), std::string::npos);
    EXPECT_NE(r.status().message().find("offset 0"), std::string::npos);
  }
}

TEST(StoreDirTest, RemovesEveryStoreButTheActiveOneAndLeavesOtherFiles) {
  testing::TempDir tmp;
  const fs::path member = tmp.path();
  for (const char* d :
       {"kv", "kv-5-1", "kv-7-2.incoming", "kv-8-3.incoming.importing", "wal", "snap", "kv-x"}) {
    fs::create_directories(member / d);
  }
  RemoveInactiveStoreDirs(member.string(), "kv-5-1");
  EXPECT_FALSE(fs::exists(member / "kv"));
  EXPECT_FALSE(fs::exists(member / "kv-7-2.incoming"));
  EXPECT_FALSE(fs::exists(member / "kv-8-3.incoming.importing"));
  EXPECT_TRUE(fs::exists(member / "kv-5-1"));
  EXPECT_TRUE(fs::exists(member / "wal"));
  EXPECT_TRUE(fs::exists(member / "snap"));
  EXPECT_TRUE(fs::exists(member / "kv-x"));  // not a name a store gets
}

TEST(StoreDirTest, StoreDirNames) {
  EXPECT_TRUE(IsStoreDirName("kv"));
  EXPECT_TRUE(IsStoreDirName("kv-1-2"));
  EXPECT_TRUE(IsStoreDirName("kv-1-2.incoming"));
  EXPECT_TRUE(IsStoreDirName("kv-1-2.incoming.importing"));
  EXPECT_FALSE(IsStoreDirName("kv-1"));
  EXPECT_FALSE(IsStoreDirName("kv--2"));
  EXPECT_FALSE(IsStoreDirName("kv-a-2"));
  EXPECT_FALSE(IsStoreDirName("wal"));
  EXPECT_FALSE(IsStoreDirName(".incoming"));
}

}  // namespace
}  // namespace grid::kv
