// LeaderForwardingLeases against fake leader calls: who is asked, when a request is asked
// again, which errors end it, and its limits.
#include "kv/api/leader_forwarding_leases.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <thread>
#include <vector>

namespace grid::kv::api {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kSelf = 1;

// Waits for one `done`.
template <typename T>
class Outcome {
 public:
  std::function<void(Result<T>)> Callback() {
    return [this](Result<T> r) {
      ++calls_;
      promise_->set_value(std::move(r));
    };
  }
  Result<T> Get() {
    if (future_.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      return Internal("no answer");
    }
    return future_.get();
  }
  bool ready() { return future_.wait_for(milliseconds(0)) == std::future_status::ready; }
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};
  std::shared_ptr<std::promise<Result<T>>> promise_ = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future_ = promise_->get_future();
};

// The cluster as the forwarder sees it: who leads, and what each member answers. By default a
// peer answers every call at once (on the calling thread) through `answer`; with `hold` set it
// keeps the calls until Release().
struct FakeCluster {
  std::atomic<uint64_t> leader{2};
  std::function<Result<int64_t>(uint64_t to, int64_t id)> answer = [](uint64_t, int64_t id) {
    return Result<int64_t>(id * 10);
  };
  std::atomic<bool> hold{false};

  struct Call {
    uint64_t to;
    int64_t id;
    bool keys;
    milliseconds timeout;
  };
  std::mutex mu;
  std::vector<Call> calls;
  std::vector<std::function<void(Result<int64_t>)>> held;
  int local_calls = 0;

  std::vector<Call> Calls() {
    std::lock_guard l(mu);
    return calls;
  }
  size_t HeldCount() {
    std::lock_guard l(mu);
    return held.size();
  }
  // Answers every held call with `r`.
  void Release(Result<int64_t> r) {
    std::vector<std::function<void(Result<int64_t>)>> dones;
    {
      std::lock_guard l(mu);
      dones.swap(held);
    }
    for (auto& d : dones) d(r);
  }

  LeaderForwardingCalls Make() {
    LeaderForwardingCalls c;
    c.leader_id = [this] { return leader.load(); };
    c.remote_renew = [this](uint64_t to, int64_t id, milliseconds timeout,
                            std::function<void(Result<int64_t>)> done) {
      {
        std::lock_guard l(mu);
        calls.push_back(Call{to, id, false, timeout});
        if (hold) {
          held.push_back(std::move(done));
          return;
        }
      }
      done(answer(to, id));
    };
    c.remote_time_to_live = [this](uint64_t to, int64_t id, bool keys, milliseconds timeout,
                                   std::function<void(Result<lease::TimeToLiveResult>)> done) {
      {
        std::lock_guard l(mu);
        calls.push_back(Call{to, id, keys, timeout});
      }
      Result<int64_t> r = answer(to, id);
      if (!r.ok()) return done(r.status());
      lease::TimeToLiveResult t;
      t.remaining_ttl_seconds = *r;
      t.granted_ttl_seconds = 60;
      if (keys) t.keys = {"a", "b"};
      done(std::move(t));
    };
    c.local_renew = [this](int64_t id) -> Result<int64_t> {
      std::lock_guard l(mu);
      ++local_calls;
      return id + 1;
    };
    c.local_time_to_live = [this](int64_t id, bool) -> Result<lease::TimeToLiveResult> {
      std::lock_guard l(mu);
      ++local_calls;
      lease::TimeToLiveResult t;
      t.remaining_ttl_seconds = id + 1;
      return t;
    };
    return c;
  }
};

LeaderForwardingOptions FastOptions() {
  LeaderForwardingOptions o;
  o.self_id = kSelf;
  o.request_timeout = milliseconds(300);
  o.attempt_timeout = milliseconds(100);
  o.retry_interval = milliseconds(5);
  return o;
}

Result<int64_t> Renew(LeaderForwardingLeases& f, int64_t id) {
  Outcome<int64_t> out;
  f.Renew(id, out.Callback());
  return out.Get();
}

TEST(LeaderForwardingLeasesTest, AsksTheLeader) {
  FakeCluster cluster;
  LeaderForwardingLeases f(FastOptions(), cluster.Make());
  EXPECT_FALSE(f.IsLeader());
  Result<int64_t> ttl = Renew(f, 7);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 70);
  auto calls = cluster.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].to, 2u);
  EXPECT_EQ(calls[0].id, 7);
  EXPECT_EQ(calls[0].timeout, milliseconds(100));  // attempt_timeout
  EXPECT_EQ(f.requests(), 0u);

  cluster.leader = kSelf;
  EXPECT_TRUE(f.IsLeader());
}

