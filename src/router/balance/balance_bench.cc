// Pick cost of each policy for a group of backends (all healthy, equal weights).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "router/balance/factory.h"
#include "router/balance/hash.h"

namespace grid::router::balance {
namespace {

void BM_Pick(benchmark::State& state, Policy policy) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<BackendSpec> specs;
  for (size_t i = 0; i < n; ++i) specs.push_back({"10.1.0." + std::to_string(i) + ":80", 1});
  auto balancer = NewBalancer(policy, specs);
  std::vector<BackendState> states(n);
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) keys.push_back("user-" + std::to_string(i));
  SplitMix64 rng(1);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[i++ & 1023];
    PickContext ctx{states, key, key, rng.Next()};
    benchmark::DoNotOptimize(balancer->Pick(ctx));
  }
}

BENCHMARK_CAPTURE(BM_Pick, round_robin, Policy::kRoundRobin)->Arg(8)->Arg(256);
BENCHMARK_CAPTURE(BM_Pick, least_conn, Policy::kLeastConn)->Arg(8)->Arg(256);
BENCHMARK_CAPTURE(BM_Pick, p2c, Policy::kPowerOfTwo)->Arg(8)->Arg(256);
BENCHMARK_CAPTURE(BM_Pick, source_ip_hash, Policy::kSourceIpHash)->Arg(8)->Arg(256);
BENCHMARK_CAPTURE(BM_Pick, ring_hash, Policy::kRingHash)->Arg(8)->Arg(256);
BENCHMARK_CAPTURE(BM_Pick, maglev, Policy::kMaglev)->Arg(8)->Arg(256);

}  // namespace
}  // namespace grid::router::balance

BENCHMARK_MAIN();
