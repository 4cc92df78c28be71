#include "mas/controller/work_queue.h"

#include <chrono>
#include <future>

#include <gtest/gtest.h>

namespace grid::mas::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kTestDeadline = seconds(10);

WorkQueueOptions Opts(FakeClock* clock, size_t max_keys = 100) {
  WorkQueueOptions o;
  o.clock = clock;
  o.max_keys = max_keys;
  o.base_retry_backoff = seconds(1);
  o.max_retry_backoff = seconds(8);
  return o;
}

TEST(WorkQueueTest, AddDeduplicatesQueuedKey) {
  FakeClock clock;
  WorkQueue q(Opts(&clock));
  ASSERT_TRUE(q.Add("KVCluster/main").ok());
  ASSERT_TRUE(q.Add("KVCluster/main").ok());
  ASSERT_TRUE(q.Add("KVCluster/main").ok());
  ASSERT_TRUE(q.Add("RouterFleet/edge").ok());
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(q.Get(), "KVCluster/main");
  EXPECT_EQ(q.Get(), "RouterFleet/edge");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, KeyReAddedWhileProcessingIsQueuedAgainOnlyOnDone) {
  FakeClock clock;
  WorkQueue q(Opts(&clock));
  ASSERT_TRUE(q.Add("a").ok());
  ASSERT_EQ(q.Get(), "a");
  ASSERT_TRUE(q.Add("a").ok());
  ASSERT_TRUE(q.Add("a").ok());
  EXPECT_EQ(q.Len(), 0u) << "a processing key must not be handed out twice";
  EXPECT_EQ(q.Processing(), 1u);
  q.Done("a");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get(), "a");
  q.Done("a");
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.TrackedKeys(), 0u);
}

TEST(WorkQueueTest, BlockedGetWakesOnAddAndNotForAProcessingKey) {
  FakeClock clock;
  WorkQueue q(Opts(&clock));
  ASSERT_TRUE(q.Add("a").ok());
  ASSERT_EQ(q.Get(), "a");
  auto second = std::async(std::launch::async, [&] { return q.Get(); });
  ASSERT_TRUE(q.Add("a").ok());  // dirty only: the waiting Get must not receive it
  ASSERT_TRUE(q.Add("b").ok());
  ASSERT_EQ(second.wait_for(kTestDeadline), std::future_status::ready);
  EXPECT_EQ(second.get(), "b");
  EXPECT_EQ(q.Len(), 0u);
  q.Done("a");
  EXPECT_EQ(q.Get(), "a");
}

