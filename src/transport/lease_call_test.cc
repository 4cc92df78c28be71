// Lease calls between transports on loopback, and peer activity (ActiveSince).
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "grid/peer.pb.h"
#include "transport/transport.h"
#include "transport/transport_test_util.h"

namespace grid::transport {
namespace {

using raft::MemberId;
using std::chrono::milliseconds;
using testutil::App;
using testutil::Eventually;
using testutil::Member;

constexpr uint64_t kCluster = 0xc1;
constexpr milliseconds kCallTimeout{5000};
constexpr char kLeaseNotFound[] = "etcdserver: requested lease not found";

// Waits for `done` of one call; Internal when it never comes.
template <typename T>
class Outcome {
 public:
  std::function<void(Result<T>)> Callback() {
    return [p = promise_](Result<T> r) { p->set_value(std::move(r)); };
  }
  Result<T> Get() {
    if (future_.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      return Internal("no answer");
    }
    return future_.get();
  }
  bool ready() { return future_.wait_for(milliseconds(0)) == std::future_status::ready; }

 private:
  std::shared_ptr<std::promise<Result<T>>> promise_ = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future_ = promise_->get_future();
};

Result<int64_t> Renew(Member& m, MemberId to, int64_t id, milliseconds timeout = kCallTimeout) {
  Outcome<int64_t> out;
  m->RenewLease(to, id, timeout, out.Callback());
  return out.Get();
}

Result<LeaseTtl> TimeToLive(Member& m, MemberId to, int64_t id, bool keys) {
  Outcome<LeaseTtl> out;
  m->LeaseTimeToLive(to, id, keys, kCallTimeout, out.Callback());
  return out.Get();
}

// A leader's answers: lease 7 exists with keys "a", "b"; lease 8 makes this member answer as
// a follower; every other lease is missing. Records who asked.
struct FakeLeader {
  std::mutex mu;
  std::vector<std::pair<MemberId, int64_t>> renewals;
  std::atomic<int> calls{0};

  void Install(TransportCallbacks& cb) {
    cb.on_lease_renew = [this](MemberId from, int64_t id) -> Result<int64_t> {
      ++calls;
      {
        std::lock_guard l(mu);
        renewals.emplace_back(from, id);
      }
      if (id == 8) return NotLeaderError();
      if (id != 7) return NotFound(kLeaseNotFound);
      return 30;
    };
    cb.on_lease_time_to_live = [this](MemberId, int64_t id, bool keys) -> Result<LeaseTtl> {
      ++calls;
      if (id == 8) return NotLeaderError();
      if (id != 7) return NotFound(kLeaseNotFound);
      LeaseTtl t;
      t.remaining_ttl_seconds = 12;
      t.granted_ttl_seconds = 30;
      if (keys) t.keys = {"a", "b"};
      return t;
    };
  }
};

TEST(LeaseCallTest, RenewAndTimeToLiveRoundTrip) {
  FakeLeader leader;
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());

  Result<int64_t> ttl = Renew(a, b.id(), 7);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 30);
  {
    std::lock_guard l(leader.mu);
    ASSERT_EQ(leader.renewals.size(), 1u);
    EXPECT_EQ(leader.renewals[0], std::make_pair(MemberId(1), int64_t{7}));
  }

  Result<LeaseTtl> t = TimeToLive(a, b.id(), 7, true);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->remaining_ttl_seconds, 12);
  EXPECT_EQ(t->granted_ttl_seconds, 30);
  EXPECT_EQ(t->keys, (std::vector<std::string>{"a", "b"}));
  t = TimeToLive(a, b.id(), 7, false);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->keys.empty());
}

TEST(LeaseCallTest, NotLeaderAndNotFoundTravelBack) {
  FakeLeader leader;
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());

  Result<int64_t> ttl = Renew(a, b.id(), 8);
  ASSERT_FALSE(ttl.ok());
  EXPECT_TRUE(IsNotLeader(ttl.status())) << ttl.status().ToString();
  ttl = Renew(a, b.id(), 404);
  EXPECT_EQ(ttl.status().code(), Code::kNotFound);
  EXPECT_EQ(ttl.status().message(), kLeaseNotFound);

  Result<LeaseTtl> t = TimeToLive(a, b.id(), 8, true);
  EXPECT_TRUE(IsNotLeader(t.status())) << t.status().ToString();
  t = TimeToLive(a, b.id(), 404, true);
  EXPECT_EQ(t.status().code(), Code::kNotFound);
  EXPECT_EQ(t.status().message(), kLeaseNotFound);
}

