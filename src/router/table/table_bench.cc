// Table build and rebuild cost with 10,000 tenants, and the cost of resolving one request.
//   ninja router_table_bench && ./router_table_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "router/table/table_builder.h"

namespace grid::router::table {
namespace {

constexpr char kPrefix[] = "/grid/routes";
constexpr int kTenants = 10000;
constexpr int kCells = 20;

std::string CellValue(int backends) {
  std::string v = R"({"policy": "least_conn", "backends": [)";
  for (int i = 0; i < backends; ++i) {
    v += (i ? ", " : "") + std::string(R"({"address": "10.0.0.)") + std::to_string(i + 1) +
         R"(:8080", "weight": 10})";
  }
  return v + R"(], "health_check": {"type": "http", "path": "/healthz"}})";
}

std::string TenantValue(int cell) {
  return R"({"cell": "cell-)" + std::to_string(cell) + R"(", "rate_limit": {"rps": 100, "burst": 200}})";
}

TableSource MakeSource() {
  TableSource s;
  s.prefix = kPrefix;
  s.kvs[std::string(kPrefix) + "/router"] = R"({"tenant_key_sources": [
      {"type": "host", "wildcards": ["*.example.com"]}, {"type": "header", "name": "x-tenant"}]})";
  for (int c = 0; c < kCells; ++c) {
    s.kvs[std::string(kPrefix) + "/cells/cell-" + std::to_string(c)] = CellValue(8);
  }
  for (int t = 0; t < kTenants; ++t) {
    s.kvs[std::string(kPrefix) + "/tenants/tenant-" + std::to_string(t)] = TenantValue(t % kCells);
  }
  return s;
}

void BM_BuildTable10kTenants(benchmark::State& state) {
  const TableSource source = MakeSource();
  for (auto _ : state) {
    auto table = BuildTable(source, 1);
    if (!table.ok()) state.SkipWithError(table.status().ToString().c_str());
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_BuildTable10kTenants)->Unit(benchmark::kMillisecond);

// One watch event that moves a tenant to another cell.
void BM_ApplyTenantPut10kTenants(benchmark::State& state) {
  TableBuilder builder(kPrefix);
  if (!builder.Reset(MakeSource(), 1).ok()) state.SkipWithError("reset");
  int64_t revision = 2;
  for (auto _ : state) {
    KeyChange c{KeyChange::Op::kPut, std::string(kPrefix) + "/tenants/tenant-7",
                TenantValue(static_cast<int>(revision % kCells))};
    auto table = builder.Apply({&c, 1}, revision++);
    if (!table.ok()) state.SkipWithError(table.status().ToString().c_str());
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_ApplyTenantPut10kTenants)->Unit(benchmark::kMillisecond);

// One txn moving every tenant to another cell: 10,000 changes in one delta.
void BM_ApplyMoveOf10kTenants(benchmark::State& state) {
  TableBuilder builder(kPrefix);
  if (!builder.Reset(MakeSource(), 1).ok()) state.SkipWithError("reset");
  int64_t revision = 2;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<KeyChange> delta;
    delta.reserve(kTenants);
    for (int t = 0; t < kTenants; ++t) {
      delta.push_back({KeyChange::Op::kPut, std::string(kPrefix) + "/tenants/tenant-" + std::to_string(t),
                       TenantValue(static_cast<int>((t + revision) % kCells))});
    }
    state.ResumeTiming();
    auto table = builder.Apply(delta, revision++);
    if (!table.ok()) state.SkipWithError(table.status().ToString().c_str());
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_ApplyMoveOf10kTenants)->Unit(benchmark::kMillisecond);

// One watch event that changes a cell's backends.
void BM_ApplyCellPut10kTenants(benchmark::State& state) {
  TableBuilder builder(kPrefix);
  if (!builder.Reset(MakeSource(), 1).ok()) state.SkipWithError("reset");
  int64_t revision = 2;
  for (auto _ : state) {
    KeyChange c{KeyChange::Op::kPut, std::string(kPrefix) + "/cells/cell-3",
                CellValue(static_cast<int>(revision % 2) + 8)};
    auto table = builder.Apply({&c, 1}, revision++);
    if (!table.ok()) state.SkipWithError(table.status().ToString().c_str());
    benchmark::DoNotOptimize(table);
  }
}
BENCHMARK(BM_ApplyCellPut10kTenants)->Unit(benchmark::kMillisecond);

class OneHeader final : public FieldLookup {
 public:
  std::optional<std::string_view> Get(std::string_view name) const override {
    if (name == "x-tenant") return "tenant-4242";
    return std::nullopt;
  }
};

void BM_ResolveByWildcardHost(benchmark::State& state) {
  auto table = BuildTable(MakeSource(), 1).value();
  RequestFacts f;
  f.host = "www.Tenant-4242.example.com:443";
  f.path = "/orders";
  uint64_t roll = 0;
  for (auto _ : state) benchmark::DoNotOptimize(table->Resolve(f, roll++));
}
BENCHMARK(BM_ResolveByWildcardHost);

void BM_ResolveByHeader(benchmark::State& state) {
  auto table = BuildTable(MakeSource(), 1).value();
  OneHeader headers;
  RequestFacts f;
  f.host = "api.internal";
  f.headers = &headers;
  uint64_t roll = 0;
  for (auto _ : state) benchmark::DoNotOptimize(table->Resolve(f, roll++));
}
BENCHMARK(BM_ResolveByHeader);

}  // namespace
}  // namespace grid::router::table

BENCHMARK_MAIN();
