#include "router/watch/update_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "router/watch/test_util.h"

namespace grid::router::watch {
namespace {

using testing::WaitFor;
using Clock = std::chrono::steady_clock;

client::WatchUpdate UpdateAt(int64_t revision) {
  client::WatchUpdate u;
  u.header_revision = revision;
  return u;
}

TEST(UpdateQueueTest, AtItsLimitPushWaitsForTheConsumer) {
  constexpr size_t kLimit = 2;
  UpdateQueue q(kLimit);
  ASSERT_TRUE(q.Push(UpdateAt(1)));
  ASSERT_TRUE(q.Push(UpdateAt(2)));  // now full
  std::atomic<bool> third_done{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.Push(UpdateAt(3)));
    third_done = true;
  });
  // The producer stays blocked while the queue is full; nothing is lost when it drains.
  EXPECT_FALSE(third_done.load());
  auto first = q.PopAll(Clock::now() + std::chrono::seconds(10));
  ASSERT_EQ(first.size(), kLimit);
  EXPECT_EQ(first[0].header_revision, 1);
  EXPECT_EQ(first[1].header_revision, 2);
  ASSERT_TRUE(WaitFor([&] { return third_done.load(); }));
  producer.join();
  auto second = q.PopAll(Clock::now() + std::chrono::seconds(10));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].header_revision, 3);
}

TEST(UpdateQueueTest, CloseReleasesABlockedProducerAndDropsLaterPushes) {
  UpdateQueue q(1);
  ASSERT_TRUE(q.Push(UpdateAt(1)));
  std::atomic<int> result{-1};
  std::thread producer([&] { result = q.Push(UpdateAt(2)) ? 1 : 0; });
  q.Close();
  producer.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_FALSE(q.Push(UpdateAt(3)));
  EXPECT_TRUE(q.closed());
  EXPECT_TRUE(q.PopAll(Clock::now() + std::chrono::seconds(10)).empty());
}

TEST(UpdateQueueTest, PopAllTimesOutEmpty) {
  UpdateQueue q(1);
  EXPECT_TRUE(q.PopAll(Clock::now() + std::chrono::milliseconds(1)).empty());
}

}  // namespace
}  // namespace grid::router::watch