TEST(LeaseCallTest, UnknownPeerFailsAtOnce) {
  Member a(kCluster, 1);
  bool called = false;
  a->RenewLease(MemberId(9), 7, kCallTimeout, [&](Result<int64_t> r) {
    called = true;
    EXPECT_EQ(r.status().code(), Code::kUnavailable);
  });
  EXPECT_TRUE(called);  // on this thread, before RenewLease returned
  called = false;
  a->LeaseTimeToLive(MemberId(9), 7, false, kCallTimeout, [&](Result<LeaseTtl> r) {
    called = true;
    EXPECT_EQ(r.status().code(), Code::kUnavailable);
  });
  EXPECT_TRUE(called);
}

TEST(LeaseCallTest, PeerWithoutLeaseCallbacksIsUnavailable) {
  Member a(kCluster, 1), b(kCluster, 2);
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  EXPECT_EQ(Renew(a, b.id(), 7).status().code(), Code::kUnavailable);
  EXPECT_EQ(TimeToLive(a, b.id(), 7, false).status().code(), Code::kUnavailable);
}

TEST(LeaseCallTest, ClusterIdMismatchIsRefused) {
  FakeLeader leader;
  Member a(kCluster, 1);
  Member b(0xd2, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  Result<int64_t> ttl = Renew(a, b.id(), 7);
  EXPECT_EQ(ttl.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(ttl.status().message().find("cluster ID mismatch"), std::string::npos)
      << ttl.status().ToString();
  EXPECT_FALSE(IsNotLeader(ttl.status()));
  Result<LeaseTtl> t = TimeToLive(a, b.id(), 7, true);
  EXPECT_EQ(t.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(leader.calls.load(), 0);
}

TEST(LeaseCallTest, RemovedMemberIsRefused) {
  FakeLeader leader;
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  ASSERT_TRUE(b->AddPeer(a.id(), {a.url()}).ok());
  ASSERT_TRUE(b->RemovePeer(a.id()).ok());
  Result<int64_t> ttl = Renew(a, b.id(), 7);
  EXPECT_EQ(ttl.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(ttl.status().message().find("was removed"), std::string::npos);
  EXPECT_EQ(leader.calls.load(), 0);
}

// The response listing keys exactly at max_lease_response_bytes passes; one byte more is
// refused by the answering member.
TEST(LeaseCallTest, TimeToLiveResponseAtTheSizeLimit) {
  std::string key(1000, 'k');
  peerpb::LeaseTimeToLiveResponse encoded;
  encoded.set_ttl(12);
  encoded.set_granted_ttl(30);
  encoded.add_keys(key);
  const uint64_t limit = encoded.ByteSizeLong();
  std::atomic<size_t> key_bytes{key.size()};
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions& o, TransportCallbacks& cb) {
    o.max_lease_response_bytes = limit;
    cb.on_lease_time_to_live = [&](MemberId, int64_t, bool) -> Result<LeaseTtl> {
      LeaseTtl t;
      t.remaining_ttl_seconds = 12;
      t.granted_ttl_seconds = 30;
      t.keys = {std::string(key_bytes.load(), 'k')};
      return t;
    };
  });
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  Result<LeaseTtl> t = TimeToLive(a, b.id(), 7, true);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->keys[0], key);

  key_bytes = key.size() + 1;
  t = TimeToLive(a, b.id(), 7, true);
  EXPECT_EQ(t.status().code(), Code::kResourceExhausted) << t.status().ToString();
}

// The caller's own limit: a response larger than it accepts is refused on receipt.
TEST(LeaseCallTest, CallerRefusesAResponseOverItsLimit) {
  Member a(kCluster, 1, [](TransportOptions& o, TransportCallbacks&) {
    o.max_lease_response_bytes = 100;
  });
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) {
    cb.on_lease_time_to_live = [&](MemberId, int64_t, bool) -> Result<LeaseTtl> {
      LeaseTtl t;
      t.keys = {std::string(200, 'k')};
      return t;
    };
  });
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  EXPECT_EQ(TimeToLive(a, b.id(), 7, true).status().code(), Code::kResourceExhausted);
}

// A leader that holds its answer until released.
struct SlowLeader {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> waiting{0};

  void Install(TransportCallbacks& cb) {
    cb.on_lease_renew = [this](MemberId, int64_t) -> Result<int64_t> {
      ++waiting;
      std::unique_lock l(mu);
      cv.wait(l, [&] { return released; });
      return 30;
    };
  }
  void Release() {
    {
      std::lock_guard l(mu);
      released = true;
    }
    cv.notify_all();
  }
};

// Releases a SlowLeader on every exit path (its member's server waits for the handler).
struct ReleaseOnExit {
  SlowLeader& leader;
  ~ReleaseOnExit() { leader.Release(); }
};

TEST(LeaseCallTest, CallTimesOut) {
  SlowLeader leader;
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ReleaseOnExit release{leader};
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  EXPECT_EQ(Renew(a, b.id(), 7, milliseconds(100)).status().code(), Code::kDeadlineExceeded);
}

