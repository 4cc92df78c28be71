// Append+Sync of 100 x 256-byte entries: the cost of one group commit.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>

#include "storage/wal/wal.h"

namespace grid::wal {
namespace {

void BM_AppendSync100x256(benchmark::State& state) {
  const char* tmp = getenv("TMPDIR");
  std::string root =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/wal_bench.XXXXXX";
  if (mkdtemp(root.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  Options opts;
  opts.dir = root + "/wal";
  auto created = Wal::Create(opts, Metadata{1, 1});
  if (!created.ok()) {
    state.SkipWithError(created.status().ToString().c_str());
    return;
  }
  std::unique_ptr<Wal> wal = std::move(created).value();
  std::vector<Entry> batch(100);
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
    if (next % 100000 < 100) (void)wal->ReleaseBefore(next);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 100 * 256);
  wal.reset();
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_AppendSync100x256)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace grid::wal

BENCHMARK_MAIN();
