#include "router/health/health_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "router/balance/hash.h"
#include "router/health/health_index.h"
#include "router/health/outlier_detector.h"
#include "router/health/test_util.h"

namespace grid::router::health {
namespace {
using testing::Ms;
using testing::T0;

std::vector<balance::BackendState> Fill(const HealthTable& t, TimePoint now) {
  std::vector<balance::BackendState> states(t.size());
  t.Fill(states, now);
  return states;
}

TEST(HealthTableTest, StartsAvailable) {
  HealthTable t(3);
  for (const auto& s : Fill(t, T0())) EXPECT_TRUE(s.healthy);
  EXPECT_EQ(t.AvailableCount(T0()), 3u);
}

TEST(HealthTableTest, AvailableMeansActivelyHealthyAndNotEjected) {
  HealthTable t(3);
  t.SetActiveHealthy(0, false);
  t.SetEjectedUntil(1, T0() + Ms(10));
  std::vector<balance::BackendState> states(3, {true, 7});
  t.Fill(states, T0());
  EXPECT_FALSE(states[0].healthy);
  EXPECT_FALSE(states[1].healthy);
  EXPECT_TRUE(states[2].healthy);
  EXPECT_EQ(states[2].active_connections, 7u);  // left alone
  EXPECT_FALSE(t.Available(1, T0()));
  EXPECT_TRUE(t.Available(1, T0() + Ms(10)));  // the ejection ends by itself
  EXPECT_EQ(t.AvailableCount(T0() + Ms(10)), 2u);
}

TEST(HealthTableTest, EjectionsAreIgnoredWhileNothingIsInService) {
  HealthTable t(3);
  t.SetEjectedUntil(0, T0() + Ms(10));
  t.SetActiveHealthy(1, false);
  t.SetActiveHealthy(2, false);
  // Backend 0 is ejected and the others are actively down: 0 serves rather than nobody.
  EXPECT_TRUE(t.Available(0, T0()));
  auto states = Fill(t, T0());
  EXPECT_TRUE(states[0].healthy);
  EXPECT_FALSE(states[1].healthy);
  EXPECT_EQ(t.AvailableCount(T0()), 1u);
  // When another backend recovers, the ejection applies again.
  t.SetActiveHealthy(2, true);
  EXPECT_FALSE(t.Available(0, T0()));
  EXPECT_EQ(t.AvailableCount(T0()), 1u);
  // Every backend actively down: the group is empty.
  t.SetActiveHealthy(0, false);
  t.SetActiveHealthy(2, false);
  EXPECT_EQ(t.AvailableCount(T0()), 0u);
  for (const auto& s : Fill(t, T0())) EXPECT_FALSE(s.healthy);
}

TEST(HealthTableDeathTest, SizeLimits) {
  HealthTable big(kMaxBackendsPerGroup);
  EXPECT_EQ(big.size(), kMaxBackendsPerGroup);
  EXPECT_DEATH(HealthTable(kMaxBackendsPerGroup + 1), "backends");
  EXPECT_DEATH(HealthTable(0), "backends");
  std::vector<balance::BackendState> wrong(2);
  HealthTable t(3);
  EXPECT_DEATH(t.Fill(wrong, T0()), "out.size");
}

// Many loop threads read while a checker thread flips active bits and request threads report
// failures and successes. Checked while it runs: a Fill never shows an empty group (backend 0
// stays actively healthy throughout). Checked at the end: ejections within max_ejected_percent
// (a reader's count at a time older than the writers' can include ejections that had ended
// when a later one was decided, so the count is only exact at the latest time).
TEST(HealthTableConcurrencyTest, ReadersSeeAConsistentGroupWhileWritersRun) {
  constexpr size_t kBackends = 16;
  table::OutlierConfig config;
  config.enabled = true;
  config.consecutive_5xx = 3;
  config.consecutive_connect_failures = 2;
  config.base_ejection_ms = 5;
  config.max_ejection_ms = 20;
  config.max_ejected_percent = 25;  // at most 4 of 16
  GroupHealth group(kBackends, config);
  const TimePoint start = T0();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> clock_ms{0};  // shared fake clock, advanced by the checker thread
  auto now = [&] { return start + Ms(clock_ms.load(std::memory_order_relaxed)); };

  std::atomic<uint64_t> fills{0}, violations{0}, records{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      std::vector<balance::BackendState> states(kBackends);
      while (!stop.load(std::memory_order_relaxed)) {
        const TimePoint t = now();
        group.Fill(states, t);
        size_t healthy = 0;
        for (const auto& s : states) healthy += s.healthy ? 1 : 0;
        if (healthy == 0) violations.fetch_add(1);
        fills.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      balance::SplitMix64 rng(w + 1);
      while (!stop.load(std::memory_order_relaxed)) {
        const size_t b = rng.Below(kBackends);
        const uint64_t roll = rng.Below(10);
        const PassiveOutcome o = roll < 4   ? PassiveOutcome::k5xx
                                 : roll < 6 ? PassiveOutcome::kConnectFailure
                                 : roll < 8 ? PassiveOutcome::kConnectSuccess
                                            : PassiveOutcome::kResponse;
        group.Record(b, o, now());
        records.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  // The checker: flips active bits of backends 1.. and moves the clock, for at least 20000
  // steps and until the writers recorded 30000 outcomes (on a busy machine they may start
  // late; the ejection check below needs them to have run).
  threads.emplace_back([&] {
    balance::SplitMix64 rng(99);
    for (int step = 0; step < 20000 || records.load(std::memory_order_relaxed) < 30000; ++step) {
      const size_t b = 1 + rng.Below(kBackends - 1);
      group.table().SetActiveHealthy(b, rng.Below(3) != 0);
      if (step % 50 == 0) clock_ms.fetch_add(1, std::memory_order_relaxed);
    }
    stop.store(true);
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_GT(fills.load(), 0u);
  EXPECT_LE(group.table().EjectedCount(now()), 4u);
  EXPECT_GT(group.outlier().refused_ejections() + group.table().EjectedCount(start), 0u);
  // Everything the writers left is visible to a reader after they stop.
  group.table().SetActiveHealthy(5, false);
  std::thread reader([&] { EXPECT_FALSE(group.table().Available(5, now())); });
  reader.join();
}

// Many threads fail every backend at once: exactly the allowed number is ejected.
TEST(HealthTableConcurrencyTest, ConcurrentFailuresEjectExactlyTheAllowedNumber) {
  constexpr size_t kBackends = 20;
  table::OutlierConfig config;
  config.enabled = true;
  config.consecutive_5xx = 5;
  config.consecutive_connect_failures = 0;
  config.base_ejection_ms = 60000;
  config.max_ejection_ms = 60000;
  config.max_ejected_percent = 40;  // 8 of 20
  GroupHealth group(kBackends, config);
  std::atomic<int> ejections{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        for (size_t b = 0; b < kBackends; ++b) {
          if (group.Record(b, PassiveOutcome::k5xx, T0())) ejections.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ejections.load(), 8);
  EXPECT_EQ(group.table().EjectedCount(T0()), 8u);
  EXPECT_EQ(group.table().AvailableCount(T0()), 12u);
}

}  // namespace
}  // namespace grid::router::health
