#include "mas/controller/controller_runner.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace grid::mas::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::yield();
  }
  return true;
}

// Records calls per key, checks no key is reconciled twice at once, and answers with
// `respond` (default: success).
class FakeReconciler : public Reconciler {
 public:
  Result<ReconcileResult> Reconcile(const std::string& key) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (++in_flight_[key] > 1) overlap_ = true;
      ++calls_[key];
    }
    Result<ReconcileResult> r = respond ? respond(key) : Result<ReconcileResult>(ReconcileResult{});
    {
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_[key];
    }
    return r;
  }
  int calls(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[key];
  }
  bool overlap() {
    std::lock_guard<std::mutex> lock(mu_);
    return overlap_;
  }

  std::function<Result<ReconcileResult>(const std::string&)> respond;

 private:
  std::mutex mu_;
  std::map<std::string, int> in_flight_;
  std::map<std::string, int> calls_;
  bool overlap_ = false;
};

ControllerRunnerOptions Opts(FakeClock* clock, size_t workers) {
  ControllerRunnerOptions o;
  o.workers = workers;
  o.resync_period = Duration::zero();
  o.queue.clock = clock;
  o.queue.base_retry_backoff = seconds(1);
  o.queue.max_retry_backoff = seconds(4);
  return o;
}

TEST(ControllerRunnerTest, EventsForAKeyInFlightCollapseIntoOneRerun) {
  FakeClock clock;
  FakeReconciler rec;
  std::atomic<bool> release{false};
  std::atomic<bool> entered{false};
  rec.respond = [&](const std::string&) -> Result<ReconcileResult> {
    entered = true;
    while (!release) std::this_thread::yield();
    return ReconcileResult{};
  };
  ControllerRunner runner(&rec, Opts(&clock, 4));
  runner.Start();
  ASSERT_TRUE(runner.Enqueue("KVCluster/main").ok());
  ASSERT_TRUE(WaitFor([&] { return entered.load(); }));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(runner.Enqueue("KVCluster/main").ok());
  EXPECT_EQ(runner.queue().Len(), 0u);
  release = true;
  ASSERT_TRUE(WaitFor([&] { return rec.calls("KVCluster/main") == 2; }));
  runner.Stop();
  EXPECT_EQ(rec.calls("KVCluster/main"), 2);
  EXPECT_FALSE(rec.overlap());
}

TEST(ControllerRunnerTest, NoKeyIsReconciledConcurrently) {
  FakeClock clock;
  FakeReconciler rec;
  rec.respond = [](const std::string&) -> Result<ReconcileResult> {
    std::this_thread::yield();
    return ReconcileResult{};
  };
  ControllerRunner runner(&rec, Opts(&clock, 8));
  runner.Start();
  const std::string keys[] = {"a", "b", "c"};
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(runner.Enqueue(keys[i % 3]).ok());
  runner.Stop();
  EXPECT_FALSE(rec.overlap());
  for (const auto& k : keys) EXPECT_GE(rec.calls(k), 1);
}

TEST(ControllerRunnerTest, ErrorsBackOffExponentiallyUpToTheCap) {
  FakeClock clock;
  FakeReconciler rec;
  rec.respond = [](const std::string&) -> Result<ReconcileResult> {
    return Unavailable("store down");
  };
  ControllerRunner runner(&rec, Opts(&clock, 2));
  runner.Start();
  ASSERT_TRUE(runner.Enqueue("a").ok());
  WorkQueue& q = runner.queue();
  auto settled = [&](int calls) {
    return WaitFor([&] {
      return rec.calls("a") == calls && q.Processing() == 0 && q.Delayed() == 1;
    });
  };
  ASSERT_TRUE(settled(1));
  // Back-off after the n-th failure: 1s, 2s, 4s, then capped at 4s.
  const Duration delays[] = {seconds(1), seconds(2), seconds(4), seconds(4), seconds(4)};
  int calls = 1;
  for (Duration d : delays) {
    EXPECT_EQ(q.NumRequeues("a"), calls);
    clock.Advance(d - milliseconds(1));
    EXPECT_EQ(q.Delayed(), 1u) << "retried before its back-off of " << d.count();
    clock.Advance(milliseconds(1));
    ++calls;
    ASSERT_TRUE(settled(calls)) << "no retry after " << d.count();
  }
  runner.Stop();
  EXPECT_EQ(runner.errors(), calls);
}

TEST(ControllerRunnerTest, SuccessForgetsTheFailureCount) {
  FakeClock clock;
  FakeReconciler rec;
  std::atomic<int> failures_left{3};
  rec.respond = [&](const std::string&) -> Result<ReconcileResult> {
    if (failures_left.fetch_sub(1) > 0) return Internal("transient");
    return ReconcileResult{};
  };
  ControllerRunner runner(&rec, Opts(&clock, 1));
  runner.Start();
  WorkQueue& q = runner.queue();
  ASSERT_TRUE(runner.Enqueue("a").ok());
  for (int calls = 1; calls <= 3; ++calls) {
    ASSERT_TRUE(WaitFor([&] { return rec.calls("a") == calls && q.Delayed() == 1; }));
    EXPECT_EQ(q.NumRequeues("a"), calls);
    clock.Advance(q.BackoffFor(calls - 1));
  }
  ASSERT_TRUE(WaitFor([&] {
    return rec.calls("a") == 4 && q.Processing() == 0 && q.TrackedKeys() == 0;
  }));
  EXPECT_EQ(q.NumRequeues("a"), 0);
  runner.Stop();
}

