// Request head parsing: results, derived facts, every refusal and every limit (RFC 9112 §2-§7,
// RFC 9110 §7.2, §7.6, §10.1.1).
#include "router/http/request_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "router/http/test_util.h"

namespace grid::router::http {
namespace {

using testing::Outcome;
using testing::ParseByteAtATime;
using testing::ParseOneShot;

// Parses `input` one-shot and byte at a time; both must agree. Returns the one-shot outcome.
Outcome Parse(std::string_view input, const CodecLimits& limits = {}) {
  RequestParser a(limits);
  RequestParser b(limits);
  const Outcome whole = ParseOneShot(a, input);
  const Outcome bytes = ParseByteAtATime(b, input);
  EXPECT_EQ(whole, bytes) << "split changed the outcome for: " << input;
  return whole;
}

void ExpectError(std::string_view input, HttpError error, uint16_t status,
                 const CodecLimits& limits = {}) {
  const Outcome o = Parse(input, limits);
  EXPECT_EQ(o.state, ParseState::kError) << input;
  EXPECT_EQ(HttpErrorName(o.error), HttpErrorName(error)) << input;
  EXPECT_EQ(o.error_status, status) << input;
}

std::string WithHeaders(std::string_view headers) {
  return "GET / HTTP/1.1\r\nHost: example.com\r\n" + std::string(headers) + "\r\n";
}

TEST(HttpRequestParserTest, ParsesASimpleRequest) {
  const std::string in =
      "GET /index.html?q=1 HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "User-Agent: test\r\n"
      "Accept:*/*  \r\n"
      "\r\n";
  RequestParser p;
  ASSERT_EQ(p.Parse(in), ParseState::kComplete);
  const RequestHead& h = p.head();
  EXPECT_EQ(h.method_name, "GET");
  EXPECT_EQ(h.method, Method::kGet);
  EXPECT_EQ(h.target, "/index.html?q=1");
  EXPECT_EQ(h.target_form, TargetForm::kOrigin);
  EXPECT_EQ(h.version, HttpVersion::kHttp11);
  ASSERT_EQ(h.headers.size(), 3u);
  EXPECT_EQ(h.headers[0].name, "Host");
  EXPECT_EQ(h.headers[0].value, "example.com");
  EXPECT_EQ(h.headers[2].name, "Accept");
  EXPECT_EQ(h.headers[2].value, "*/*");
  EXPECT_EQ(h.host, "example.com");
  EXPECT_EQ(h.framing.kind, BodyKind::kNone);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.upgrade);
  EXPECT_FALSE(h.expect_continue);
  EXPECT_EQ(h.head_bytes, in.size());
  EXPECT_EQ(FindHeader(h.headers, "user-agent"), "test");
  EXPECT_EQ(FindHeader(h.headers, "cookie"), std::nullopt);
}

TEST(HttpRequestParserTest, NeedsMoreUntilTheEmptyLine) {
  const std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestParser p;
  for (size_t n = 0; n < in.size(); ++n) {
    ASSERT_EQ(p.Parse(std::string_view(in).substr(0, n)), ParseState::kNeedMore) << n;
  }
  EXPECT_EQ(p.Parse(in), ParseState::kComplete);
  EXPECT_EQ(p.Parse(in), ParseState::kComplete) << "sticky";
}

TEST(HttpRequestParserTest, HeadBytesExcludeTheBodyAndTheNextRequest) {
  const std::string head = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  const std::string in = head + "hello" + "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestParser p;
  ASSERT_EQ(p.Parse(in), ParseState::kComplete);
  EXPECT_EQ(p.head().head_bytes, head.size());
  EXPECT_EQ(p.head().framing.kind, BodyKind::kContentLength);
  EXPECT_EQ(p.head().framing.content_length, 5u);
}

TEST(HttpRequestParserTest, MethodsAreClassifiedCaseSensitively) {
  struct Case {
    const char* name;
    Method method;
  };
  for (const Case& c : {Case{"GET", Method::kGet}, Case{"HEAD", Method::kHead},
                        Case{"POST", Method::kPost}, Case{"PUT", Method::kPut},
                        Case{"DELETE", Method::kDelete}, Case{"OPTIONS", Method::kOptions},
                        Case{"TRACE", Method::kTrace}, Case{"PATCH", Method::kPatch},
                        Case{"get", Method::kOther}, Case{"PROPFIND", Method::kOther}}) {
    RequestParser p;
    const std::string in = std::string(c.name) + " / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(p.Parse(in), ParseState::kComplete) << c.name;
    EXPECT_EQ(p.head().method, c.method) << c.name;
    EXPECT_EQ(p.head().method_name, c.name);
  }
}

TEST(HttpRequestParserTest, TargetForms) {
  RequestParser p;
  ASSERT_EQ(p.Parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), ParseState::kComplete);
  EXPECT_EQ(p.head().target_form, TargetForm::kAsterisk);

