// Upstream response heads: framing per RFC 9112 §6.3 (HEAD, 1xx, 101, 204, 304, CONNECT,
// Content-Length, chunked, until close) and refusals, which all answer 502.
#include "router/http/response_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "router/http/test_util.h"

namespace grid::router::http {
namespace {

using testing::Outcome;
using testing::ParseByteAtATime;
using testing::ParseOneShot;

Outcome Parse(std::string_view input, const ResponseContext& context = {},
              const CodecLimits& limits = {}) {
  ResponseParser a(limits);
  ResponseParser b(limits);
  a.Reset(context);
  b.Reset(context);
  const Outcome whole = ParseOneShot(a, input);
  EXPECT_EQ(whole, ParseByteAtATime(b, input)) << input;
  return whole;
}

void ExpectError(std::string_view input, HttpError error, const ResponseContext& context = {},
                 const CodecLimits& limits = {}) {
  const Outcome o = Parse(input, context, limits);
  EXPECT_EQ(o.state, ParseState::kError) << input;
  EXPECT_EQ(HttpErrorName(o.error), HttpErrorName(error)) << input;
  EXPECT_EQ(o.error_status, 502) << input;
}

constexpr ResponseContext kGet{Method::kGet, false};
constexpr ResponseContext kHead{Method::kHead, false};
constexpr ResponseContext kConnect{Method::kConnect, false};
constexpr ResponseContext kUpgrade{Method::kGet, true};

TEST(HttpResponseParserTest, ParsesAResponse) {
  const std::string in =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world!";
  ResponseParser p;
  ASSERT_EQ(p.Parse(in), ParseState::kComplete);
  const ResponseHead& h = p.head();
  EXPECT_EQ(h.version, HttpVersion::kHttp11);
  EXPECT_EQ(h.status_code, 200);
  EXPECT_EQ(h.reason, "OK");
  ASSERT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.framing.kind, BodyKind::kContentLength);
  EXPECT_EQ(h.framing.content_length, 12u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.interim);
  EXPECT_EQ(h.head_bytes, in.size() - 12);
}

TEST(HttpResponseParserTest, StatusLines) {
  EXPECT_EQ(Parse("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").start,
            "1.1 404 Not Found");
  EXPECT_EQ(Parse("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").start, "1.1 200 ");
  EXPECT_EQ(Parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").start, "1.1 200 ")
      << "a missing SP before an empty reason is accepted";
  EXPECT_EQ(Parse("HTTP/1.0 500 Bad \xc3\xa9\t!\r\n\r\n").start, "1.0 500 Bad \xc3\xa9\t!");
  ExpectError("HTTP/1.1 20 OK\r\n\r\n", HttpError::kBadStatusCode);
  ExpectError("HTTP/1.1 2000 OK\r\n\r\n", HttpError::kBadStatusCode);
  ExpectError("HTTP/1.1 0xx OK\r\n\r\n", HttpError::kBadStatusCode);
  ExpectError("HTTP/1.1 099 OK\r\n\r\n", HttpError::kBadStatusCode);
  ExpectError("HTTP/1.1 600 OK\r\n\r\n", HttpError::kBadStatusCode);
  ExpectError("HTTP/1.1  200 OK\r\n\r\n", HttpError::kBadStatusCode);
  ExpectError("HTTP/1.1 200 O\x01K\r\n\r\n", HttpError::kBadStatusLine);
  ExpectError("HTTP/1.1\r\n\r\n", HttpError::kBadStatusLine);
  ExpectError("ICY 200 OK\r\n\r\n", HttpError::kBadStatusLine);
  ExpectError("HTTP/1.1x200 OK\r\n\r\n", HttpError::kBadStatusLine);
  ExpectError("HTTP/2.0 200 OK\r\n\r\n", HttpError::kUnsupportedVersion);
  ExpectError("HTTP/1.x 200 OK\r\n\r\n", HttpError::kBadVersion);
  ExpectError("\r\nHTTP/1.1 200 OK\r\n\r\n", HttpError::kBadStatusLine);  // no leading lines
}

TEST(HttpResponseParserTest, FramingByRfc9112Section6_3) {
  struct Case {
    std::string in;
    ResponseContext context;
    BodyKind body;
  };
  const std::string cl = "Content-Length: 10\r\n";
  const std::string te = "Transfer-Encoding: chunked\r\n";
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\n" + cl + "\r\n", kHead, BodyKind::kNone},
      {"HTTP/1.1 200 OK\r\n" + te + "\r\n", kHead, BodyKind::kNone},
      {"HTTP/1.1 204 No Content\r\n" + cl + "\r\n", kGet, BodyKind::kNone},
      {"HTTP/1.1 304 Not Modified\r\n" + cl + "\r\n", kGet, BodyKind::kNone},
      {"HTTP/1.1 304 Not Modified\r\n" + te + "\r\n", kGet, BodyKind::kNone},
      {"HTTP/1.1 100 Continue\r\n\r\n", kGet, BodyKind::kNone},
      {"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", kGet, BodyKind::kNone},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
       kUpgrade, BodyKind::kTunnel},
      {"HTTP/1.1 200 Connection established\r\n\r\n", kConnect, BodyKind::kTunnel},
      {"HTTP/1.1 407 Auth\r\n" + cl + "\r\n", kConnect, BodyKind::kContentLength},
      {"HTTP/1.1 200 OK\r\n" + te + "\r\n", kGet, BodyKind::kChunked},
      {"HTTP/1.1 200 OK\r\n" + cl + "\r\n", kGet, BodyKind::kContentLength},
      {"HTTP/1.1 200 OK\r\n\r\n", kGet, BodyKind::kUntilClose},
      {"HTTP/1.0 200 OK\r\n\r\n", kGet, BodyKind::kUntilClose},
      {"HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\n\r\n", kGet, BodyKind::kUntilClose},
  };
  for (const Case& c : cases) {
    const Outcome o = Parse(c.in, c.context);
    ASSERT_EQ(o.state, ParseState::kComplete) << c.in;
    EXPECT_EQ(o.body, c.body) << c.in;
    EXPECT_EQ(o.head_bytes, c.in.size()) << c.in;
  }
}

