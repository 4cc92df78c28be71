#include "mas/bucket/s3_protocol.h"

#include <gtest/gtest.h>

namespace grid::mas::bucket {
namespace {

TEST(XmlTest, ElementsAndEntities) {
  const std::string xml =
      "<?xml version=\"1.0\"?><R xmlns=\"x\"><KeyCount>2</KeyCount><Key>a&amp;b&lt;&#233;&#x41;</Key>"
      "<Key/><Keys>no</Keys></R>";
  auto keys = XmlElements(xml, "Key");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(XmlText(keys[0]), "a&b<\xc3\xa9" "A");
  EXPECT_EQ(keys[1], "");
  EXPECT_EQ(XmlFirst(xml, "KeyCount").value_or(""), "2");
  EXPECT_FALSE(XmlFirst(xml, "Missing").has_value());
  EXPECT_EQ(XmlEscape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
}

TEST(XmlTest, ListObjectsV2Page) {
  const std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated><NextContinuationToken>tok+/=</NextContinuationToken>
  <Contents><Key>p/a</Key><LastModified>2013-09-17T18:07:53.500Z</LastModified>
    <ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/b &amp; c</Key><LastModified>2013-09-17T18:07:54.000Z</LastModified>
    <ETag>"x-2"</ETag><Size>0</Size></Contents>
</ListBucketResult>)";
  auto page = ParseListObjectsV2(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a");
  EXPECT_EQ(page->objects[0].size_bytes, 857);
  EXPECT_EQ(page->objects[0].etag, "599bab3ed2c697f1d26842727561fd94");
  EXPECT_EQ(page->objects[0].modified,
            std::chrono::system_clock::from_time_t(1379441273) + std::chrono::milliseconds(500));
  EXPECT_EQ(page->objects[1].key, "p/b & c");
  EXPECT_EQ(page->objects[1].etag, "x-2");
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "tok+/=");

  EXPECT_FALSE(ParseListObjectsV2("<Error/>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>").ok());
}

TEST(XmlTest, IsoTime) {
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:01Z"), std::chrono::system_clock::from_time_t(1));
  EXPECT_FALSE(ParseIsoTime("yesterday").has_value());
  EXPECT_FALSE(ParseIsoTime("1970-01-01T00:00:01+01:00").has_value());
}

TEST(XmlTest, CompleteBody) {
  EXPECT_EQ(CompleteMultipartUploadBody({{1, "\"e1\""}, {2, "\"e2\""}}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

std::string ErrorBody(const std::string& code) {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>msg of " + code +
         "</Message><RequestId>1</RequestId></Error>";
}

TEST(S3StatusTest, MapsCodes) {
  struct Case {
    int http;
    std::string code;
    Code want;
  };
  for (const Case& c : std::vector<Case>{
           {404, "NoSuchKey", Code::kNotFound},
           {404, "", Code::kNotFound},  // HEAD: no body
           {404, "NoSuchBucket", Code::kFailedPrecondition},
           {403, "AccessDenied", Code::kPermissionDenied},
           {403, "InvalidAccessKeyId", Code::kPermissionDenied},
           {403, "SignatureDoesNotMatch", Code::kPermissionDenied},
           {507, "", Code::kResourceExhausted},
           {400, "EntityTooLarge", Code::kResourceExhausted},
           {403, "QuotaExceeded", Code::kResourceExhausted},
           {503, "SlowDown", Code::kUnavailable},
           {500, "InternalError", Code::kUnavailable},
           {400, "InvalidArgument", Code::kInvalidArgument},
           {405, "MethodNotAllowed", Code::kInvalidArgument},
           {301, "", Code::kInternal},
       }) {
    Status s = S3StatusFromResponse(c.http, c.code.empty() ? "" : ErrorBody(c.code),
                                    "GetObject k in s3://b/p", "s3://b/p");
    EXPECT_EQ(s.code(), c.want) << c.http << " " << c.code << ": " << s.ToString();
    EXPECT_NE(s.message().find("GetObject k"), std::string::npos) << s.message();
    if (!c.code.empty()) {
      EXPECT_NE(s.message().find(c.code), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("msg of " + c.code), std::string::npos) << s.message();
    }
  }
  Status full = S3StatusFromResponse(507, "", "PutObject k", "s3://b/p (http://h:1)");
  EXPECT_NE(full.message().find("bucket s3://b/p (http://h:1) is full"), std::string::npos)
      << full.message();
}

}  // namespace
}  // namespace grid::mas::bucket