TEST(LeaseCallTest, StopCompletesCallsInFlight) {
  SlowLeader leader;
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ReleaseOnExit release{leader};
  Outcome<int64_t> out;
  {
    Member a(kCluster, 1);
    ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
    a->RenewLease(b.id(), 7, kCallTimeout, out.Callback());
    ASSERT_TRUE(Eventually([&] { return leader.waiting.load() == 1; }));
    EXPECT_FALSE(out.ready());
    a.Stop();
    EXPECT_TRUE(out.ready());  // Stop() returned after `done` ran
  }
  EXPECT_EQ(out.Get().status().code(), Code::kUnavailable);
}

TEST(LeaseCallTest, RemovePeerCompletesCallsInFlight) {
  SlowLeader leader;
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ReleaseOnExit release{leader};
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  Outcome<int64_t> out;
  a->RenewLease(b.id(), 7, kCallTimeout, out.Callback());
  ASSERT_TRUE(Eventually([&] { return leader.waiting.load() == 1; }));
  ASSERT_TRUE(a->RemovePeer(b.id()).ok());
  EXPECT_TRUE(out.ready());
  EXPECT_EQ(out.Get().status().code(), Code::kUnavailable);
}

std::string DeadUrl() {
  Member gone(kCluster, 99);
  std::string url = gone.url();
  gone.Stop();
  return url;
}

TEST(LeaseCallTest, NextUrlAfterAnUnreachableOne) {
  FakeLeader leader;
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ASSERT_TRUE(a->AddPeer(b.id(), {DeadUrl(), b.url()}).ok());
  EXPECT_EQ(Renew(a, b.id(), 7).status().code(), Code::kUnavailable);  // the first URL
  Result<int64_t> ttl = Renew(a, b.id(), 7);                           // the second
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 30);
}

TEST(LeaseCallTest, CallsReachAPeerThatRestarted) {
  FakeLeader leader;
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) { leader.Install(cb); });
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  ASSERT_TRUE(Renew(a, b.id(), 7).ok());
  b.Stop();
  EXPECT_EQ(Renew(a, b.id(), 7).status().code(), Code::kUnavailable);
  b.Restart();  // same port
  EXPECT_TRUE(Eventually([&] { return Renew(a, b.id(), 7).ok(); }));
}

// The stream is kept open while idle (as etcd keeps its peer streams): activity needs no
// traffic.
TEST(PeerActivityTest, ActiveSinceFollowsTheStream) {
  Member a(kCluster, 1), b(kCluster, 2);
  EXPECT_FALSE(a->ActiveSince(b.id()).has_value());  // unknown peer
  const auto before = std::chrono::steady_clock::now();
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  ASSERT_TRUE(Eventually([&] { return a->ActiveSince(b.id()).has_value(); }));
  const auto first = *a->ActiveSince(b.id());
  EXPECT_GE(first, before);
  EXPECT_LE(first, std::chrono::steady_clock::now());
  EXPECT_TRUE(a->Stats(b.id())->connected);
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == 1; }));
  EXPECT_EQ(a->ActiveSince(b.id()), first);  // same stream, same start

  // The remote stops: noticed without anything being sent.
  b.Stop();
  ASSERT_TRUE(Eventually([&] { return !a->ActiveSince(b.id()).has_value(); }));
  EXPECT_FALSE(a->Stats(b.id())->connected);
  EXPECT_EQ(a.events.unreachable_count(b.id()), 0);  // nothing was lost

  b.Restart();  // same port
  ASSERT_TRUE(Eventually([&] { return a->ActiveSince(b.id()).has_value(); }));
  EXPECT_GT(*a->ActiveSince(b.id()), first);
  a->Send({App(1, 2, 1)});
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == 2; }));
}

TEST(PeerActivityTest, UpdatePeerStartsANewActivePeriod) {
  Member a(kCluster, 1), b(kCluster, 2);
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  ASSERT_TRUE(Eventually([&] { return a->ActiveSince(b.id()).has_value(); }));
  const auto first = *a->ActiveSince(b.id());
  ASSERT_TRUE(a->UpdatePeer(b.id(), {b.url()}).ok());
  ASSERT_TRUE(Eventually([&] {
    auto since = a->ActiveSince(b.id());
    return since.has_value() && *since > first;
  }));
}

TEST(PeerActivityTest, UnreachablePeerIsNotActive) {
  Member a(kCluster, 1);
  ASSERT_TRUE(a->AddPeer(MemberId(2), {DeadUrl()}).ok());
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(MemberId(2)) > 0; }));
  EXPECT_FALSE(a->ActiveSince(MemberId(2)).has_value());
}

TEST(PeerActivityTest, RefusedPeerIsNeverActive) {
  Member a(kCluster, 1), b(0xd2, 2);
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(b.id()) > 0; }));
  EXPECT_FALSE(a->ActiveSince(b.id()).has_value());
}

}  // namespace
}  // namespace grid::transport
