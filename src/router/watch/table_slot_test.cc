#include "router/watch/table_slot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "router/table/table_builder.h"
#include "router/watch/test_util.h"

namespace grid::router::watch {
namespace {

using testing::CellJson;
using testing::CellKey;
using testing::kPrefix;
using testing::TenantJson;
using testing::TenantKey;

// A table at `revision` whose tenant "t" is in cell "c<revision % 2>".
TablePtr TableAt(int64_t revision) {
  table::TableSource source;
  source.prefix = kPrefix;
  source.kvs[CellKey("c0")] = CellJson(1);
  source.kvs[CellKey("c1")] = CellJson(2);
  source.kvs[TenantKey("t")] = TenantJson("c" + std::to_string(revision % 2));
  auto t = table::BuildTable(source, revision);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? t.value() : nullptr;
}

TEST(TableSlotTest, EmptyUntilPublished) {
  TableSlot slot;
  EXPECT_EQ(slot.Current(), nullptr);
  EXPECT_EQ(slot.generation(), 0u);
  TableReader reader(slot);
  EXPECT_EQ(reader.Get(), nullptr);
  slot.Publish(TableAt(3));
  EXPECT_EQ(slot.generation(), 1u);
  ASSERT_NE(reader.Get(), nullptr);
  EXPECT_EQ(reader.Get()->revision(), 3);
  EXPECT_EQ(slot.Current()->revision(), 3);
}

TEST(TableSlotTest, HolderKeepsItsTableAcrossSwaps) {
  TableSlot slot;
  slot.Publish(TableAt(1));
  TablePtr in_flight = slot.Current();
  slot.Publish(TableAt(2));
  slot.Publish(TableAt(3));
  EXPECT_EQ(in_flight->revision(), 1);  // still whole and usable
  EXPECT_EQ(in_flight->FindTenant("t")->config.cell, "c1");
  EXPECT_EQ(slot.Current()->revision(), 3);
}

TEST(TableSlotTest, SlotDropsTheRetiredTableAtTheNextSwap) {
  TableSlot slot;
  slot.Publish(TableAt(1));
  std::weak_ptr<const table::RouteTable> first = slot.Current();
  slot.Publish(TableAt(2));
  EXPECT_FALSE(first.expired());  // kept as the retired table
  slot.Publish(TableAt(3));
  EXPECT_TRUE(first.expired());
}

// Readers on several threads while the table is swapped: every read sees a whole table whose
// content matches its revision, and a reader never goes back in revisions.
TEST(TableSlotTest, ReadersWhileSwapping) {
  constexpr int kTables = 300;
  constexpr int kReaders = 4;
  std::vector<TablePtr> tables;
  for (int i = 1; i <= kTables; ++i) tables.push_back(TableAt(i));
  TableSlot slot;
  slot.Publish(tables[0]);
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      TableReader reader(slot);
      int64_t last = 0;
      uint64_t n = 0;
      while (!done.load(std::memory_order_relaxed)) {
        TablePtr t = (r % 2 == 0) ? reader.Get() : slot.Current();
        const table::TenantRoute* tenant = t->FindTenant("t");
        if (t->revision() < last || tenant == nullptr ||
            tenant->config.cell != "c" + std::to_string(t->revision() % 2) ||
            t->FindCell(tenant->config.cell) == nullptr) {
          ++errors;
        }
        last = t->revision();
        if (n++ == 0) ++started;
      }
      reads += n;
    });
  }
  ASSERT_TRUE(testing::WaitFor([&] { return started.load() == kReaders; }));
  for (int i = 1; i < kTables; ++i) slot.Publish(tables[i]);
  tables.clear();  // the slot and the readers hold the only references now
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(slot.Current()->revision(), kTables);
}

}  // namespace
}  // namespace grid::router::watch
