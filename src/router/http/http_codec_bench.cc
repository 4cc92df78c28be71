// Micro-benchmarks of the codec's hot path: parsing a typical browser request head, writing
// the upstream head, and framing a chunked body.
#include <benchmark/benchmark.h>

#include <string>

#include "common/check.h"
#include "router/http/body_framer.h"
#include "router/http/head_writer.h"
#include "router/http/request_parser.h"
#include "router/http/response_parser.h"

namespace grid::router::http {
namespace {

// A typical browser request head: 428 bytes, 8 fields.
const std::string kRequest =
    "GET /api/v1/orders/12345?include=items&currency=EUR HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=4f2a9c1e8b7d6a5f3e2d1c0b9a8f7e6d\r\n"
    "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
    "\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 1532\r\n"
    "Cache-Control: no-store\r\n"
    "Date: Tue, 11 Jun 2024 10:00:00 GMT\r\n"
    "Server: upstream\r\n"
    "\r\n";

void BM_ParseRequestHead(benchmark::State& state) {
  RequestParser p;
  for (auto _ : state) {
    p.Reset();
    const ParseState s = p.Parse(kRequest);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(p.head().headers.data());
  }
  GRID_CHECK(p.head().head_bytes == kRequest.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
  state.counters["head_bytes"] = static_cast<double>(kRequest.size());
}
BENCHMARK(BM_ParseRequestHead);

// The same head arriving in 4 reads of about 100 bytes.
void BM_ParseRequestHeadInFourReads(benchmark::State& state) {
  RequestParser p;
  const size_t quarter = kRequest.size() / 4;
  for (auto _ : state) {
    p.Reset();
    ParseState s = ParseState::kNeedMore;
    for (size_t end : {quarter, 2 * quarter, 3 * quarter, kRequest.size()}) {
      s = p.Parse(std::string_view(kRequest).substr(0, end));
    }
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ParseRequestHeadInFourReads);

void BM_ParseResponseHead(benchmark::State& state) {
  ResponseParser p;
  for (auto _ : state) {
    p.Reset();
    const ParseState s = p.Parse(kResponse);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kResponse.size()));
}
BENCHMARK(BM_ParseResponseHead);

void BM_WriteUpstreamRequestHead(benchmark::State& state) {
  RequestParser p;
  GRID_CHECK(p.Parse(kRequest) == ParseState::kComplete);
  UpstreamRequestOptions o;
  o.client_address = "203.0.113.7";
  o.client_scheme = "https";
  o.request_id = "6f1c2d3e4f5a6b7c";
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(AppendUpstreamRequestHead(p.head(), o, &out));
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_WriteUpstreamRequestHead);

// 64 KiB of payload in 16 chunks of 4 KiB, fed in 16 KiB reads.
void BM_FrameChunkedBody(benchmark::State& state) {
  std::string body;
  for (int i = 0; i < 16; ++i) body += "1000;ext=v\r\n" + std::string(4096, 'd') + "\r\n";
  body += "0\r\n\r\n";
  BodyFramer f(MessageKind::kRequest);
  for (auto _ : state) {
    f.Reset(BodyFraming{BodyKind::kChunked, 0});
    for (size_t at = 0; at < body.size(); at += 16384) {
      benchmark::DoNotOptimize(f.Consume(std::string_view(body).substr(at, 16384)));
    }
  }
  GRID_CHECK(f.state() == ParseState::kComplete);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_FrameChunkedBody);

}  // namespace
}  // namespace grid::router::http

BENCHMARK_MAIN();
