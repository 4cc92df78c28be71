// The per-request path allocates nothing: finding a group's health, filling the pick view and
// reporting outcomes (including ejections and refused ejections). Counts every operator new in
// this binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "router/health/health_index.h"
#include "router/health/test_util.h"
#include "router/table/test_util.h"

namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

// GCC sees ::operator new's built-in meaning through inlining and flags the free() below.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace grid::router::health {
namespace {
using table::testing::SimpleCell;
using table::testing::Source;
using testing::Ms;
using testing::T0;

TEST(HealthAllocationTest, FindFillAndRecordAllocateNothing) {
  auto route_table = table::testing::MustBuild(
      Source()
          .Cell("eu-1", SimpleCell(8, R"("outlier_detection": {"consecutive_5xx": 2,
              "consecutive_connect_failures": 2, "max_ejected_percent": 25})"))
          .get());
  ASSERT_NE(route_table, nullptr);
  auto index = HealthIndex::Build(route_table, nullptr);
  const table::BackendGroup& group = route_table->FindCell("eu-1")->group(0);
  std::vector<balance::BackendState> states(8);

  const size_t before = g_allocations.load();
  size_t ejections = 0;
  for (int round = 0; round < 100; ++round) {
    const TimePoint now = T0() + Ms(round * 1000);
    GroupHealth* health = index->Find(group);
    ASSERT_NE(health, nullptr);
    health->Fill(states, now);
    for (size_t b = 0; b < 8; ++b) {
      health->Record(b, PassiveOutcome::kConnectSuccess, now);
      health->Record(b, PassiveOutcome::kResponse, now);
      ejections += health->Record(b, PassiveOutcome::k5xx, now) ? 1 : 0;
      ejections += health->Record(b, PassiveOutcome::kConnectFailure, now) ? 1 : 0;
      ejections += health->Record(b, PassiveOutcome::k5xx, now) ? 1 : 0;
    }
  }
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_GT(ejections, 0u);
  EXPECT_GT(index->Find(group)->outlier().refused_ejections(), 0u);
}

}  // namespace
}  // namespace grid::router::health
