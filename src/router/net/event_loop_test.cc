#include "router/net/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "router/net/clock.h"

namespace grid::router::net {
namespace {

TEST(EventLoopTest, PostFromAnotherThreadRunsOnTheLoop) {
  EventLoop loop;
  ASSERT_TRUE(loop.init_status().ok());
  std::thread::id ran_on;
  std::thread runner([&] { loop.Run(); });
  std::atomic<bool> done{false};
  loop.Post([&] {
    ran_on = std::this_thread::get_id();
    done = true;
  });
  const uint64_t deadline = MonotonicMs() + 5000;
  while (!done && MonotonicMs() < deadline) std::this_thread::yield();
  const std::thread::id runner_id = runner.get_id();
  loop.Stop();
  runner.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(ran_on, runner_id);
}

TEST(EventLoopTest, TimersWakeTheLoop) {
  EventLoop loop;
  bool fired = false;
  Timer t([&] {
    fired = true;
    loop.Stop();
  });
  const uint64_t start = MonotonicMs();
  t.Arm(loop.timers(), 20);
  loop.Run();
  EXPECT_TRUE(fired);
  EXPECT_GE(MonotonicMs() - start, 19u);
}

struct Tracked : Deferred {
  explicit Tracked(int* deleted) : deleted(deleted) {}
  ~Tracked() override { ++*deleted; }
  int* deleted;
};

TEST(EventLoopTest, DeleteLaterWaitsForTheEndOfTheIteration) {
  EventLoop loop;
  int deleted = 0;
  loop.Post([&] {
    loop.DeleteLater(std::make_unique<Tracked>(&deleted));
    EXPECT_EQ(deleted, 0);
  });
  loop.RunOnce(0);
  EXPECT_EQ(deleted, 1);
}

}  // namespace
}  // namespace grid::router::net
