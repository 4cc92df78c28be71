#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "client/election.h"
#include "client/mutex.h"
#include "client/session.h"
#include "client/testing/etcd_fixture.h"

namespace grid::client {
namespace {

using testing::EtcdFixture;
using testing::WaitFor;

class ConcurrencyTest : public EtcdFixture {
 protected:
  std::unique_ptr<Session> NewSession(Client* client, int64_t ttl_seconds = 10) {
    SessionOptions options;
    options.ttl_seconds = ttl_seconds;
    auto s = Session::Create(client, options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  int64_t CountKeys(std::string_view prefix) {
    GetOptions o;
    o.prefix = true;
    o.count_only = true;
    auto r = client_->Get(prefix, o);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->count() : -1;
  }
};

TEST_F(ConcurrencyTest, SessionKeepsLeaseAndCloseRevokes) {
  auto s = NewSession(client_.get(), 2);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->done());
  auto ttl = client_->TimeToLive(s->lease_id());
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->grantedttl(), 2);
  ASSERT_TRUE(s->Close().ok());
  EXPECT_TRUE(s->done());
  EXPECT_EQ(client_->TimeToLive(s->lease_id())->ttl(), -1);
}

TEST_F(ConcurrencyTest, MutexKeyFormatAndOwner) {
  auto s = NewSession(client_.get());
  ASSERT_NE(s, nullptr);
  Mutex m(s.get(), "/locks/a");
  ASSERT_TRUE(m.Lock().ok());
  char hex[32];
  std::snprintf(hex, sizeof(hex), "%llx", static_cast<unsigned long long>(s->lease_id()));
  EXPECT_EQ(m.key(), std::string("/locks/a/") + hex);
  auto get = client_->Get(m.key());
  ASSERT_EQ(get->kvs_size(), 1);
  EXPECT_EQ(get->kvs(0).lease(), s->lease_id());
  EXPECT_EQ(get->kvs(0).create_revision(), m.revision());
  // The owner compare guards a txn.
  auto txn = TxnBuilder().If(m.IsOwner()).Then(OpPut("guarded", "1"));
  EXPECT_TRUE(client_->Txn(txn.request())->succeeded());
  ASSERT_TRUE(m.Unlock().ok());
  EXPECT_EQ(CountKeys("/locks/a/"), 0);
  EXPECT_FALSE(client_->Txn(txn.request())->succeeded());
}

TEST_F(ConcurrencyTest, MutexExcludesConcurrentHolders) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 5;
  std::atomic<int> holders{0};
  std::atomic<int> max_holders{0};
  std::atomic<int> acquired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto client = Connect();
      ASSERT_NE(client, nullptr);
      auto s = NewSession(client.get());
      ASSERT_NE(s, nullptr);
      for (int r = 0; r < kRounds; ++r) {
        Mutex m(s.get(), "excl");
        ASSERT_TRUE(m.Lock().ok());
        const int now = ++holders;
        int prev = max_holders.load();
        while (now > prev && !max_holders.compare_exchange_weak(prev, now)) {
        }
        std::this_thread::yield();
        --holders;
        ++acquired;
        ASSERT_TRUE(m.Unlock().ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(acquired.load(), kThreads * kRounds);
  EXPECT_EQ(max_holders.load(), 1);
}

TEST_F(ConcurrencyTest, LostSessionReleasesLockToNextWaiter) {
  auto s1 = NewSession(client_.get());
  auto s2 = NewSession(client_.get());
  ASSERT_TRUE(s1 && s2);
  Mutex m1(s1.get(), "lost");
  ASSERT_TRUE(m1.Lock().ok());
  std::atomic<bool> locked{false};
  Mutex m2(s2.get(), "lost");
  std::thread waiter([&] {
    ASSERT_TRUE(m2.Lock().ok());
    locked = true;
  });
  ASSERT_TRUE(WaitFor([&] { return CountKeys("lost/") == 2; }));
  EXPECT_FALSE(locked);
  ASSERT_TRUE(client_->Revoke(s1->lease_id()).ok());
  ASSERT_TRUE(WaitFor([&] { return locked.load(); }));
  waiter.join();
  EXPECT_TRUE(WaitFor([&] { return s1->done(); }));
}

TEST_F(ConcurrencyTest, CancelledLockDeletesItsKey) {
  auto s1 = NewSession(client_.get());
  auto s2 = NewSession(client_.get());
  ASSERT_TRUE(s1 && s2);
  Mutex m1(s1.get(), "cancel");
  ASSERT_TRUE(m1.Lock().ok());
  std::stop_source stop;
  Status result;
  Mutex m2(s2.get(), "cancel");
  std::thread waiter([&] { result = m2.Lock(Context().WithStop(stop.get_token())); });
  ASSERT_TRUE(WaitFor([&] { return CountKeys("cancel/") == 2; }));
  stop.request_stop();
  waiter.join();
  EXPECT_EQ(result.code(), Code::kCancelled);
  EXPECT_EQ(CountKeys("cancel/"), 1);
}

TEST_F(ConcurrencyTest, LockDeadlineExpires) {
  auto s1 = NewSession(client_.get());
  auto s2 = NewSession(client_.get());
  ASSERT_TRUE(s1 && s2);
  Mutex m1(s1.get(), "deadline");
  ASSERT_TRUE(m1.Lock().ok());
  Mutex m2(s2.get(), "deadline");
  Status s = m2.Lock(Context().WithTimeout(std::chrono::milliseconds(200)));
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded);
  EXPECT_EQ(CountKeys("deadline/"), 1);
}

TEST_F(ConcurrencyTest, ElectionCampaignObserveProclaimResign) {
  auto sa = NewSession(client_.get());
  auto sb = NewSession(client_.get());
  auto so = NewSession(client_.get());
  ASSERT_TRUE(sa && sb && so);

  Election observer(so.get(), "elect");
  auto none = observer.Leader();
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_EQ(none.status().message(), "election: no leader");

  std::mutex mu;
  std::vector<std::string> seen;
  std::stop_source stop_observe;
  std::thread watching([&] {
    Status s = observer.Observe(Context().WithStop(stop_observe.get_token()),
                                [&](const etcdserverpb::ResponseHeader&,
                                    const mvccpb::KeyValue& kv) {
                                  std::lock_guard<std::mutex> lock(mu);
                                  seen.push_back(kv.value());
                                  return true;
                                });
    EXPECT_EQ(s.code(), Code::kCancelled);
  });
  auto seen_count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size();
  };

