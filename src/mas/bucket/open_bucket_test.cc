#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"
#include "mas/bucket/bucket.h"
#include "mas/bucket/s3_bucket.h"

namespace grid::mas::bucket {
namespace {

S3Options GoodS3() {
  S3Options o;
  o.endpoint = "http://127.0.0.1:9000";
  o.access_key_id = "id";
  o.secret_access_key = "secret";
  return o;
}

TEST(OpenBucketTest, Directory) {
  grid::testing::TempDir dir;
  auto a = OpenBucket("dir://" + dir.path() + "/a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->Describe(), "dir:" + dir.path() + "/a");
  auto b = OpenBucket(dir.path() + "/b/");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->Describe(), "dir:" + dir.path() + "/b");
  EXPECT_EQ(OpenBucket("relative/path").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenBucket("dir://relative").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenBucket("").status().code(), Code::kInvalidArgument);
}

TEST(OpenBucketTest, S3Describe) {
  auto b = OpenBucket("s3://backups/grid/main/", GoodS3());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->Describe(), "s3://backups/grid/main (http://127.0.0.1:9000)");
  auto root = OpenBucket("s3://backups", GoodS3());
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ((*root)->Describe(), "s3://backups (http://127.0.0.1:9000)");
}

TEST(OpenBucketTest, S3RefusesBadOptions) {
  auto code = [](const std::string& url, S3Options o) { return OpenBucket(url, o).status().code(); };
  EXPECT_EQ(code("s3://Bad_Name", GoodS3()), Code::kInvalidArgument);
  EXPECT_EQ(code("s3://ab", GoodS3()), Code::kInvalidArgument);
  EXPECT_EQ(code("s3://bucket/a/../b", GoodS3()), Code::kInvalidArgument);
  S3Options o = GoodS3();
  o.endpoint = "https://127.0.0.1:9000";
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);
  o.endpoint = "http://127.0.0.1:notaport";
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);
  o.endpoint = "http://127.0.0.1:9000/path";
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);

  o = GoodS3();
  o.part_size_bytes = kMinPartSizeBytes;
  EXPECT_TRUE(OpenBucket("s3://bucket", o).ok());
  o.part_size_bytes = kMinPartSizeBytes - 1;
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);
  o.part_size_bytes = kMaxPartSizeBytes;
  EXPECT_TRUE(OpenBucket("s3://bucket", o).ok());
  o.part_size_bytes = kMaxPartSizeBytes + 1;
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);

  o = GoodS3();
  o.list_page_keys = kMaxListPageKeys;
  EXPECT_TRUE(OpenBucket("s3://bucket", o).ok());
  o.list_page_keys = kMaxListPageKeys + 1;
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);
  o.list_page_keys = 0;
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);

  o = GoodS3();
  o.max_listed_objects = kMaxListedObjects;
  EXPECT_TRUE(OpenBucket("s3://bucket", o).ok());
  o.max_listed_objects = kMaxListedObjects + 1;
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);
  o.max_listed_objects = 0;
  EXPECT_EQ(code("s3://bucket", o), Code::kInvalidArgument);
}

TEST(OpenBucketTest, S3TakesTheEnvironment) {
  S3Options empty;
  setenv("GRID_S3_ENDPOINT", "http://localhost:1", 1);
  setenv("AWS_ACCESS_KEY_ID", "env-id", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  unsetenv("AWS_REGION");
  S3Options resolved = ResolveS3Options(empty);
  EXPECT_EQ(resolved.endpoint, "http://localhost:1");
  EXPECT_EQ(resolved.access_key_id, "env-id");
  EXPECT_EQ(resolved.secret_access_key, "env-secret");
  EXPECT_EQ(resolved.region, "us-east-1");
  S3Options given = GoodS3();
  given.region = "eu-west-1";
  EXPECT_EQ(ResolveS3Options(given).endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(ResolveS3Options(given).region, "eu-west-1");
  auto b = OpenBucket("s3://bucket/p", empty);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->Describe(), "s3://bucket/p (http://localhost:1)");

  unsetenv("GRID_S3_ENDPOINT");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(OpenBucket("s3://bucket/p", empty).status().code(), Code::kInvalidArgument);
  S3Options no_keys = GoodS3();
  no_keys.secret_access_key.clear();
  EXPECT_EQ(OpenBucket("s3://bucket/p", no_keys).status().code(), Code::kInvalidArgument);
}

TEST(OpenBucketTest, S3KeyWithPrefixOverS3Limit) {
  auto b = OpenBucket("s3://bucket/prefix", GoodS3());
  ASSERT_TRUE(b.ok());
  // "prefix/" + 1018 bytes = 1025 > S3's 1024, though the key alone is within kMaxObjectKeyBytes.
  Status s = (*b)->PutBytes(std::string(1018, 'k'), "x");
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("S3's limit"), std::string::npos) << s.message();
}

TEST(OpenBucketTest, MultipartPartCountLimitIsExact) {
  EXPECT_EQ(MultipartPartCount(kMinPartSizeBytes, kMinPartSizeBytes).value(), 0);
  EXPECT_EQ(MultipartPartCount(kMinPartSizeBytes + 1, kMinPartSizeBytes).value(), 2);
  EXPECT_EQ(MultipartPartCount(12 << 20, kMinPartSizeBytes).value(), 3);
  const int64_t at_limit = kMinPartSizeBytes * kMaxPartCount;
  EXPECT_EQ(MultipartPartCount(at_limit, kMinPartSizeBytes).value(), kMaxPartCount);
  Status over = MultipartPartCount(at_limit + 1, kMinPartSizeBytes).status();
  EXPECT_EQ(over.code(), Code::kResourceExhausted) << over.ToString();
  EXPECT_NE(over.message().find("part_size_bytes"), std::string::npos) << over.message();
}

TEST(OpenBucketTest, S3RefusesTooManyPartsBeforeSending) {
  // A sparse file one byte over 10000 parts of 5 MiB; nothing listens on the endpoint, so
  // only a check made before any request gives ResourceExhausted.
  grid::testing::TempDir dir;
  const std::string path = dir.path() + "/sparse";
  {
    std::ofstream out(path, std::ios::binary);
  }
  std::filesystem::resize_file(path, static_cast<uintmax_t>(kMinPartSizeBytes * kMaxPartCount + 1));
  S3Options o = GoodS3();
  o.endpoint = "http://127.0.0.1:1";
  o.part_size_bytes = kMinPartSizeBytes;
  auto b = OpenBucket("s3://bucket", o);
  ASSERT_TRUE(b.ok());
  Status s = (*b)->PutFile("huge", path);
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
}

TEST(OpenBucketTest, S3UnreachableIsUnavailable) {
  // Port 1 on loopback: nothing listens.
  S3Options o = GoodS3();
  o.endpoint = "http://127.0.0.1:1";
  o.connect_timeout_seconds = 2;
  auto b = OpenBucket("s3://bucket", o);
  ASSERT_TRUE(b.ok());
  Status s = (*b)->PutBytes("k", "x");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("http://127.0.0.1:1"), std::string::npos) << s.message();
  EXPECT_EQ((*b)->List("").status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace grid::mas::bucket
