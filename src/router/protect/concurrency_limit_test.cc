#include "router/protect/concurrency_limit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "router/table/table_builder.h"
#include "router/table/test_util.h"

namespace grid::router::protect {
namespace {
using table::testing::kPrefix;
using table::testing::SimpleCell;
using table::testing::Source;

table::CellCaps Caps(uint32_t conns, uint32_t pending, uint32_t conns_per_backend,
                     uint32_t pending_per_backend) {
  return table::CellCaps{conns, pending, conns_per_backend, pending_per_backend};
}

// A cell of one group with `n` backends, each with its own counters.
ConcurrencyLimit Make(const table::CellCaps& caps, size_t n) {
  std::vector<std::vector<std::shared_ptr<LimitCounters>>> backends(1);
  for (size_t i = 0; i < n; ++i) backends[0].push_back(std::make_shared<LimitCounters>());
  return ConcurrencyLimit(caps, std::make_shared<LimitCounters>(), std::move(backends));
}

TEST(ConcurrencyLimitTest, BackendConnectionsExactlyAtTheCap) {
  ConcurrencyLimit limits = Make(Caps(100, 100, 2, 100), 2);
  Slot a = limits.TryAcquire(SlotKind::kConnection, 0, 0);
  Slot b = limits.TryAcquire(SlotKind::kConnection, 0, 0);
  EXPECT_TRUE(a && b);
  Slot c = limits.TryAcquire(SlotKind::kConnection, 0, 0);
  EXPECT_FALSE(c);
  EXPECT_EQ(c.refusal(), Refusal::kBackendConnections);
  EXPECT_EQ(limits.connections(0, 0), 2u);
  EXPECT_EQ(limits.cell_connections(), 2u);                     // the refusal took nothing
  EXPECT_TRUE(limits.TryAcquire(SlotKind::kConnection, 0, 1));  // another backend
}

TEST(ConcurrencyLimitTest, CellConnectionsExactlyAtTheCap) {
  ConcurrencyLimit limits = Make(Caps(3, 100, 100, 100), 3);
  std::vector<Slot> held;
  for (size_t i = 0; i < 3; ++i) held.push_back(limits.TryAcquire(SlotKind::kConnection, 0, i));
  for (const Slot& s : held) EXPECT_TRUE(s);
  Slot over = limits.TryAcquire(SlotKind::kConnection, 0, 0);
  EXPECT_EQ(over.refusal(), Refusal::kCellConnections);
  EXPECT_EQ(limits.connections(0, 0), 1u);
  held.pop_back();  // releases one
  EXPECT_EQ(limits.cell_connections(), 2u);
  EXPECT_TRUE(limits.TryAcquire(SlotKind::kConnection, 0, 0));
}

TEST(ConcurrencyLimitTest, PendingRequestsExactlyAtTheCaps) {
  ConcurrencyLimit limits = Make(Caps(100, 2, 100, 1), 2);
  Slot a = limits.TryAcquire(SlotKind::kPendingRequest, 0, 0);
  EXPECT_TRUE(a);
  EXPECT_EQ(limits.TryAcquire(SlotKind::kPendingRequest, 0, 0).refusal(), Refusal::kBackendPending);
  Slot b = limits.TryAcquire(SlotKind::kPendingRequest, 0, 1);
  EXPECT_TRUE(b);
  EXPECT_EQ(limits.TryAcquire(SlotKind::kPendingRequest, 0, 1).refusal(), Refusal::kCellPending);
  EXPECT_EQ(limits.cell_pending(), 2u);
  EXPECT_EQ(limits.cell_connections(), 0u);  // kinds are counted apart
}

// BackendFull says exactly when TryAcquire would refuse at the backend's own caps.
TEST(ConcurrencyLimitTest, BackendFullExactlyAtTheBackendCaps) {
  ConcurrencyLimit limits = Make(Caps(100, 100, 2, 1), 2);
  EXPECT_FALSE(limits.BackendFull(0, 0, true));
  Slot pending = limits.TryAcquire(SlotKind::kPendingRequest, 0, 0);
  EXPECT_TRUE(limits.BackendFull(0, 0, false));  // 1 pending of 1
  EXPECT_FALSE(limits.BackendFull(0, 1, true));
  pending.Release();
  Slot c1 = limits.TryAcquire(SlotKind::kConnection, 0, 1);
  EXPECT_FALSE(limits.BackendFull(0, 1, true));  // 1 connection of 2
  Slot c2 = limits.TryAcquire(SlotKind::kConnection, 0, 1);
  EXPECT_TRUE(limits.BackendFull(0, 1, true));    // a new connection would be refused
  EXPECT_FALSE(limits.BackendFull(0, 1, false));  // an idle pooled one would not be needed
  EXPECT_EQ(limits.TryAcquire(SlotKind::kConnection, 0, 1).refusal(),
            Refusal::kBackendConnections);
}

TEST(ConcurrencyLimitTest, ZeroPendingAllowsNoQueueing) {
  ConcurrencyLimit limits = Make(Caps(100, 0, 100, 0), 1);
  EXPECT_EQ(limits.TryAcquire(SlotKind::kPendingRequest, 0, 0).refusal(), Refusal::kCellPending);
}

TEST(ConcurrencyLimitTest, SlotsAreReleasedOnceByMoveRelease) {
  ConcurrencyLimit limits = Make(Caps(10, 10, 10, 10), 1);
  {
    Slot a = limits.TryAcquire(SlotKind::kConnection, 0, 0);
    Slot moved = std::move(a);
    EXPECT_FALSE(a);  // NOLINT: checking the moved-from state
    EXPECT_EQ(limits.connections(0, 0), 1u);
    moved.Release();
    moved.Release();
    EXPECT_EQ(limits.connections(0, 0), 0u);
    Slot b = limits.TryAcquire(SlotKind::kConnection, 0, 0);
    b = limits.TryAcquire(SlotKind::kConnection, 0, 0);  // the first is given back
    EXPECT_EQ(limits.connections(0, 0), 1u);
  }
  EXPECT_EQ(limits.connections(0, 0), 0u);
  EXPECT_EQ(limits.cell_connections(), 0u);
}

TEST(ConcurrencyLimitTest, FillsActiveConnections) {
  ConcurrencyLimit limits = Make(Caps(10, 10, 10, 10), 3);
  Slot a = limits.TryAcquire(SlotKind::kConnection, 0, 1);
  Slot b = limits.TryAcquire(SlotKind::kConnection, 0, 1);
  Slot c = limits.TryAcquire(SlotKind::kConnection, 0, 2);
  std::vector<balance::BackendState> states(3, {false, 99});
  limits.FillConnections(0, states);
  EXPECT_EQ(states[0].active_connections, 0u);
  EXPECT_EQ(states[1].active_connections, 2u);
  EXPECT_EQ(states[2].active_connections, 1u);
  EXPECT_FALSE(states[0].healthy);  // left alone
}

TEST(ConcurrencyLimitDeathTest, CapsOutsideTheLimits) {
  EXPECT_DEATH(Make(Caps(0, 1, 1, 1), 1), "max_connections");
  EXPECT_DEATH(Make(Caps(kMaxConcurrencyCap + 1, 1, 1, 1), 1), "max_connections");
  EXPECT_DEATH(Make(Caps(1, kMaxConcurrencyCap + 1, 1, 1), 1), "max_pending");
  ConcurrencyLimit top =
      Make(Caps(kMaxConcurrencyCap, kMaxConcurrencyCap, kMaxConcurrencyCap, kMaxConcurrencyCap), 1);
  EXPECT_TRUE(top.TryAcquire(SlotKind::kConnection, 0, 0));
}

// Threads take and give back connection slots on a small cap; a watcher checks the cap holds
// at every moment, and everything is given back at the end.
TEST(ConcurrencyLimitConcurrencyTest, TheCapHoldsUnderContention) {
  ConcurrencyLimit limits = Make(Caps(5, 5, 3, 3), 2);
  std::atomic<bool> stop{false};
  std::atomic<int> over{0}, granted{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 20000; ++i) {
        Slot s = limits.TryAcquire(SlotKind::kConnection, 0, (w + i) % 2);
        if (s) granted.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::thread watcher([&] {
    while (!stop.load()) {
      if (limits.cell_connections() > 5 || limits.connections(0, 0) > 3 ||
          limits.connections(0, 1) > 3) {
        over.fetch_add(1);
      }
    }
  });
  for (auto& t : threads) t.join();
  stop.store(true);
  watcher.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_GT(granted.load(), 0);
  EXPECT_EQ(limits.cell_connections(), 0u);
  EXPECT_EQ(limits.connections(0, 0), 0u);
  EXPECT_EQ(limits.connections(0, 1), 0u);
}

class ConcurrencyIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Source s;
    s.Cell("eu-1", SimpleCell(2, R"("limits": {"max_connections": 10,
        "max_pending_requests": 5, "max_connections_per_backend": 4,
        "max_pending_requests_per_backend": 2})"))
        .Cell("eu-2", SimpleCell(1));
    auto r = builder_.Reset(s.get(), 1);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    table_ = r.value();
  }
  std::shared_ptr<const table::RouteTable> PutCell(const std::string& name,
                                                   const std::string& json) {
    table::KeyChange change{table::KeyChange::Op::kPut, std::string(kPrefix) + "/cells/" + name,
                            json};
    auto r = builder_.Apply(std::span<const table::KeyChange>(&change, 1), 2);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : nullptr;
  }

