// The hot path allocates nothing once a parser has seen a message: parsing heads, framing
// bodies and writing heads into a reused string. Counts every operator new in this binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "router/http/body_framer.h"
#include "router/http/head_writer.h"
#include "router/http/request_parser.h"
#include "router/http/response_parser.h"

namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace grid::router::http {
namespace {

TEST(HttpCodecAllocationTest, SteadyStateParsingFramingAndWritingAllocateNothing) {
  std::string request =
      "POST /api/items?x=1 HTTP/1.1\r\nHost: a.example\r\nUser-Agent: t\r\n"
      "Accept: */*\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
      "X-Forwarded-For: 10.0.0.1\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-"
      "b7ad6b7169203331-01\r\nTransfer-Encoding: chunked\r\n";
  for (int i = 0; i < 40; ++i) request += "X-Field-" + std::to_string(i) + ": value\r\n";
  request += "\r\n";
  const std::string body = "5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n";
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n";

  RequestParser rp;
  ResponseParser sp;
  BodyFramer framer(MessageKind::kRequest);
  UpstreamRequestOptions uo;
  uo.client_address = "203.0.113.9";
  uo.request_id = "id-1";
  std::string out;
  size_t before = 0;
  for (int round = 0; round < 3; ++round) {
    if (round == 1) before = g_allocations.load();  // round 0 warms the capacities up
    rp.Reset();
    ASSERT_EQ(rp.Parse(request), ParseState::kComplete);
    framer.Reset(rp.head().framing);
    ASSERT_EQ(framer.Consume(body).state, ParseState::kComplete);
    out.clear();
    (void)AppendUpstreamRequestHead(rp.head(), uo, &out);
    sp.Reset(ResponseContext{Method::kPost, false});
    ASSERT_EQ(sp.Parse(response), ParseState::kComplete);
    out.clear();
    ASSERT_TRUE(AppendClientResponseHead(sp.head(), ClientResponseOptions{}, &out).ok());
  }
  EXPECT_GT(before, 0u) << "the counter counts";
  EXPECT_EQ(g_allocations.load() - before, 0u);
}

}  // namespace
}  // namespace grid::router::http