TEST(LeaderForwardingLeasesTest, MissingLeaseIsFinal) {
  FakeCluster cluster;
  cluster.answer = [](uint64_t, int64_t) -> Result<int64_t> {
    return NotFound(lease::kErrLeaseNotFound);
  };
  LeaderForwardingLeases f(FastOptions(), cluster.Make());
  Result<int64_t> ttl = Renew(f, 7);
  EXPECT_EQ(ttl.status().code(), Code::kNotFound);
  EXPECT_EQ(ttl.status().message(), lease::kErrLeaseNotFound);
  EXPECT_EQ(cluster.Calls().size(), 1u);

  Outcome<lease::TimeToLiveResult> out;
  f.TimeToLive(7, true, out.Callback());
  EXPECT_EQ(out.Get().status().code(), Code::kNotFound);
}

TEST(LeaderForwardingLeasesTest, FollowsALeaderChange) {
  FakeCluster cluster;
  // Member 2 lost the leadership to member 3 while it was asked.
  cluster.answer = [&](uint64_t to, int64_t id) -> Result<int64_t> {
    if (to == 2) {
      cluster.leader = 3;
      return FailedPrecondition("etcdserver: not leader");
    }
    return id * 10;
  };
  LeaderForwardingOptions o = FastOptions();
  o.retry_interval = std::chrono::seconds(60);  // a new leader is asked at once, not after it
  o.request_timeout = std::chrono::seconds(60);
  LeaderForwardingLeases f(o, cluster.Make());
  Result<int64_t> ttl = Renew(f, 4);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 40);
  auto calls = cluster.Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].to, 2u);
  EXPECT_EQ(calls[1].to, 3u);
}

TEST(LeaderForwardingLeasesTest, AsksTheSameLeaderAgainUntilItAnswers) {
  FakeCluster cluster;
  std::atomic<int> failures{2};
  cluster.answer = [&](uint64_t, int64_t id) -> Result<int64_t> {
    if (failures-- > 0) return Unavailable("cannot connect");
    return id * 10;
  };
  LeaderForwardingOptions o = FastOptions();
  o.request_timeout = std::chrono::seconds(60);
  LeaderForwardingLeases f(o, cluster.Make());
  Result<int64_t> ttl = Renew(f, 5);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 50);
  EXPECT_EQ(cluster.Calls().size(), 3u);
}

TEST(LeaderForwardingLeasesTest, NoLeaderUntilTheDeadline) {
  FakeCluster cluster;
  cluster.leader = 0;
  LeaderForwardingLeases f(FastOptions(), cluster.Make());
  const auto start = std::chrono::steady_clock::now();
  Result<int64_t> ttl = Renew(f, 5);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  EXPECT_EQ(ttl.status().code(), Code::kUnavailable);
  EXPECT_EQ(ttl.status().message(), "etcdserver: no leader");
  EXPECT_TRUE(cluster.Calls().empty());
  // Uncounted right after its `done` returned.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.requests() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(f.requests(), 0u);
}

TEST(LeaderForwardingLeasesTest, LeaderThatNeverAnswersTimesOut) {
  FakeCluster cluster;
  cluster.answer = [](uint64_t, int64_t) -> Result<int64_t> {
    return Status(Code::kDeadlineExceeded, "deadline exceeded");
  };
  LeaderForwardingLeases f(FastOptions(), cluster.Make());
  Result<int64_t> ttl = Renew(f, 5);
  EXPECT_EQ(ttl.status().code(), Code::kUnavailable);
  EXPECT_EQ(ttl.status().message(), "etcdserver: request timed out");
  auto calls = cluster.Calls();
  EXPECT_GE(calls.size(), 2u);
  for (const auto& c : calls) EXPECT_LE(c.timeout, milliseconds(100));
}

TEST(LeaderForwardingLeasesTest, AttemptTimeoutIsCappedByWhatIsLeft) {
  FakeCluster cluster;
  LeaderForwardingOptions o = FastOptions();
  o.request_timeout = milliseconds(50);
  o.attempt_timeout = std::chrono::seconds(10);
  LeaderForwardingLeases f(o, cluster.Make());
  ASSERT_TRUE(Renew(f, 5).ok());
  auto calls = cluster.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_LE(calls[0].timeout, milliseconds(50));
  EXPECT_GT(calls[0].timeout, milliseconds(0));
}

