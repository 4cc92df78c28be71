// The in-memory key index alone: Put of N new keys (sequential like the etcd benchmark's
// `put --sequential-keys`, or shuffled), then Get of every key; reports bytes of heap per key
// (glibc mallinfo2 before and after).
//   key_index_bench --benchmark_filter=Put   (arg: keys)
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "storage/mvcc/key_index.h"

namespace grid::mvcc {
namespace {

std::vector<std::string> Keys(size_t n, bool shuffled) {
  std::vector<std::string> keys(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i] = std::string(8, '\0');
    for (int b = 0; b < 8; ++b) keys[i][7 - b] = static_cast<char>((i >> (8 * b)) & 0xff);
  }
  if (shuffled) std::shuffle(keys.begin(), keys.end(), std::mt19937_64(1));
  return keys;
}

void BM_Put(benchmark::State& state, bool shuffled) {
  const std::vector<std::string> keys = Keys(static_cast<size_t>(state.range(0)), shuffled);
  double bytes_per_key = 0;
  for (auto _ : state) {
    const size_t before = mallinfo2().uordblks;
    auto index = std::make_unique<TreeIndex>();
    int64_t rev = 1;
    for (const std::string& k : keys) index->Put(k, Revision{rev++, 0});
    bytes_per_key = static_cast<double>(mallinfo2().uordblks - before) / keys.size();
    state.PauseTiming();
    index.reset();
    state.ResumeTiming();
  }
  state.counters["bytes_per_key"] = bytes_per_key;
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Get(benchmark::State& state) {
  const std::vector<std::string> keys = Keys(static_cast<size_t>(state.range(0)), true);
  TreeIndex index;
  int64_t rev = 1;
  for (const std::string& k : keys) index.Put(k, Revision{rev++, 0});
  for (auto _ : state) {
    for (const std::string& k : keys) benchmark::DoNotOptimize(index.Get(k, rev));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK_CAPTURE(BM_Put, sequential, false)->Arg(150'000);
BENCHMARK_CAPTURE(BM_Put, shuffled, true)->Arg(150'000);
BENCHMARK(BM_Get)->Arg(150'000);

}  // namespace
}  // namespace grid::mvcc

BENCHMARK_MAIN();
