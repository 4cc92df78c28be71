// Against AWS's published Signature Version 4 examples: the generic test suite
// (get-vanilla, get-vanilla-query-order-key-case) and the four worked examples of the S3 API
// reference (GET Object, PUT Object, GET Bucket Lifecycle, GET Bucket list objects).
#include "mas/bucket/sigv4.h"

#include <gtest/gtest.h>

#include "mas/bucket/digest.h"

namespace grid::mas::bucket {
namespace {

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, KnownValues) {
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  Sha256 pieces;
  pieces.Update("a");
  pieces.Update("bc");
  EXPECT_EQ(pieces.FinalHex(), Sha256Hex("abc"));
}

TEST(SigV4Test, UriEncode) {
  EXPECT_EQ(UriEncode("a/b c+d$e~f_g-h.i", true), "a/b%20c%2Bd%24e~f_g-h.i");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xc3\xa9", true), "%C3%A9");
}

TEST(SigV4Test, AmzDate) {
  // 2015-08-30T12:36:00Z
  auto t = std::chrono::system_clock::from_time_t(1440938160);
  EXPECT_EQ(AmzDate(t), "20150830T123600Z");
}

// The generic suite: AKIDEXAMPLE, service "service", 20150830T123600Z.
const SigV4Credentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
const SigV4Scope kSuiteScope{"20150830T123600Z", "us-east-1", "service"};

TEST(SigV4Test, SuiteGetVanilla) {
  SigV4Request r{"GET", "/", {}, {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                 kEmptySha256};
  EXPECT_EQ(CanonicalRequest(r),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" + std::string(kEmptySha256));
  EXPECT_EQ(AuthorizationHeader(r, kSuiteScope, kSuiteCredentials),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, SuiteGetVanillaQueryOrderKeyCase) {
  SigV4Request r{"GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}},
                 {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                 kEmptySha256};
  EXPECT_EQ(CanonicalQueryString(r.query), "Param1=value1&Param2=value2");
  EXPECT_EQ(Signature(r, kSuiteScope, kSuiteCredentials),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

// The S3 reference's examples: AKIAIOSFODNN7EXAMPLE, examplebucket, 20130524T000000Z.
const SigV4Credentials kS3Credentials{"AKIAIOSFODNN7EXAMPLE",
                                      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
const SigV4Scope kS3Scope{"20130524T000000Z", "us-east-1", "s3"};
constexpr char kHost[] = "examplebucket.s3.amazonaws.com";

TEST(SigV4Test, S3GetObject) {
  SigV4Request r{"GET", "/test.txt", {},
                 {{"Host", kHost}, {"Range", "bytes=0-9"}, {"x-amz-content-sha256", kEmptySha256},
                  {"x-amz-date", "20130524T000000Z"}},
                 kEmptySha256};
  EXPECT_EQ(CanonicalRequest(r),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" + std::string(kEmptySha256) +
            "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" +
            kEmptySha256);
  EXPECT_EQ(StringToSign(r, kS3Scope),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(Signature(r, kS3Scope, kS3Credentials),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, S3PutObject) {
  const std::string payload = Sha256Hex("Welcome to Amazon S3.");
  EXPECT_EQ(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request r{"PUT", "/" + UriEncode("test$file.text", true), {},
                 {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"Host", kHost},
                  {"x-amz-date", "20130524T000000Z"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                  {"x-amz-content-sha256", payload}},
                 payload};
  EXPECT_EQ(r.canonical_uri, "/test%24file.text");
  EXPECT_EQ(StringToSign(r, kS3Scope),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(Signature(r, kS3Scope, kS3Credentials),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, S3GetBucketLifecycle) {
  SigV4Request r{"GET", "/", {{"lifecycle", ""}},
                 {{"Host", kHost}, {"x-amz-date", "20130524T000000Z"},
                  {"x-amz-content-sha256", kEmptySha256}},
                 kEmptySha256};
  EXPECT_EQ(CanonicalQueryString(r.query), "lifecycle=");
  EXPECT_EQ(StringToSign(r, kS3Scope),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(Signature(r, kS3Scope, kS3Credentials),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Test, S3ListObjects) {
  SigV4Request r{"GET", "/", {{"prefix", "J"}, {"max-keys", "2"}},
                 {{"Host", kHost}, {"x-amz-date", "20130524T000000Z"},
                  {"x-amz-content-sha256", kEmptySha256}},
                 kEmptySha256};
  EXPECT_EQ(CanonicalQueryString(r.query), "max-keys=2&prefix=J");
  EXPECT_EQ(StringToSign(r, kS3Scope),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  EXPECT_EQ(AuthorizationHeader(r, kS3Scope, kS3Credentials),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndCollapsed) {
  SigV4Request r{"GET", "/", {}, {{"Host", "h"}, {"X-Thing", "  a   b  "}}, kEmptySha256};
  EXPECT_NE(CanonicalRequest(r).find("\nx-thing:a b\n"), std::string::npos) << CanonicalRequest(r);
}

}  // namespace
}  // namespace grid::mas::bucket