  p.Reset();
  ASSERT_EQ(p.Parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
            ParseState::kComplete);
  EXPECT_EQ(p.head().target_form, TargetForm::kAuthority);
  EXPECT_EQ(p.head().host, "example.com:443");

  p.Reset();
  ASSERT_EQ(p.Parse("CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: x\r\n\r\n"),
            ParseState::kComplete);
  EXPECT_EQ(p.head().host, "[2001:db8::1]:8443");

  p.Reset();
  ASSERT_EQ(p.Parse("GET http://origin.example:8080/a/b?c=d HTTP/1.1\r\nHost: other\r\n\r\n"),
            ParseState::kComplete);
  EXPECT_EQ(p.head().target_form, TargetForm::kAbsolute);
  EXPECT_EQ(p.head().host, "origin.example:8080") << "RFC 9112 §3.2.2: Host is ignored";

  p.Reset();
  ASSERT_EQ(p.Parse("GET https://origin.example?x HTTP/1.1\r\nHost: o\r\n\r\n"),
            ParseState::kComplete);
  EXPECT_EQ(p.head().host, "origin.example");
}

TEST(HttpRequestParserTest, BadTargetsAreRefused) {
  ExpectError("GET * HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
  ExpectError("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
  ExpectError("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
  ExpectError("CONNECT example.com:x HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
  ExpectError("GET example.com/a HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
  ExpectError("GET http://user@example.com/ HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget,
              400);
  ExpectError("GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
  ExpectError("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
  ExpectError("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
  ExpectError(std::string("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 30), HttpError::kBadTarget, 400);
  ExpectError("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadTarget, 400);
}

TEST(HttpRequestParserTest, MalformedRequestLinesAreRefused) {
  ExpectError("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadRequestLine, 400);
  ExpectError("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadRequestLine, 400);
  ExpectError("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadRequestLine, 400);
  ExpectError(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadRequestLine, 400);
  ExpectError("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HttpError::kBadRequestLine, 400);
  ExpectError("GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", HttpError::kBadRequestLine, 400);
  ExpectError("GET /\r\n\r\n", HttpError::kBadRequestLine, 400);  // HTTP/0.9
  ExpectError("GET\r\n\r\n", HttpError::kBadRequestLine, 400);
}

TEST(HttpRequestParserTest, InvalidMethodCharactersAreRefused) {
  ExpectError("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadMethod, 400);
  ExpectError("G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadMethod, 400);
  ExpectError("GET@ / HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadMethod, 400);
  ExpectError("\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBadMethod, 400);
}

TEST(HttpRequestParserTest, Versions) {
  RequestParser p;
  ASSERT_EQ(p.Parse("GET / HTTP/1.0\r\n\r\n"), ParseState::kComplete);
  EXPECT_EQ(p.head().version, HttpVersion::kHttp10);
  EXPECT_EQ(p.head().host, "");
  for (const char* v : {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0", "HTTP/1.9"}) {
    ExpectError(std::string("GET / ") + v + "\r\nHost: a\r\n\r\n", HttpError::kUnsupportedVersion,
                505);
  }
  for (const char* v :
       {"HTTP/1.10", "http/1.1", "HTTP/1", "HTTP/1.x", "HTTP/11", "HTTPS/1.1", "HTTP-1.1"}) {
    ExpectError(std::string("GET / ") + v + "\r\nHost: a\r\n\r\n", HttpError::kBadVersion, 400);
  }
}

TEST(HttpRequestParserTest, KeepAlive) {
  struct Case {
    const char* version;
    const char* connection;  // nullptr: no Connection field
    bool keep_alive;
  };
  for (const Case& c : {Case{"1.1", nullptr, true}, Case{"1.1", "close", false},
                        Case{"1.1", "Keep-Alive, CLOSE", false}, Case{"1.1", "keep-alive", true},
                        Case{"1.0", nullptr, false}, Case{"1.0", "keep-alive", true},
                        Case{"1.0", "Keep-Alive", true}, Case{"1.0", "keep-alive, close", false},
                        Case{"1.1", "x-foo, ,close", false}}) {
    std::string in = std::string("GET / HTTP/") + c.version + "\r\nHost: a\r\n";
    if (c.connection != nullptr) in += std::string("Connection: ") + c.connection + "\r\n";
    in += "\r\n";
    const Outcome o = Parse(in);
    ASSERT_EQ(o.state, ParseState::kComplete) << in;
    EXPECT_EQ(o.keep_alive, c.keep_alive) << in;
  }
  // Connection tokens spread over several fields count.
  const Outcome o = Parse(WithHeaders("Connection: x-a\r\nConnection: close\r\n"));
  EXPECT_FALSE(o.keep_alive);
}

TEST(HttpRequestParserTest, Upgrade) {
  RequestParser p;
  const std::string in = WithHeaders("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  ASSERT_EQ(p.Parse(in), ParseState::kComplete);
  EXPECT_TRUE(p.head().upgrade);
  EXPECT_EQ(p.head().upgrade_protocols, "websocket");

  EXPECT_FALSE(Parse(WithHeaders("Upgrade: websocket\r\n")).upgrade) << "no Connection token";
  EXPECT_FALSE(Parse(WithHeaders("Connection: upgrade\r\n")).upgrade) << "no Upgrade field";
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n").upgrade)
      << "RFC 9110 §7.8: ignored in HTTP/1.0";
}

TEST(HttpRequestParserTest, ExpectContinue) {
  EXPECT_TRUE(Parse(WithHeaders("Expect: 100-continue\r\n")).expect_continue);
  EXPECT_TRUE(Parse(WithHeaders("Expect: 100-Continue\r\n")).expect_continue);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue)
      << "RFC 9110 §10.1.1: ignored in HTTP/1.0";
  ExpectError(WithHeaders("Expect: 200-ok\r\n"), HttpError::kUnsupportedExpectation, 417);
  ExpectError(WithHeaders("Expect: 100-continue, foo\r\n"), HttpError::kUnsupportedExpectation,
              417);
  EXPECT_EQ(Parse("GET / HTTP/1.0\r\nExpect: foo\r\n\r\n").state, ParseState::kComplete);
}

TEST(HttpRequestParserTest, Host) {
  ExpectError("GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n", HttpError::kMissingHost, 400);
  ExpectError("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", HttpError::kDuplicateHost, 400);
  ExpectError("GET / HTTP/1.1\r\nhost: a\r\nHOST: b\r\n\r\n", HttpError::kDuplicateHost, 400);
  ExpectError("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HttpError::kBadHost, 400);
  ExpectError("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", HttpError::kBadHost, 400);
  ExpectError("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", HttpError::kBadHost, 400);
  ExpectError("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", HttpError::kDuplicateHost, 400);
  const Outcome empty = Parse("GET / HTTP/1.1\r\nHost:\r\n\r\n");
  ASSERT_EQ(empty.state, ParseState::kComplete) << "RFC 9110 §7.2 allows an empty Host";
  EXPECT_EQ(empty.host, "");
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").host, "[::1]:8080");
}

TEST(HttpRequestParserTest, ContentLength) {
  const Outcome o = Parse(WithHeaders("Content-Length: 0042\r\n"));
  ASSERT_EQ(o.state, ParseState::kComplete);
  EXPECT_EQ(o.body, BodyKind::kContentLength);
  EXPECT_EQ(o.content_length, 42u);
  const Outcome max = Parse(WithHeaders("Content-Length: 9223372036854775807\r\n"));
  ASSERT_EQ(max.state, ParseState::kComplete);
  EXPECT_EQ(max.content_length, kMaxBodyLength);

  ExpectError(WithHeaders("Content-Length: 5\r\nContent-Length: 5\r\n"),
              HttpError::kDuplicateContentLength, 400);
  ExpectError(WithHeaders("Content-Length: 5\r\nContent-Length: 6\r\n"),
              HttpError::kDuplicateContentLength, 400);
  for (const char* bad : {"5, 5", "+5", "-1", "0x10", "1 2", "abc", "", "5;", "１"}) {
    ExpectError(WithHeaders(std::string("Content-Length: ") + bad + "\r\n"),
                HttpError::kBadContentLength, 400);
  }
  for (const char* big : {"9223372036854775808", "18446744073709551615", "18446744073709551616",
                          "99999999999999999999999999"}) {
    ExpectError(WithHeaders(std::string("Content-Length: ") + big + "\r\n"),
                HttpError::kContentLengthOverflow, 400);
  }
}

TEST(HttpRequestParserTest, TransferEncoding) {
  for (const char* ok : {"chunked", "Chunked", "CHUNKED"}) {
    const Outcome o = Parse(WithHeaders(std::string("Transfer-Encoding: ") + ok + "\r\n"));
    ASSERT_EQ(o.state, ParseState::kComplete) << ok;
    EXPECT_EQ(o.body, BodyKind::kChunked);
  }
  ExpectError(WithHeaders("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
              HttpError::kContentLengthWithTransferEncoding, 400);
  ExpectError(WithHeaders("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
              HttpError::kContentLengthWithTransferEncoding, 400);
  for (const char* bad : {"gzip", "chunked, gzip", "chunked, chunked", "chunked,", ", chunked", "",
                          "chunked;x=1", "identity"}) {
    ExpectError(WithHeaders(std::string("Transfer-Encoding: ") + bad + "\r\n"),
                HttpError::kTransferEncodingNotChunked, 400);
  }
  ExpectError(WithHeaders("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
              HttpError::kTransferEncodingNotChunked, 400);
  ExpectError(WithHeaders("Transfer-Encoding: gzip, chunked\r\n"),
              HttpError::kUnsupportedTransferCoding, 501);
  ExpectError(WithHeaders("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
              HttpError::kUnsupportedTransferCoding, 501);
  ExpectError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
              HttpError::kTransferEncodingInHttp10, 400);
}

TEST(HttpRequestParserTest, FieldLineSyntax) {
  ExpectError(WithHeaders("X-A: 1\r\n folded\r\n"), HttpError::kObsFold, 400);
  ExpectError(WithHeaders("X-A: 1\r\n\tfolded\r\n"), HttpError::kObsFold, 400);
  // Whitespace before the first field (RFC 9112 §2.2).
  ExpectError("GET / HTTP/1.1\r\n Host: a\r\n\r\n", HttpError::kObsFold, 400);
  ExpectError("GET / HTTP/1.1\r\nHost : a\r\n\r\n", HttpError::kSpaceBeforeColon, 400);
  ExpectError("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", HttpError::kSpaceBeforeColon, 400);
  ExpectError(WithHeaders("X(A): 1\r\n"), HttpError::kBadHeaderName, 400);
  ExpectError(WithHeaders("X\x01"
                          "A: 1\r\n"),
              HttpError::kBadHeaderName, 400);
  ExpectError(WithHeaders("X\xc3\xa9: 1\r\n"), HttpError::kBadHeaderName, 400);
  ExpectError(WithHeaders(": 1\r\n"), HttpError::kBadHeaderName, 400);
  ExpectError(WithHeaders("NoColon\r\n"), HttpError::kBadHeaderName, 400);
  ExpectError(WithHeaders("X-A: 1\x01"
                          "2\r\n"),
              HttpError::kBadHeaderValue, 400);
  ExpectError(WithHeaders("X-A: \x7f\r\n"), HttpError::kBadHeaderValue, 400);
  ExpectError(WithHeaders("X-A: abcdefghijklmnop\x1bqrstuvwxyz\r\n"), HttpError::kBadHeaderValue,
              400);
  ExpectError(WithHeaders(std::string("X-A: a\0b\r\n", 10)), HttpError::kBadHeaderValue, 400);

  const Outcome o = Parse(WithHeaders("X-Empty:\r\nX-Tabs:\t a\tb \t\r\nX-Obs: caf\xc3\xa9\r\n"));
  ASSERT_EQ(o.state, ParseState::kComplete);
  EXPECT_EQ(o.headers[1], (std::pair<std::string, std::string>("X-Empty", "")));
  EXPECT_EQ(o.headers[2], (std::pair<std::string, std::string>("X-Tabs", "a\tb")));
  EXPECT_EQ(o.headers[3], (std::pair<std::string, std::string>("X-Obs", "caf\xc3\xa9")))
      << "obs-text is allowed in values";
}

TEST(HttpRequestParserTest, BareLfIsRefused) {
  ExpectError("GET / HTTP/1.1\nHost: a\r\n\r\n", HttpError::kBareLf, 400);
  ExpectError("GET / HTTP/1.1\r\nHost: a\n\r\n", HttpError::kBareLf, 400);
  ExpectError("GET / HTTP/1.1\r\nHost: a\r\n\n", HttpError::kBareLf, 400);
  ExpectError("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBareLf, 400);
}

TEST(HttpRequestParserTest, BareCrIsRefused) {
  ExpectError("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", HttpError::kBareCr, 400);
  ExpectError("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", HttpError::kBareCr, 400);
  ExpectError("GET / HTTP/1.1\r\nX\r: a\r\nHost: a\r\n\r\n", HttpError::kBareCr, 400);
  ExpectError("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", HttpError::kBareCr, 400);
}

TEST(HttpRequestParserTest, LeadingEmptyLinesUpToTheLimit) {
  CodecLimits limits;
  limits.max_leading_empty_lines = 2;
  const std::string req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const Outcome at = Parse("\r\n\r\n" + req, limits);
  ASSERT_EQ(at.state, ParseState::kComplete);
  EXPECT_EQ(at.head_bytes, req.size() + 4) << "skipped lines belong to the head";
  ExpectError("\r\n\r\n\r\n" + req, HttpError::kBadRequestLine, 400, limits);
  EXPECT_EQ(Parse("\r\n\r\n\r\n\r\n" + req).state, ParseState::kComplete) << "default 4";
  ExpectError("\r\n\r\n\r\n\r\n\r\n" + req, HttpError::kBadRequestLine, 400);
}

// Request line of exactly `bytes` bytes (CRLF excluded).
std::string RequestLineOf(size_t bytes) {
  const std::string fixed = "GET / HTTP/1.1";
  return "GET /" + std::string(bytes - fixed.size(), 'a') + " HTTP/1.1";
}

TEST(HttpRequestParserTest, RequestLineLimit) {
  for (size_t limit : {size_t{64}, CodecLimits().max_request_line_bytes}) {
    CodecLimits limits;
    limits.max_request_line_bytes = limit;
    const std::string rest = "\r\nHost: a\r\n\r\n";
    EXPECT_EQ(Parse(RequestLineOf(limit) + rest, limits).state, ParseState::kComplete) << limit;
    ExpectError(RequestLineOf(limit + 1) + rest, HttpError::kRequestLineTooLong, 414, limits);

    // Refused as soon as the line can no longer fit, before its end arrives.
    RequestParser p(limits);
    const std::string at = RequestLineOf(limit);
    EXPECT_EQ(p.Parse(at), ParseState::kNeedMore);
    EXPECT_EQ(p.Parse(at + "\r"), ParseState::kNeedMore);
    p.Reset();
    EXPECT_EQ(p.Parse(RequestLineOf(limit + 1)), ParseState::kError);
    EXPECT_EQ(p.error().status, 414);
  }
}

// A head whose header section (fields, their CRLFs and the final CRLF) is exactly `bytes`.
std::string HeadWithHeaderSectionOf(size_t bytes) {
  const std::string host = "Host: a\r\n";
  const std::string pad_name = "X-Pad: ";
  const size_t pad = bytes - host.size() - pad_name.size() - 2 - 2;
  return "GET / HTTP/1.1\r\n" + host + pad_name + std::string(pad, 'p') + "\r\n\r\n";
}

TEST(HttpRequestParserTest, HeaderSectionLimit) {
  for (size_t limit : {size_t{100}, CodecLimits().max_header_bytes}) {
    CodecLimits limits;
    limits.max_header_bytes = limit;
    const Outcome at = Parse(HeadWithHeaderSectionOf(limit), limits);
    ASSERT_EQ(at.state, ParseState::kComplete) << limit;
    EXPECT_EQ(at.head_bytes, std::string("GET / HTTP/1.1\r\n").size() + limit);
    ExpectError(HeadWithHeaderSectionOf(limit + 1), HttpError::kHeaderSectionTooLarge, 431, limits);
  }
  // Refused while the head is still arriving.
  CodecLimits limits;
  limits.max_header_bytes = 100;
  RequestParser p(limits);
  const std::string partial = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(100, 'x');
  EXPECT_EQ(p.Parse(partial), ParseState::kError);
  EXPECT_EQ(p.error().code, HttpError::kHeaderSectionTooLarge);
}

TEST(HttpRequestParserTest, HeaderCountLimit) {
  for (size_t limit : {size_t{3}, CodecLimits().max_header_count}) {
    CodecLimits limits;
    limits.max_header_count = limit;
    std::string fields = "Host: a\r\n";
    for (size_t i = 1; i < limit; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
    const std::string at = "GET / HTTP/1.1\r\n" + fields + "\r\n";
    const Outcome o = Parse(at, limits);
    ASSERT_EQ(o.state, ParseState::kComplete) << limit;
    EXPECT_EQ(o.headers.size(), limit);
    ExpectError("GET / HTTP/1.1\r\n" + fields + "X-Over: v\r\n\r\n", HttpError::kTooManyHeaders,
                431, limits);
  }
}

TEST(HttpRequestParserTest, HeaderSectionRefusedOnceItCanNotEndInTime) {
  CodecLimits limits;
  limits.max_header_bytes = 20;
  const std::string line = "GET / HTTP/1.1\r\n";
  // 19 bytes of section: the 20th byte must be the final LF, so the 19th must be a CR.
  RequestParser p(limits);
  EXPECT_EQ(p.Parse(line + "Host: aaaaaaaaaa\r\n\r"), ParseState::kNeedMore);
  p.Reset();
  EXPECT_EQ(p.Parse(line + "Host: aaaaaaaaaa\r\nX"), ParseState::kError);
  EXPECT_EQ(p.error().code, HttpError::kHeaderSectionTooLarge);
}

TEST(HttpRequestParserTest, TheBufferMayMoveBetweenCalls) {
  const std::string in = "PUT /obj HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nab";
  RequestParser p;
  std::vector<std::string> copies;  // every call sees a new, separately allocated copy
  ParseState state = ParseState::kNeedMore;
  for (size_t n = 1; n <= in.size() && state == ParseState::kNeedMore; ++n) {
    copies.push_back(in.substr(0, n));
    state = p.Parse(copies.back());
  }
  ASSERT_EQ(state, ParseState::kComplete);
  const std::string& last = copies.back();
  const RequestHead& h = p.head();
  EXPECT_EQ(h.target, "/obj");
  EXPECT_EQ(h.target.data(), last.data() + 4) << "views point into the completing buffer";
  EXPECT_EQ(h.headers[1].value, "1");
  EXPECT_EQ(h.headers[1].value.data(), last.data() + last.find("1\r\nContent"));
  EXPECT_EQ(h.host.data(), last.data() + last.find("h\r\n"));
}

TEST(HttpRequestParserTest, ErrorsAreSticky) {
  RequestParser p;
  ASSERT_EQ(p.Parse("GET / HTTP/1.1\nHost: a\r\n\r\n"), ParseState::kError);
  EXPECT_EQ(p.Parse("GET / HTTP/1.1\nHost: a\r\n\r\nmore"), ParseState::kError);
  EXPECT_EQ(p.error().code, HttpError::kBareLf);
  p.Reset();
  EXPECT_EQ(p.Parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseState::kComplete);
}

TEST(HttpRequestParserTest, PipelinedRequestsParseOneAfterAnother) {
  const std::string in =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
      "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;x=y\r\ndef\r\n0\r\nT: v\r\n\r\n"
      "DELETE /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  RequestParser p;
  BodyFramer body(MessageKind::kRequest);
  std::vector<std::string> targets;
  size_t at = 0;
  while (at < in.size()) {
    p.Reset();
    ASSERT_EQ(p.Parse(std::string_view(in).substr(at)), ParseState::kComplete) << at;
    targets.emplace_back(p.head().target);
    at += p.head().head_bytes;
    body.Reset(p.head().framing);
    const FrameResult r = body.Consume(std::string_view(in).substr(at));
    ASSERT_EQ(r.state, ParseState::kComplete);
    at += r.body_bytes;
  }
  EXPECT_EQ(at, in.size());
  EXPECT_EQ(targets, (std::vector<std::string>{"/1", "/2", "/3", "/4"}));
  EXPECT_FALSE(p.head().keep_alive);
}

TEST(HttpRequestParserTest, ErrorStatusAndStatusConversion) {
  RequestParser p;
  ASSERT_EQ(p.Parse("GET / HTTP/2.0\r\n\r\n"), ParseState::kError);
  EXPECT_EQ(p.error().status, 505);
  EXPECT_EQ(p.error().reason, "HTTP version not supported");
  const Status s = ToStatus(p.error());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "505 UnsupportedVersion: HTTP version not supported");
  EXPECT_TRUE(ToStatus(CodecError()).ok());
}

}  // namespace
}  // namespace grid::router::http