TEST(ControllerRunnerTest, RequeueAfterSchedulesTheNextRun) {
  FakeClock clock;
  FakeReconciler rec;
  rec.respond = [](const std::string&) -> Result<ReconcileResult> {
    ReconcileResult r;
    r.requeue_after = seconds(30);
    return r;
  };
  ControllerRunner runner(&rec, Opts(&clock, 1));
  runner.Start();
  WorkQueue& q = runner.queue();
  ASSERT_TRUE(runner.Enqueue("a").ok());
  ASSERT_TRUE(WaitFor([&] { return rec.calls("a") == 1 && q.Delayed() == 1; }));
  EXPECT_EQ(q.NumRequeues("a"), 0);
  clock.Advance(seconds(29));
  EXPECT_EQ(q.Delayed(), 1u);
  clock.Advance(seconds(1));
  ASSERT_TRUE(WaitFor([&] { return rec.calls("a") == 2; }));
  runner.Stop();
}

TEST(ControllerRunnerTest, RequeueUsesRateLimitedBackoff) {
  FakeClock clock;
  FakeReconciler rec;
  rec.respond = [](const std::string&) -> Result<ReconcileResult> {
    ReconcileResult r;
    r.requeue = true;
    return r;
  };
  ControllerRunner runner(&rec, Opts(&clock, 1));
  runner.Start();
  WorkQueue& q = runner.queue();
  ASSERT_TRUE(runner.Enqueue("a").ok());
  ASSERT_TRUE(WaitFor([&] { return rec.calls("a") == 1 && q.Delayed() == 1; }));
  EXPECT_EQ(q.NumRequeues("a"), 1);
  clock.Advance(seconds(1));
  ASSERT_TRUE(WaitFor([&] { return rec.calls("a") == 2 && q.Delayed() == 1; }));
  EXPECT_EQ(q.NumRequeues("a"), 2);
  EXPECT_EQ(runner.errors(), 0);
  runner.Stop();
}

TEST(ControllerRunnerTest, ResyncReAddsEveryKnownKeyEachPeriod) {
  FakeClock clock;
  FakeReconciler rec;
  ControllerRunnerOptions o = Opts(&clock, 2);
  o.resync_period = seconds(60);
  o.list_keys = [] { return std::vector<std::string>{"a", "b", "c"}; };
  ControllerRunner runner(&rec, o);
  runner.Start();
  clock.Advance(seconds(59));
  EXPECT_EQ(runner.resyncs(), 0);
  EXPECT_EQ(runner.reconciles(), 0);
  clock.Advance(seconds(1));
  ASSERT_TRUE(WaitFor([&] { return runner.reconciles() == 3 && runner.resyncs() == 1; }));
  clock.Advance(seconds(60));
  ASSERT_TRUE(WaitFor([&] { return runner.reconciles() == 6 && runner.resyncs() == 2; }));
  runner.Stop();
  for (const char* k : {"a", "b", "c"}) EXPECT_EQ(rec.calls(k), 2);
}

TEST(ControllerRunnerTest, StopDrainsQueuedKeys) {
  FakeClock clock;
  FakeReconciler rec;
  ControllerRunner runner(&rec, Opts(&clock, 1));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(runner.Enqueue("k" + std::to_string(i)).ok());
  runner.Start();
  runner.Stop();
  EXPECT_EQ(runner.reconciles(), 50);
  EXPECT_EQ(runner.Enqueue("late").code(), Code::kUnavailable);
}

TEST(ControllerRunnerTest, ObserverSeesEveryOutcomeAndItsDuration) {
  FakeClock clock;
  FakeReconciler rec;
  rec.respond = [&](const std::string& key) -> Result<ReconcileResult> {
    clock.Advance(seconds(2));  // the reconcile "takes" 2 s on the runner's clock
    if (key == "bad") return Unavailable("store down");
    return ReconcileResult{};
  };
  std::mutex mu;
  std::map<std::string, std::pair<Code, Duration>> seen;
  ControllerRunnerOptions o = Opts(&clock, 1);
  o.on_reconciled = [&](const std::string& key, const Status& outcome, Duration took) {
    std::lock_guard lock(mu);
    seen[key] = {outcome.code(), took};
  };
  ControllerRunner runner(&rec, o);
  ASSERT_TRUE(runner.Enqueue("good").ok());
  ASSERT_TRUE(runner.Enqueue("bad").ok());
  runner.Start();
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return seen.size() == 2;
  }));
  runner.Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(seen["good"].first, Code::kOk);
  EXPECT_EQ(seen["bad"].first, Code::kUnavailable);
  EXPECT_EQ(seen["good"].second, seconds(2));
  EXPECT_EQ(seen["bad"].second, seconds(2));
}

TEST(ControllerRunnerTest, QueueLimitRefusesEnqueueAndCountsDroppedRequeues) {
  FakeClock clock;
  FakeReconciler rec;
  ControllerRunnerOptions o = Opts(&clock, 1);
  o.queue.max_keys = 2;
  ControllerRunner runner(&rec, o);
  ASSERT_TRUE(runner.Enqueue("a").ok());
  ASSERT_TRUE(runner.Enqueue("b").ok());
  EXPECT_EQ(runner.Enqueue("c").code(), Code::kResourceExhausted);
  runner.Start();
  runner.Stop();
  EXPECT_EQ(runner.reconciles(), 2);
}

}  // namespace
}  // namespace grid::mas::controller
