// Heads the proxy sends on: hop-by-hop fields dropped (RFC 9110 §7.6.1), forwarding fields,
// request ids, trace context passed unchanged, connection and framing fields rewritten.
#include "router/http/head_writer.h"

#include <gtest/gtest.h>

#include <string>

#include "router/http/request_parser.h"
#include "router/http/response_parser.h"

namespace grid::router::http {
namespace {

std::string Upstream(std::string_view request, const UpstreamRequestOptions& options,
                     std::string_view* id = nullptr) {
  RequestParser p;
  EXPECT_EQ(p.Parse(request), ParseState::kComplete) << request;
  std::string out;
  const std::string_view sent = AppendUpstreamRequestHead(p.head(), options, &out);
  if (id != nullptr) *id = sent;
  // What is written parses back.
  RequestParser again;
  EXPECT_EQ(again.Parse(out), ParseState::kComplete) << out;
  EXPECT_EQ(again.head().head_bytes, out.size());
  return out;
}

UpstreamRequestOptions Options() {
  UpstreamRequestOptions o;
  o.client_address = "198.51.100.7";
  o.client_scheme = "https";
  o.request_id = "gen-1";
  return o;
}

TEST(HttpHeadWriterTest, RequestKeepsFieldsAndAddsForwardingFields) {
  const std::string in =
      "GET /a?b=c HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
      "Accept: */*\r\n"
      "\r\n";
  std::string_view id;
  const std::string out = Upstream(in, Options(), &id);
  EXPECT_EQ(out,
            "GET /a?b=c HTTP/1.1\r\n"
            "Host: example.com\r\n"
            "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
            "Accept: */*\r\n"
            "Connection: keep-alive\r\n"
            "X-Forwarded-For: 198.51.100.7\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Request-Id: gen-1\r\n"
            "\r\n");
  EXPECT_EQ(id, "gen-1");
}

TEST(HttpHeadWriterTest, RequestDropsHopByHopFields) {
  const std::string in =
      "POST /up HTTP/1.1\r\n"
      "Host: h\r\n"
      "Connection: close, X-Secret , keep-alive\r\n"
      "Keep-Alive: timeout=5\r\n"
      "Proxy-Connection: keep-alive\r\n"
      "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
      "Proxy-Authenticate: Basic\r\n"
      "TE: trailers\r\n"
      "Trailer: X-Sum\r\n"
      "Upgrade: websocket\r\n"
      "x-secret: 1\r\n"
      "X-Kept: 2\r\n"
      "Transfer-Encoding: Chunked\r\n"
      "\r\n";
  const std::string out = Upstream(in, Options());
  EXPECT_EQ(out,
            "POST /up HTTP/1.1\r\n"
            "Host: h\r\n"
            "X-Kept: 2\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Connection: keep-alive\r\n"
            "X-Forwarded-For: 198.51.100.7\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Request-Id: gen-1\r\n"
            "\r\n");
}

TEST(HttpHeadWriterTest, RequestForwardedForAppendsOrReplaces) {
  const std::string in =
      "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\n"
      "X-Forwarded-Proto: http\r\nx-forwarded-for: 10.0.0.2, 10.0.0.3\r\n\r\n";
  UpstreamRequestOptions o = Options();
  std::string out = Upstream(in, o);
  EXPECT_NE(out.find("X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 198.51.100.7\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("X-Forwarded-Proto: https\r\n"), std::string::npos);
  EXPECT_EQ(out.find("X-Forwarded-Proto: http\r\n"), std::string::npos) << "client's replaced";
  EXPECT_EQ(out.find("10.0.0.1\r\n"), std::string::npos);

  o.append_forwarded_for = false;
  out = Upstream(in, o);
  EXPECT_NE(out.find("X-Forwarded-For: 198.51.100.7\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("10.0.0."), std::string::npos) << out;
}

TEST(HttpHeadWriterTest, RequestKeepsTheClientsRequestId) {
  const std::string in =
      "GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id:\r\nx-request-id: abc-123\r\n"
      "X-Request-Id: second\r\n\r\n";
  std::string_view id;
  const std::string out = Upstream(in, Options(), &id);
  EXPECT_EQ(id, "abc-123");
  EXPECT_NE(out.find("x-request-id: abc-123\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("second"), std::string::npos) << out;
  EXPECT_EQ(out.find("gen-1"), std::string::npos) << out;

  UpstreamRequestOptions none = Options();
  none.request_id = "";
  const std::string plain = Upstream("GET / HTTP/1.1\r\nHost: h\r\n\r\n", none, &id);
  EXPECT_EQ(id, "");
  EXPECT_EQ(plain.find("X-Request-Id"), std::string::npos);
}

TEST(HttpHeadWriterTest, RequestUpgradeKeepsUpgrade) {
  const std::string in =
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
      "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  const std::string out = Upstream(in, Options());
  EXPECT_EQ(out,
            "GET /ws HTTP/1.1\r\n"
            "Host: h\r\n"
            "Upgrade: websocket\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Connection: upgrade\r\n"
            "X-Forwarded-For: 198.51.100.7\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Request-Id: gen-1\r\n"
            "\r\n");
}

TEST(HttpHeadWriterTest, RequestAbsoluteFormGoesAsOriginForm) {
  UpstreamRequestOptions o = Options();
  o.request_id = "";
  o.client_address = "";
  EXPECT_EQ(Upstream("GET http://a.example:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n", o),
            "GET /p?q HTTP/1.1\r\nHost: a.example:81\r\nConnection: keep-alive\r\n"
            "X-Forwarded-Proto: https\r\n\r\n");
  EXPECT_EQ(Upstream("GET http://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n", o),
            "GET / HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive\r\n"
            "X-Forwarded-Proto: https\r\n\r\n");
  EXPECT_EQ(Upstream("GET http://a.example?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n", o),
            "GET /?x=1 HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive\r\n"
            "X-Forwarded-Proto: https\r\n\r\n");
}

TEST(HttpHeadWriterTest, RequestFromHttp10) {
  UpstreamRequestOptions o = Options();
  o.request_id = "";
  EXPECT_EQ(Upstream("GET / HTTP/1.0\r\nContent-Length: 2\r\n\r\n", o),
            "GET / HTTP/1.0\r\nContent-Length: 2\r\nHost: \r\nConnection: keep-alive\r\n"
            "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n\r\n");
}

std::string Client(std::string_view response, const ResponseContext& context,
                   const ClientResponseOptions& options) {
  ResponseParser p;
  p.Reset(context);
  EXPECT_EQ(p.Parse(response), ParseState::kComplete) << response;
  std::string out;
  const Status s = AppendClientResponseHead(p.head(), options, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(HttpHeadWriterTest, ResponseDropsHopByHopFields) {
  const std::string in =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/html\r\n"
      "Connection: keep-alive, X-Internal\r\n"
      "Keep-Alive: timeout=60\r\n"
      "X-Internal: secret\r\n"
      "Transfer-Encoding: chunked\r\n"
      "Trailer: X-Sum\r\n"
      "Upgrade: h2c\r\n"
      "\r\n";
  EXPECT_EQ(Client(in, {}, {}),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/html\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(HttpHeadWriterTest, FieldsAreWrittenNameColonSpaceValue) {
  // "name: value" as received is copied as one run; any other spacing is normalised.
  const std::string in =
      "HTTP/1.1 200 OK\r\n"
      "Server: test\r\n"
      "X-A:no-space\r\n"
      "X-B: \t two  \t\r\n"
      "X-C:\r\n"
      "X-D: \r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  EXPECT_EQ(Client(in, {}, {}),
            "HTTP/1.1 200 OK\r\n"
            "Server: test\r\n"
            "X-A: no-space\r\n"
            "X-B: two\r\n"
            "X-C: \r\n"
            "X-D: \r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(HttpHeadWriterTest, ResponseConnectionField) {
  const std::string cl = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  ClientResponseOptions o;
  EXPECT_EQ(Client(cl, {}, o), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  o.keep_alive = false;
  EXPECT_EQ(Client(cl, {}, o), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  o.keep_alive = true;
  o.client_version = HttpVersion::kHttp10;
  EXPECT_EQ(Client(cl, {}, o),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  // A body that ends at close ends the client connection too.
  EXPECT_EQ(Client("HTTP/1.1 200 OK\r\n\r\n", {}, ClientResponseOptions{}),
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
}

TEST(HttpHeadWriterTest, ResponseSwitchingProtocols) {
  const std::string in =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  EXPECT_EQ(Client(in, ResponseContext{Method::kGet, true}, {}),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nConnection: upgrade\r\n\r\n");
}

TEST(HttpHeadWriterTest, ResponseInterimAndRequestId) {
  ClientResponseOptions o;
  o.request_id = "rid-9";
  EXPECT_EQ(Client("HTTP/1.1 100 Continue\r\n\r\n", {}, o),
            "HTTP/1.1 100 Continue\r\nX-Request-Id: rid-9\r\n\r\n");
  EXPECT_EQ(Client("HTTP/1.1 204 No Content\r\nX-Request-Id: up\r\n\r\n", {}, o),
            "HTTP/1.1 204 No Content\r\nX-Request-Id: up\r\n\r\n");
  EXPECT_EQ(Client("HTTP/1.1 204\r\n\r\n", {}, {}), "HTTP/1.1 204 \r\n\r\n");
}

TEST(HttpHeadWriterTest, ResponseThatAnHttp10ClientCanNotTake) {
  ClientResponseOptions o;
  o.client_version = HttpVersion::kHttp10;
  for (const char* in :
       {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    ResponseParser p;
    ASSERT_EQ(p.Parse(in), ParseState::kComplete);
    std::string out = "kept";
    const Status s = AppendClientResponseHead(p.head(), o, &out);
    EXPECT_EQ(s.code(), Code::kFailedPrecondition) << in;
    EXPECT_EQ(out, "kept");
  }
  // A HEAD response with Transfer-Encoding has no body: fine.
  ResponseParser p;
  p.Reset(ResponseContext{Method::kHead, false});
  ASSERT_EQ(p.Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ParseState::kComplete);
  std::string out;
  EXPECT_TRUE(AppendClientResponseHead(p.head(), o, &out).ok());
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HttpHeadWriterTest, AppendsToWhatIsThere) {
  RequestParser p;
  ASSERT_EQ(p.Parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), ParseState::kComplete);
  std::string out = "prefix|";
  UpstreamRequestOptions o;
  (void)AppendUpstreamRequestHead(p.head(), o, &out);
  EXPECT_EQ(out.rfind("prefix|GET / HTTP/1.1\r\n", 0), 0u) << out;
}

}  // namespace
}  // namespace grid::router::http
