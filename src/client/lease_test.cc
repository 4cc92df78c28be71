#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include "client/client.h"
#include "client/testing/etcd_fixture.h"

namespace grid::client {
namespace {

using testing::EtcdFixture;
using testing::WaitFor;

class LeaseTest : public EtcdFixture {};

TEST_F(LeaseTest, KeepAliveOutlivesTtl) {
  auto grant = client_->Grant(2);
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  std::atomic<bool> lost{false};
  auto ka = client_->KeepAlive(grant->id(), [&](const Status&) { lost = true; });
  // 4 refreshes at TTL/3 span more than the 2 s TTL.
  ASSERT_TRUE(WaitFor([&] { return ka->refresh_count() >= 4; }));
  EXPECT_FALSE(lost);
  EXPECT_FALSE(ka->lost());
  EXPECT_EQ(ka->ttl_seconds(), 2);
  auto ttl = client_->TimeToLive(grant->id());
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->ttl(), 0);
}

TEST_F(LeaseTest, KeepAliveReportsRevokedLease) {
  auto grant = client_->Grant(3);
  ASSERT_TRUE(grant.ok());
  std::mutex mu;
  std::vector<Status> reports;
  auto ka = client_->KeepAlive(grant->id(), [&](const Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    reports.push_back(s);
  });
  ASSERT_TRUE(WaitFor([&] { return ka->refresh_count() >= 1; }));
  ASSERT_TRUE(client_->Revoke(grant->id()).ok());
  ASSERT_TRUE(WaitFor([&] { return ka->lost(); }));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].code(), Code::kNotFound);
  EXPECT_EQ(reports[0].message(), "etcdserver: requested lease not found");
}

TEST_F(LeaseTest, KeepAliveOfUnknownLeaseIsLost) {
  auto ka = client_->KeepAlive(424242);
  ASSERT_TRUE(WaitFor([&] { return ka->lost(); }));
}

TEST_F(LeaseTest, ManyLeasesShareOneStream) {
  constexpr int kLeases = 50;
  std::vector<std::unique_ptr<LeaseKeepAlive>> handles;
  for (int i = 0; i < kLeases; ++i) {
    auto grant = client_->Grant(30);
    ASSERT_TRUE(grant.ok());
    handles.push_back(client_->KeepAlive(grant->id()));
  }
  ASSERT_TRUE(WaitFor([&] {
    for (auto& h : handles) {
      if (h->refresh_count() < 1) return false;
    }
    return true;
  }));
  for (auto& h : handles) EXPECT_FALSE(h->lost());
}

TEST_F(LeaseTest, KeepAliveSurvivesServerRestart) {
  auto grant = client_->Grant(10);
  ASSERT_TRUE(grant.ok());
  auto ka = client_->KeepAlive(grant->id());
  ASSERT_TRUE(WaitFor([&] { return ka->refresh_count() >= 1; }));
  ASSERT_TRUE(etcd_->Restart().ok());
  const int64_t before = ka->refresh_count();
  ASSERT_TRUE(WaitFor([&] { return ka->refresh_count() > before; }));
  EXPECT_FALSE(ka->lost());
}

TEST_F(LeaseTest, KeepAliveTimesOutWhileServerIsDown) {
  auto grant = client_->Grant(2);
  ASSERT_TRUE(grant.ok());
  std::atomic<int> code{0};
  auto ka = client_->KeepAlive(grant->id(),
                               [&](const Status& s) { code = static_cast<int>(s.code()); });
  ASSERT_TRUE(WaitFor([&] { return ka->refresh_count() >= 1; }));
  etcd_->Kill();
  ASSERT_TRUE(WaitFor([&] { return ka->lost(); }));
  EXPECT_EQ(code.load(), static_cast<int>(Code::kDeadlineExceeded));
}

}  // namespace
}  // namespace grid::client
