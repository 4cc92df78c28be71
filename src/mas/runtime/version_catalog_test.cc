#include "mas/runtime/version_catalog.h"

#include <gtest/gtest.h>

namespace grid::mas::runtime {
namespace {

TEST(VersionCatalogTest, ParsesEntriesAndLooksUp) {
  Result<VersionCatalog> catalog =
      VersionCatalog::FromEntries({"gridkv@1.0=/opt/gridkv-1.0", "etcd@3.4.23=/usr/bin/etcd"});
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  Result<std::string> binary = catalog->Lookup("etcd", "3.4.23");
  ASSERT_TRUE(binary.ok());
  EXPECT_EQ(*binary, "/usr/bin/etcd");
  std::vector<VersionCatalog::Entry> want = {{"etcd", "3.4.23", "/usr/bin/etcd"},
                                             {"gridkv", "1.0", "/opt/gridkv-1.0"}};
  EXPECT_EQ(catalog->List(), want);
}

TEST(VersionCatalogTest, LookupMissNamesWhatIsKnown) {
  VersionCatalog catalog;
  ASSERT_TRUE(catalog.Add("gridkv", "1.0", "/a").ok());
  Result<std::string> binary = catalog.Lookup("gridkv", "1.2");
  EXPECT_EQ(binary.status().code(), Code::kNotFound);
  EXPECT_EQ(binary.status().message(), "no binary for gridkv@1.2 (known: gridkv@1.0)");
  EXPECT_EQ(VersionCatalog().Lookup("etcd", "3").status().message(),
            "no binary for etcd@3 (known: none)");
}

TEST(VersionCatalogTest, BadEntriesAreNamed) {
  for (const std::string entry : {"gridkv1.0=/a", "gridkv@1.0", "@1.0=/a", "gridkv@=/a",
                                  "gridkv@1.0=relative", "GridKV@1.0=/a", "gridkv@1 0=/a",
                                  "gridkv=/a@1.0"}) {
    VersionCatalog catalog;
    Status s = catalog.Parse(entry);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << entry;
    EXPECT_NE(s.message().find("\"" + entry + "\""), std::string::npos) << s.message();
  }
}

TEST(VersionCatalogTest, DuplicateWithAnotherPathIsRefused) {
  VersionCatalog catalog;
  ASSERT_TRUE(catalog.Parse("gridkv@1.0=/a").ok());
  EXPECT_TRUE(catalog.Parse("gridkv@1.0=/a").ok());
  EXPECT_EQ(catalog.Parse("gridkv@1.0=/b").code(), Code::kInvalidArgument);
  EXPECT_EQ(catalog.size(), 1u);
}

TEST(VersionCatalogTest, EntryLimit) {
  VersionCatalog catalog;
  for (size_t i = 0; i < kMaxCatalogEntries; ++i) {
    ASSERT_TRUE(catalog.Add("e", "v" + std::to_string(i), "/bin/x").ok()) << i;
  }
  EXPECT_EQ(catalog.Add("e", "one-more", "/bin/x").code(), Code::kResourceExhausted);
  EXPECT_TRUE(catalog.Add("e", "v0", "/bin/x").ok());  // an equal entry is not a new one
}

TEST(VersionCatalogTest, NameAndPathLimits) {
  VersionCatalog catalog;
  EXPECT_TRUE(catalog.Add(std::string(kMaxCatalogNameBytes, 'e'), "1", "/x").ok());
  EXPECT_FALSE(catalog.Add(std::string(kMaxCatalogNameBytes + 1, 'e'), "1", "/x").ok());
  EXPECT_TRUE(catalog.Add("e", "1", "/" + std::string(kMaxCatalogPathBytes - 1, 'p')).ok());
  EXPECT_FALSE(catalog.Add("e", "2", "/" + std::string(kMaxCatalogPathBytes, 'p')).ok());
}

}  // namespace
}  // namespace grid::mas::runtime
