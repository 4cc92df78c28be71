#include "router/protect/retry_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace grid::router::protect {
namespace {
using std::chrono::nanoseconds;

TimePoint T0() { return TimePoint(std::chrono::hours(1000)); }

table::RetryBudget Budget(uint32_t percent, uint32_t min_per_s, uint32_t max_per_request = 1) {
  return table::RetryBudget{percent, min_per_s, max_per_request};
}

std::vector<Slot> StartRequests(RetryBudget& b, int n) {
  std::vector<Slot> out;
  for (int i = 0; i < n; ++i) out.push_back(b.StartRequest());
  return out;
}

TEST(RetryBudgetTest, RetriesUpToThePercentOfRequestsInFlight) {
  RetryBudget b(Budget(20, 0), T0());
  auto requests = StartRequests(b, 10);
  Slot r1 = b.TryRetry(T0());
  Slot r2 = b.TryRetry(T0());
  EXPECT_TRUE(r1 && r2);  // exactly 20 % of 10
  Slot r3 = b.TryRetry(T0());
  EXPECT_FALSE(r3);
  EXPECT_EQ(r3.refusal(), Refusal::kRetryBudget);
  EXPECT_EQ(b.retries_in_flight(), 2u);
  r1.Release();
  EXPECT_TRUE(b.TryRetry(T0()));
}

TEST(RetryBudgetTest, ThePercentRoundsDown) {
  RetryBudget b(Budget(20, 0), T0());
  auto requests = StartRequests(b, 9);  // 1.8 retries
  Slot r1 = b.TryRetry(T0());
  EXPECT_TRUE(r1);
  EXPECT_FALSE(b.TryRetry(T0()));
  requests.push_back(b.StartRequest());  // 10 requests: 2 retries
  EXPECT_TRUE(b.TryRetry(T0()));
}

TEST(RetryBudgetTest, NoRequestsNoPercentRetries) {
  RetryBudget b(Budget(100, 0), T0());
  EXPECT_FALSE(b.TryRetry(T0()));
  Slot request = b.StartRequest();
  EXPECT_TRUE(b.TryRetry(T0()));  // 100 % of 1
  request.Release();
  EXPECT_EQ(b.requests_in_flight(), 0u);
}

TEST(RetryBudgetTest, MinRetriesPerSecondAreAlwaysAllowed) {
  RetryBudget b(Budget(0, 3), T0());
  std::vector<Slot> retries;
  for (int i = 0; i < 3; ++i) {
    retries.push_back(b.TryRetry(T0()));
    EXPECT_TRUE(retries.back()) << i;
  }
  EXPECT_FALSE(b.TryRetry(T0()));  // one over the per-second allowance
  EXPECT_FALSE(b.TryRetry(T0() + nanoseconds(333'333'333)));
  EXPECT_TRUE(b.TryRetry(T0() + nanoseconds(333'333'334)));  // refills at exactly 3/s
  EXPECT_EQ(b.retries_in_flight(), 3u);  // the slots held above; the last was dropped
}

TEST(RetryBudgetTest, ThePerSecondAllowanceIsUsedOnlyWhenThePercentRefuses) {
  RetryBudget b(Budget(50, 1), T0());
  auto requests = StartRequests(b, 2);
  Slot r1 = b.TryRetry(T0());  // by percent
  Slot r2 = b.TryRetry(T0());  // by the per-second allowance
  EXPECT_TRUE(r1 && r2);
  EXPECT_FALSE(b.TryRetry(T0()));
}

TEST(RetryBudgetTest, Reconfigure) {
  RetryBudget b(Budget(0, 0, 1), T0());
  auto requests = StartRequests(b, 10);
  EXPECT_FALSE(b.TryRetry(T0()));
  b.Reconfigure(Budget(10, 0, 3), T0());
  EXPECT_EQ(b.max_retries_per_request(), 3u);
  Slot r = b.TryRetry(T0());
  EXPECT_TRUE(r);
  b.Reconfigure(Budget(0, 2, 0), T0());
  Slot r1 = b.TryRetry(T0());
  Slot r2 = b.TryRetry(T0());
  EXPECT_TRUE(r1 && r2);
  EXPECT_FALSE(b.TryRetry(T0()));
}

TEST(RetryBudgetDeathTest, SettingsOutsideTheLimits) {
  EXPECT_DEATH(RetryBudget(Budget(kMaxRetryPercent + 1, 0), T0()), "percent");
  EXPECT_DEATH(RetryBudget(Budget(0, kMaxMinRetriesPerS + 1), T0()), "min_retries_per_s");
  EXPECT_DEATH(RetryBudget(Budget(0, 0, kMaxRetriesPerRequest + 1), T0()), "max_retries");
  RetryBudget top(Budget(kMaxRetryPercent, kMaxMinRetriesPerS, kMaxRetriesPerRequest), T0());
  std::vector<Slot> retries;
  for (uint32_t i = 0; i < kMaxMinRetriesPerS; ++i) retries.push_back(top.TryRetry(T0()));
  EXPECT_TRUE(retries.back());
  EXPECT_FALSE(top.TryRetry(T0()));
}

// Threads race for retries against a fixed number of requests in flight: the number held at
// once never passes the percentage.
TEST(RetryBudgetConcurrencyTest, NeverMoreRetriesThanThePercent) {
  RetryBudget b(Budget(10, 0), T0());
  auto requests = StartRequests(b, 50);  // 5 retries at once
  std::atomic<bool> stop{false};
  std::atomic<int> over{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&] {
      std::vector<Slot> held;
      for (int i = 0; i < 20000; ++i) {
        Slot s = b.TryRetry(T0());
        if (s) held.push_back(std::move(s));
        if (held.size() > 2 || (i % 3 == 0 && !held.empty())) held.pop_back();
      }
    });
  }
  std::thread watcher([&] {
    while (!stop.load()) {
      if (b.retries_in_flight() > 5) over.fetch_add(1);
    }
  });
  for (auto& t : threads) t.join();
  stop.store(true);
  watcher.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(b.retries_in_flight(), 0u);
}

}  // namespace
}  // namespace grid::router::protect
