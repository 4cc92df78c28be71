// Append+Sync of N x 256-byte entries (the cost of one group commit), with the segment written
// with zeros ahead of the records (Options::zero_ahead_bytes) or not:
// wal_bench --benchmark_filter=AppendSync  (args: entries per sync, zero_ahead_bytes)
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>

#include "storage/wal/wal.h"

namespace grid::wal {
namespace {

void BM_AppendSync(benchmark::State& state) {
  const auto entries_per_sync = static_cast<size_t>(state.range(0));
  const char* tmp = getenv("TMPDIR");
  std::string root =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/wal_bench.XXXXXX";
  if (mkdtemp(root.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  Options opts;
  opts.dir = root + "/wal";
  opts.zero_ahead_bytes = static_cast<uint64_t>(state.range(1));
  auto created = Wal::Create(opts, Metadata{1, 1});
  if (!created.ok()) {
    state.SkipWithError(created.status().ToString().c_str());
    return;
  }
  std::unique_ptr<Wal> wal = std::move(created).value();
  std::vector<Entry> batch(entries_per_sync);
  for (auto& e : batch) e = Entry{1, 0, kEntryNormal, std::string(256, 'v')};
  uint64_t next = 1;
  for (auto _ : state) {
    for (auto& e : batch) e.index = next++;
    HardState hs{1, 1, next - 1};
    Status s = wal->Append(batch, &hs);
    if (s.ok()) s = wal->Sync();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    // Keep the directory small: release everything but the current segment.
    if (next % 100000 < entries_per_sync) (void)wal->ReleaseBefore(next);
  }
  const auto n = static_cast<int64_t>(state.iterations() * entries_per_sync);
  state.SetItemsProcessed(n);
  state.SetBytesProcessed(n * 256);
  wal.reset();
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_AppendSync)
    ->ArgsProduct({{10, 100}, {0, static_cast<int64_t>(kDefaultZeroAheadBytes)}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace grid::wal

BENCHMARK_MAIN();
