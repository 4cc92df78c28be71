#include "kv/http/http_message.h"

#include <gtest/gtest.h>

namespace grid::kv::http {
namespace {

ParseResult Parse(std::string_view s, HttpLimits limits = {}) { return ParseRequest(s, limits); }

TEST(ParseRequest, GetWithQueryAndHeaders) {
  const std::string raw =
      "GET /health?exclude=NOSPACE&exclude=CORRUPT HTTP/1.1\r\nHost: x\r\nUser-Agent:  curl \r\n\r\n";
  ParseResult r = Parse(raw);
  ASSERT_EQ(r.state, ParseState::kComplete);
  EXPECT_EQ(r.consumed_bytes, raw.size());
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path, "/health");
  EXPECT_EQ(r.request.query, "exclude=NOSPACE&exclude=CORRUPT");
  EXPECT_EQ(r.request.version_minor, 1);
  ASSERT_NE(r.request.Header("user-agent"), nullptr);
  EXPECT_EQ(*r.request.Header("user-agent"), "curl");
  EXPECT_EQ(r.request.QueryValues("exclude"), (std::vector<std::string>{"NOSPACE", "CORRUPT"}));
  EXPECT_TRUE(r.request.QueryValues("other").empty());
}

TEST(ParseRequest, QueryIsPercentDecoded) {
  ParseResult r = Parse("GET /x?a%20b=c+d%2F HTTP/1.0\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kComplete);
  EXPECT_EQ(r.request.QueryValues("a b"), std::vector<std::string>{"c d/"});
}

TEST(ParseRequest, AbsoluteFormAndBareLineFeeds) {
  ParseResult r = Parse("GET http://127.0.0.1:2379/version?x=1 HTTP/1.1\nHost: h\n\n");
  ASSERT_EQ(r.state, ParseState::kComplete);
  EXPECT_EQ(r.request.path, "/version");
  EXPECT_EQ(r.request.query, "x=1");
}

TEST(ParseRequest, IncompleteUntilTheEmptyLine) {
  const std::string raw = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t n = 0; n < raw.size(); ++n) {
    EXPECT_EQ(Parse(raw.substr(0, n)).state, ParseState::kIncomplete) << n;
  }
  EXPECT_EQ(Parse(raw).state, ParseState::kComplete);
}

TEST(ParseRequest, MalformedIsBadRequest) {
  for (const char* raw : {"GARBAGE\r\n\r\n", "\r\n\r\n", "GET /x\r\n\r\n",
                          "GET /x HTTP/1.1 extra\r\nHost: x\r\n\r\n", "GET x HTTP/1.1\r\nHost: x\r\n\r\n",
                          "GET /x HTTQ/1.1\r\nHost: x\r\n\r\n", "G(T /x HTTP/1.1\r\nHost: x\r\n\r\n",
                          "GET /x HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
                          "GET /x HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
                          "GET /x HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
                          "GET /x HTTP/1.1\r\n\r\n",  // HTTP/1.1 without Host
                          "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                          "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
    ParseResult r = Parse(raw);
    EXPECT_EQ(r.state, ParseState::kError) << raw;
    EXPECT_EQ(r.error_status, 400) << raw;
  }
}

TEST(ParseRequest, UnsupportedVersionAndTransferEncoding) {
  EXPECT_EQ(Parse("GET /x HTTP/2.0\r\n\r\n").error_status, 505);
  EXPECT_EQ(Parse("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").error_status,
            501);
}

TEST(ParseRequest, HeadAtTheLimitPassesOneByteMoreIs431) {
  HttpLimits limits;
  limits.max_head_bytes = 64;
  const std::string start = "GET /x HTTP/1.1\r\nHost: x\r\nX: ";
  const std::string end = "\r\n\r\n";
  const std::string at_limit = start + std::string(64 - start.size() - end.size(), 'a') + end;
  ASSERT_EQ(at_limit.size(), 64u);
  EXPECT_EQ(Parse(at_limit, limits).state, ParseState::kComplete);
  const std::string over = start + std::string(65 - start.size() - end.size(), 'a') + end;
  ParseResult r = Parse(over, limits);
  EXPECT_EQ(r.state, ParseState::kError);
  EXPECT_EQ(r.error_status, 431);
  // Without a terminator: undecided up to the limit, 431 past it.
  EXPECT_EQ(Parse(std::string(64, 'G'), limits).state, ParseState::kIncomplete);
  EXPECT_EQ(Parse(std::string(65, 'G'), limits).error_status, 431);
}

TEST(ParseRequest, BodyAtTheLimitPassesOneByteMoreIs413) {
  HttpLimits limits;
  limits.max_body_bytes = 10;
  const std::string ok = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
  EXPECT_EQ(Parse(ok + "01234", limits).state, ParseState::kIncomplete);
  ParseResult r = Parse(ok + "0123456789GET", limits);
  ASSERT_EQ(r.state, ParseState::kComplete);
  EXPECT_EQ(r.request.body, "0123456789");
  EXPECT_EQ(r.consumed_bytes, ok.size() + 10);
  ParseResult big = Parse("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits);
  EXPECT_EQ(big.state, ParseState::kError);
  EXPECT_EQ(big.error_status, 413);
}

TEST(SerializeResponse, StatusHeadersLengthAndClose) {
  HttpResponse response;
  response.status = 404;
  response.headers = {{"Content-Type", "text/plain"}};
  response.body = "nope";
  const auto epoch = std::chrono::system_clock::time_point{};
  EXPECT_EQ(SerializeResponse(response, false, epoch),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
            "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 4\r\n"
            "Connection: close\r\n\r\nnope");
  const std::string head = SerializeResponse(response, true, epoch);
  EXPECT_NE(head.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

TEST(ErrorResponse, GoStyleText) {
  EXPECT_EQ(ErrorResponse(400).body, "400 Bad Request");
  EXPECT_EQ(ErrorResponse(431).body, "431 Request Header Fields Too Large");
  EXPECT_EQ(ErrorResponse(413).body, "413 Request Entity Too Large");
}

}  // namespace
}  // namespace grid::kv::http