TEST(HttpResponseParserTest, InterimResponsesAreFollowedByTheFinalOne) {
  const std::string in =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  ResponseParser p;
  size_t at = 0;
  std::vector<uint16_t> codes;
  for (;;) {
    p.Reset(kGet);
    ASSERT_EQ(p.Parse(std::string_view(in).substr(at)), ParseState::kComplete);
    codes.push_back(p.head().status_code);
    at += p.head().head_bytes;
    if (!p.head().interim) break;
  }
  EXPECT_EQ(codes, (std::vector<uint16_t>{100, 103, 201}));
  EXPECT_EQ(in.substr(at), "ok");
}

TEST(HttpResponseParserTest, SwitchingProtocolsOnlyAfterAnUpgradeRequest) {
  const std::string in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
  ExpectError(in, HttpError::kUnexpectedSwitchingProtocols, kGet);
  EXPECT_EQ(Parse(in, kUpgrade).body, BodyKind::kTunnel);
  ExpectError("HTTP/1.0 101 Switching Protocols\r\n\r\n", HttpError::kUnexpectedSwitchingProtocols,
              kUpgrade);
}

TEST(HttpResponseParserTest, KeepAlive) {
  EXPECT_TRUE(Parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_FALSE(
      Parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(Parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_TRUE(
      Parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  EXPECT_FALSE(Parse("HTTP/1.1 200 OK\r\n\r\n").keep_alive) << "until close";
  EXPECT_FALSE(Parse("HTTP/1.1 200 OK\r\n\r\n", kConnect).keep_alive) << "tunnel";
  EXPECT_TRUE(Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").keep_alive);
}

TEST(HttpResponseParserTest, RefusalsAnswer502) {
  const std::string s = "HTTP/1.1 200 OK\r\n";
  ExpectError(s + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
              HttpError::kContentLengthWithTransferEncoding);
  ExpectError(s + "Content-Length: 1\r\nContent-Length: 1\r\n\r\n",
              HttpError::kDuplicateContentLength);
  ExpectError(s + "Content-Length: 1x\r\n\r\n", HttpError::kBadContentLength);
  ExpectError(s + "Content-Length: 99999999999999999999\r\n\r\n",
              HttpError::kContentLengthOverflow);
  ExpectError(s + "Transfer-Encoding: gzip\r\n\r\n", HttpError::kTransferEncodingNotChunked);
  ExpectError(s + "Transfer-Encoding: gzip, chunked\r\n\r\n",
              HttpError::kUnsupportedTransferCoding);
  ExpectError("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
              HttpError::kTransferEncodingInHttp10);
  ExpectError(s + "X: 1\r\n folded\r\n\r\n", HttpError::kObsFold);
  ExpectError(s + "X : 1\r\n\r\n", HttpError::kSpaceBeforeColon);
  ExpectError(s + "X/Y: 1\r\n\r\n", HttpError::kBadHeaderName);
  ExpectError(s + "X: \x01\r\n\r\n", HttpError::kBadHeaderValue);
  ExpectError("HTTP/1.1 200 OK\nX: 1\r\n\r\n", HttpError::kBareLf);
  ExpectError(s + "X: 1\rY: 2\r\n\r\n", HttpError::kBareCr);
  // Framing fields are checked even where they do not frame.
  ExpectError(
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      HttpError::kContentLengthWithTransferEncoding);
  // Request-only fields are not special in responses.
  EXPECT_EQ(Parse(s + "Host: a\r\nHost: b\r\nExpect: x\r\nContent-Length: 0\r\n\r\n").state,
            ParseState::kComplete);
}

TEST(HttpResponseParserTest, StatusLineLimit) {
  CodecLimits limits;
  limits.max_status_line_bytes = 40;
  const std::string fixed = "HTTP/1.1 200 ";
  const std::string at = fixed + std::string(40 - fixed.size(), 'r');
  EXPECT_EQ(Parse(at + "\r\n\r\n", kGet, limits).state, ParseState::kComplete);
  ExpectError(at + "r\r\n\r\n", HttpError::kStatusLineTooLong, kGet, limits);
}

TEST(HttpResponseParserTest, HeaderLimits) {
  CodecLimits limits;
  limits.max_header_count = 2;
  limits.max_header_bytes = 30;
  // "A: 1\r\n" (6) + "B: 12345678901234567\r\n" (22) + "\r\n" (2) = 30
  const std::string s = "HTTP/1.1 204 No Content\r\n";
  EXPECT_EQ(Parse(s + "A: 1\r\nB: 12345678901234567\r\n\r\n", kGet, limits).state,
            ParseState::kComplete);
  ExpectError(s + "A: 1\r\nB: 123456789012345678\r\n\r\n", HttpError::kHeaderSectionTooLarge, kGet,
              limits);
  ExpectError(s + "A: 1\r\nB: 1\r\nC: 1\r\n\r\n", HttpError::kTooManyHeaders, kGet, limits);
}

}  // namespace
}  // namespace grid::router::http