  table::TableBuilder builder_{kPrefix};
  std::shared_ptr<const table::RouteTable> table_;
};

TEST_F(ConcurrencyIndexTest, CapsComeFromTheCell) {
  auto index = ConcurrencyIndex::Build(table_, nullptr);
  EXPECT_EQ(index->size(), 2u);
  const ConcurrencyLimit* eu1 = index->Find(*table_->FindCell("eu-1"));
  ASSERT_NE(eu1, nullptr);
  EXPECT_EQ(eu1->caps().max_connections, 10u);
  EXPECT_EQ(eu1->caps().max_pending_requests_per_backend, 2u);
  std::vector<Slot> held;
  for (int i = 0; i < 4; ++i) held.push_back(eu1->TryAcquire(SlotKind::kConnection, 0, 0));
  EXPECT_EQ(eu1->TryAcquire(SlotKind::kConnection, 0, 0).refusal(), Refusal::kBackendConnections);
}

TEST_F(ConcurrencyIndexTest, CountersCarryOverAChangedCell) {
  auto first = ConcurrencyIndex::Build(table_, nullptr);
  const ConcurrencyLimit* old = first->Find(*table_->FindCell("eu-1"));
  Slot held = old->TryAcquire(SlotKind::kConnection, 0, 1);  // on 10.0.0.2
  // eu-1 changes: 10.0.0.2 moves to index 0, caps change; eu-2 is untouched.
  auto next = PutCell("eu-1", R"({"backends": [{"address": "10.0.0.2:8080"},
      {"address": "10.0.0.3:8080"}], "limits": {"max_connections": 1}})");
  auto second = ConcurrencyIndex::Build(next, first.get());
  const ConcurrencyLimit* now = second->Find(*next->FindCell("eu-1"));
  EXPECT_NE(now, old);
  EXPECT_EQ(now->connections(0, 0), 1u);
  EXPECT_EQ(now->connections(0, 1), 0u);
  EXPECT_EQ(now->cell_connections(), 1u);
  // The new cap (1) already counts the old slot.
  EXPECT_EQ(now->TryAcquire(SlotKind::kConnection, 0, 1).refusal(), Refusal::kCellConnections);
  held.Release();  // into the shared counters
  EXPECT_EQ(now->cell_connections(), 0u);
  EXPECT_TRUE(now->TryAcquire(SlotKind::kConnection, 0, 1));
  EXPECT_EQ(second->Find(*next->FindCell("eu-2")), first->Find(*table_->FindCell("eu-2")));
}

TEST_F(ConcurrencyIndexTest, AnAddressInBothGroupsHasOneCounter) {
  auto next = PutCell("eu-1", R"({"groups": [
      {"name": "blue", "weight": 50, "backends": [{"address": "10.0.0.1:8080"}]},
      {"name": "green", "weight": 50, "backends": [{"address": "10.0.0.1:8080"}]}],
      "limits": {"max_connections_per_backend": 1}})");
  auto index = ConcurrencyIndex::Build(next, nullptr);
  const ConcurrencyLimit* limits = index->Find(*next->FindCell("eu-1"));
  Slot a = limits->TryAcquire(SlotKind::kConnection, 0, 0);
  EXPECT_TRUE(a);
  EXPECT_EQ(limits->TryAcquire(SlotKind::kConnection, 1, 0).refusal(),
            Refusal::kBackendConnections);
}

}  // namespace
}  // namespace grid::router::protect