TEST(WorkQueueTest, AddAfterWaitsForTheClock) {
  FakeClock clock;
  WorkQueue q(Opts(&clock));
  ASSERT_TRUE(q.AddAfter("a", seconds(10)).ok());
  ASSERT_TRUE(q.AddAfter("a", seconds(20)).ok());  // the earlier due time wins
  EXPECT_EQ(q.Delayed(), 1u);
  EXPECT_EQ(q.Len(), 0u);
  clock.Advance(seconds(9));
  EXPECT_EQ(q.Len(), 0u);
  auto got = std::async(std::launch::async, [&] { return q.Get(); });
  clock.Advance(seconds(1));
  ASSERT_EQ(got.wait_for(kTestDeadline), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");
  EXPECT_EQ(q.Delayed(), 0u);
}

TEST(WorkQueueTest, AddOfADelayedKeyQueuesItNow) {
  FakeClock clock;
  WorkQueue q(Opts(&clock));
  ASSERT_TRUE(q.AddAfter("a", seconds(10)).ok());
  ASSERT_TRUE(q.Add("a").ok());
  EXPECT_EQ(q.Delayed(), 0u);
  EXPECT_EQ(q.Len(), 1u);
  ASSERT_TRUE(q.AddAfter("a", seconds(10)).ok());  // already queued: stays queued once
  EXPECT_EQ(q.Delayed(), 0u);
  EXPECT_EQ(q.Len(), 1u);
  ASSERT_TRUE(q.AddAfter("b", milliseconds(0)).ok());  // no delay: queued now
  EXPECT_EQ(q.Len(), 2u);
}

TEST(WorkQueueTest, RateLimitedBackoffDoublesUpToTheCapAndForgetResets) {
  FakeClock clock;
  WorkQueue q(Opts(&clock));
  EXPECT_EQ(q.BackoffFor(0), seconds(1));
  EXPECT_EQ(q.BackoffFor(1), seconds(2));
  EXPECT_EQ(q.BackoffFor(3), seconds(8));
  EXPECT_EQ(q.BackoffFor(4), seconds(8));
  EXPECT_EQ(q.BackoffFor(1000), seconds(8));

  const Duration expected[] = {seconds(1), seconds(2), seconds(4), seconds(8), seconds(8)};
  for (Duration want : expected) {
    ASSERT_TRUE(q.AddRateLimited("a").ok());
    clock.Advance(want - milliseconds(1));
    EXPECT_EQ(q.Len(), 0u) << "due too early";
    clock.Advance(milliseconds(1));
    ASSERT_EQ(q.Len(), 1u);
    ASSERT_EQ(q.Get(), "a");
    q.Done("a");
  }
  EXPECT_EQ(q.NumRequeues("a"), 5);
  q.Forget("a");
  EXPECT_EQ(q.NumRequeues("a"), 0);
  ASSERT_TRUE(q.AddRateLimited("a").ok());
  clock.Advance(seconds(1));
  EXPECT_EQ(q.Len(), 1u);
}

TEST(WorkQueueTest, MaxKeysRefusesNewKeysAtTheLimit) {
  FakeClock clock;
  WorkQueue q(Opts(&clock, /*max_keys=*/3));
  ASSERT_TRUE(q.Add("a").ok());
  ASSERT_TRUE(q.Add("b").ok());
  ASSERT_TRUE(q.AddAfter("c", seconds(5)).ok());
  EXPECT_EQ(q.TrackedKeys(), 3u);
  Status refused = q.Add("d");
  EXPECT_EQ(refused.code(), Code::kResourceExhausted) << refused.ToString();
  EXPECT_EQ(q.AddAfter("d", seconds(1)).code(), Code::kResourceExhausted);
  EXPECT_EQ(q.AddRateLimited("d").code(), Code::kResourceExhausted);
  EXPECT_EQ(q.NumRequeues("d"), 0);
  // Keys already tracked are still accepted at the limit.
  EXPECT_TRUE(q.Add("a").ok());
  EXPECT_TRUE(q.Add("c").ok());
  EXPECT_EQ(q.TrackedKeys(), 3u);
  // A handed-out key no longer counts until it is re-added.
  ASSERT_EQ(q.Get(), "a");
  EXPECT_TRUE(q.Add("d").ok());
  EXPECT_EQ(q.Add("a").code(), Code::kResourceExhausted);
  q.Done("a");
}

TEST(WorkQueueTest, ShutDownDrainsQueuedAndDirtyKeysThenEnds) {
  FakeClock clock;
  WorkQueue q(Opts(&clock));
  ASSERT_TRUE(q.Add("a").ok());
  ASSERT_EQ(q.Get(), "a");
  ASSERT_TRUE(q.Add("a").ok());  // dirty while processing
  ASSERT_TRUE(q.Add("b").ok());
  ASSERT_TRUE(q.AddAfter("c", seconds(1)).ok());
  q.ShutDown();
  EXPECT_EQ(q.Add("x").code(), Code::kUnavailable);
  EXPECT_EQ(q.AddAfter("x", seconds(1)).code(), Code::kUnavailable);
  EXPECT_EQ(q.Delayed(), 0u) << "delayed keys are dropped at shutdown";
  ASSERT_EQ(q.Get(), "b");
  q.Done("b");
  // "a" is still processing: Get waits for its Done, which queues it again.
  auto next = std::async(std::launch::async, [&] { return q.Get(); });
  q.Done("a");
  ASSERT_EQ(next.wait_for(kTestDeadline), std::future_status::ready);
  EXPECT_EQ(next.get(), "a");
  auto end = std::async(std::launch::async, [&] { return q.Get(); });
  q.Done("a");
  ASSERT_EQ(end.wait_for(kTestDeadline), std::future_status::ready);
  EXPECT_EQ(end.get(), std::nullopt);
  EXPECT_EQ(q.Get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWakesBlockedGets) {
  WorkQueue q;  // real clock
  auto g1 = std::async(std::launch::async, [&] { return q.Get(); });
  auto g2 = std::async(std::launch::async, [&] { return q.Get(); });
  q.ShutDown();
  ASSERT_EQ(g1.wait_for(kTestDeadline), std::future_status::ready);
  ASSERT_EQ(g2.wait_for(kTestDeadline), std::future_status::ready);
  EXPECT_EQ(g1.get(), std::nullopt);
  EXPECT_EQ(g2.get(), std::nullopt);
}

TEST(WorkQueueTest, RealClockDelayElapses) {
  WorkQueueOptions o;
  o.base_retry_backoff = milliseconds(1);
  WorkQueue q(o);
  ASSERT_TRUE(q.AddAfter("a", milliseconds(5)).ok());
  auto got = std::async(std::launch::async, [&] { return q.Get(); });
  ASSERT_EQ(got.wait_for(kTestDeadline), std::future_status::ready);
  EXPECT_EQ(got.get(), "a");
}

}  // namespace
}  // namespace grid::mas::controller