TEST(LeaderForwardingLeasesTest, ThisMemberBecomingLeaderAnswersLocally) {
  FakeCluster cluster;
  cluster.leader = 0;
  LeaderForwardingOptions o = FastOptions();
  o.request_timeout = std::chrono::seconds(60);
  LeaderForwardingLeases f(o, cluster.Make());
  Outcome<int64_t> out;
  f.Renew(5, out.Callback());
  EXPECT_FALSE(out.ready());  // waiting for a leader
  cluster.leader = kSelf;
  Result<int64_t> ttl = out.Get();
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 6);  // local_renew
  EXPECT_TRUE(cluster.Calls().empty());

  Outcome<lease::TimeToLiveResult> read;
  f.TimeToLive(8, false, read.Callback());
  Result<lease::TimeToLiveResult> t = read.Get();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->remaining_ttl_seconds, 9);
  std::lock_guard l(cluster.mu);
  EXPECT_EQ(cluster.local_calls, 2);
}

TEST(LeaderForwardingLeasesTest, TimeToLiveIsForwardedWithKeys) {
  FakeCluster cluster;
  LeaderForwardingLeases f(FastOptions(), cluster.Make());
  Outcome<lease::TimeToLiveResult> out;
  f.TimeToLive(3, true, out.Callback());
  Result<lease::TimeToLiveResult> t = out.Get();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->remaining_ttl_seconds, 30);
  EXPECT_EQ(t->granted_ttl_seconds, 60);
  EXPECT_EQ(t->keys, (std::vector<std::string>{"a", "b"}));
  auto calls = cluster.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].keys);
}

TEST(LeaderForwardingLeasesTest, RequestLimitAtAndOnePast) {
  FakeCluster cluster;
  cluster.hold = true;
  LeaderForwardingOptions o = FastOptions();
  o.max_requests = 2;
  o.request_timeout = std::chrono::seconds(60);
  o.attempt_timeout = std::chrono::seconds(60);
  LeaderForwardingLeases f(o, cluster.Make());
  Outcome<int64_t> first, second, third, fourth;
  f.Renew(1, first.Callback());
  f.Renew(2, second.Callback());  // at the limit
  EXPECT_EQ(f.requests(), 2u);
  f.Renew(3, third.Callback());   // one past it: refused at once
  ASSERT_TRUE(third.ready());
  EXPECT_EQ(third.Get().status().code(), Code::kResourceExhausted);
  EXPECT_EQ(cluster.HeldCount(), 2u);

  cluster.Release(Result<int64_t>(11));
  EXPECT_EQ(first.Get().value(), 11);
  EXPECT_EQ(second.Get().value(), 11);
  EXPECT_EQ(f.requests(), 0u);
  cluster.hold = false;
  f.Renew(4, fourth.Callback());
  EXPECT_EQ(fourth.Get().value(), 40);
}

TEST(LeaderForwardingLeasesTest, StopEndsWaitingAndInFlightRequests) {
  FakeCluster cluster;
  cluster.hold = true;
  LeaderForwardingOptions o = FastOptions();
  o.request_timeout = std::chrono::seconds(60);
  o.attempt_timeout = std::chrono::seconds(60);
  LeaderForwardingLeases f(o, cluster.Make());
  Outcome<int64_t> in_flight, waiting, late;
  f.Renew(1, in_flight.Callback());
  ASSERT_EQ(cluster.HeldCount(), 1u);
  cluster.leader = 0;
  f.Renew(2, waiting.Callback());  // no leader: waits for a retry

  std::thread stopper([&] { f.Stop(); });
  EXPECT_EQ(waiting.Get().status().message(), "etcdserver: server stopped");
  EXPECT_FALSE(in_flight.ready());  // Stop() waits for the attempt in flight
  cluster.Release(Unavailable("transport stopped"));
  stopper.join();
  Result<int64_t> r = in_flight.Get();
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "etcdserver: server stopped");

  f.Renew(3, late.Callback());
  ASSERT_TRUE(late.ready());
  EXPECT_EQ(late.Get().status().message(), "etcdserver: server stopped");
  EXPECT_EQ(in_flight.calls() + waiting.calls() + late.calls(), 3);
}

}  // namespace
}  // namespace grid::kv::api