  Election a(sa.get(), "elect");
  ASSERT_TRUE(a.Campaign("a1").ok());
  EXPECT_EQ(a.key(), LeaseKey("elect/", sa->lease_id()));
  EXPECT_EQ(observer.Leader()->kvs(0).value(), "a1");
  ASSERT_TRUE(WaitFor([&] { return seen_count() >= 1; }));

  std::atomic<bool> b_leader{false};
  Election b(sb.get(), "elect");
  std::thread campaigning([&] {
    ASSERT_TRUE(b.Campaign("b1").ok());
    b_leader = true;
  });
  ASSERT_TRUE(WaitFor([&] {
    GetOptions o;
    o.prefix = true;
    o.count_only = true;
    return client_->Get("elect/", o)->count() == 2;
  }));
  EXPECT_FALSE(b_leader);
  ASSERT_TRUE(a.Proclaim("a2").ok());
  ASSERT_TRUE(WaitFor([&] { return seen_count() >= 2; }));
  ASSERT_TRUE(a.Resign().ok());
  ASSERT_TRUE(WaitFor([&] { return b_leader.load(); }));
  campaigning.join();
  EXPECT_EQ(observer.Leader()->kvs(0).value(), "b1");
  ASSERT_TRUE(WaitFor([&] { return seen_count() >= 3; }));
  EXPECT_EQ(a.Proclaim("a3").message(), "election: not leader");
  stop_observe.request_stop();
  watching.join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen[0], "a1");
  EXPECT_EQ(seen[1], "a2");
  EXPECT_EQ(seen.back(), "b1");
}

TEST_F(ConcurrencyTest, CancelledCampaignDeletesItsKey) {
  auto sa = NewSession(client_.get());
  auto sb = NewSession(client_.get());
  ASSERT_TRUE(sa && sb);
  Election a(sa.get(), "ce");
  ASSERT_TRUE(a.Campaign("a").ok());
  Election b(sb.get(), "ce");
  Status s = b.Campaign("b", Context().WithTimeout(std::chrono::milliseconds(200)));
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded);
  EXPECT_EQ(CountKeys("ce/"), 1);
}

}  // namespace
}  // namespace grid::client
