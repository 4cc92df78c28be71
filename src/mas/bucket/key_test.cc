#include <gtest/gtest.h>

#include "mas/bucket/bucket.h"

namespace grid::mas::bucket {
namespace {

TEST(ValidateKeyTest, AcceptsPaths) {
  EXPECT_TRUE(ValidateKey("a").ok());
  EXPECT_TRUE(ValidateKey("backups/main/2024-01-01T00:00:00Z/snapshot.db").ok());
  EXPECT_TRUE(ValidateKey("a/..b/c.").ok());
  EXPECT_TRUE(ValidateKey("a/.grid-tmp/b").ok());  // only the full reserved prefix is refused
  EXPECT_TRUE(ValidateKey("utf8/\xc3\xa9t\xc3\xa9 space+plus").ok());
}

TEST(ValidateKeyTest, RefusesEachRule) {
  for (const char* key : {"", "/a", "a/", "a//b", "..", "a/../b", "./a", "a/.",
                          "a/\x01", "a\x7f", ".grid-tmp.1.2", "a/.grid-tmp.x/b"}) {
    Status s = ValidateKey(key);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << "key \"" << key << "\": " << s.ToString();
  }
}

TEST(ValidateKeyTest, LengthLimitIsExact) {
  EXPECT_TRUE(ValidateKey(std::string(kMaxObjectKeyBytes, 'k')).ok());
  Status s = ValidateKey(std::string(kMaxObjectKeyBytes + 1, 'k'));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("1024"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace grid::mas::bucket
