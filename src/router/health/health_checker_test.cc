#include "router/health/health_checker.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "router/health/test_util.h"

namespace grid::router::health {
namespace {
using testing::FakeProber;
using testing::Ms;
using testing::T0;

std::vector<balance::BackendSpec> Backends(size_t n) {
  std::vector<balance::BackendSpec> out;
  for (size_t i = 0; i < n; ++i) out.push_back({"10.0.0." + std::to_string(i + 1) + ":8080", 1});
  return out;
}

table::HealthCheckConfig Http(uint32_t unhealthy = 3, uint32_t healthy = 2) {
  table::HealthCheckConfig c;
  c.type = table::HealthCheckType::kHttp;
  c.path = "/healthz";
  c.expected_status = 204;
  c.interval_ms = 1000;
  c.timeout_ms = 300;
  c.unhealthy_threshold = unhealthy;
  c.healthy_threshold = healthy;
  return c;
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  // Runs probe rounds of backend 0 (a one-backend group) with the given outcome.
  void Round(ProbeOutcome outcome, int status) {
    now_ = *checker_->NextDue();
    ASSERT_EQ(checker_->Tick(now_), 1u);
    prober_.Finish(outcome, status, now_ + Ms(5));
  }
  void Make(const table::HealthCheckConfig& config, size_t backends = 1) {
    specs_ = Backends(backends);
    table_ = std::make_shared<HealthTable>(backends);
    checker_ = std::make_unique<HealthChecker>(config, specs_, table_, prober_, 42, T0());
  }

  FakeProber prober_;
  std::vector<balance::BackendSpec> specs_;
  std::shared_ptr<HealthTable> table_;
  std::unique_ptr<HealthChecker> checker_;
  TimePoint now_ = T0();
};

TEST_F(HealthCheckerTest, ProbesEveryBackendWithTheConfiguredRequest) {
  Make(Http(), 3);
  EXPECT_EQ(checker_->Tick(T0() + Ms(1000)), 3u);  // every first probe falls in one interval
  ASSERT_EQ(prober_.calls.size(), 3u);
  std::set<std::string> probed;
  for (const auto& c : prober_.calls) {
    probed.insert(c.backend);
    EXPECT_EQ(c.kind, ProbeKind::kHttp);
    EXPECT_EQ(c.path, "/healthz");
    EXPECT_EQ(c.timeout, Ms(300));
  }
  EXPECT_EQ(probed, (std::set<std::string>{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"}));
  EXPECT_EQ(checker_->Tick(T0() + Ms(5000)), 0u);  // all in flight
}

TEST_F(HealthCheckerTest, UnhealthyAfterThresholdFailedProbesAndBackAfterThresholdPassed) {
  Make(Http(3, 2));
  Round(ProbeOutcome::kOk, 503);  // wrong status
  Round(ProbeOutcome::kTimedOut, 0);
  EXPECT_TRUE(table_->ActiveHealthy(0));
  Round(ProbeOutcome::kConnectFailed, 0);
  EXPECT_FALSE(table_->ActiveHealthy(0));
  Round(ProbeOutcome::kOk, 204);
  EXPECT_FALSE(table_->ActiveHealthy(0));
  Round(ProbeOutcome::kOk, 204);
  EXPECT_TRUE(table_->ActiveHealthy(0));
}

TEST_F(HealthCheckerTest, TcpSucceedsOnConnect) {
  table::HealthCheckConfig c = Http(1, 1);
  c.type = table::HealthCheckType::kTcp;
  Make(c);
  Round(ProbeOutcome::kError, 0);
  EXPECT_FALSE(table_->ActiveHealthy(0));
  Round(ProbeOutcome::kOk, 0);
  EXPECT_TRUE(table_->ActiveHealthy(0));
  EXPECT_EQ(prober_.calls.size(), 0u);
}

TEST_F(HealthCheckerTest, TheNextProbeFollowsTheInterval) {
  Make(Http());
  const TimePoint first = *checker_->NextDue();
  checker_->Tick(first);
  prober_.Finish(ProbeOutcome::kOk, 204, first + Ms(20));
  const TimePoint second = *checker_->NextDue();
  EXPECT_GE(second, first + Ms(900));
  EXPECT_LE(second, first + Ms(1100));
  EXPECT_EQ(checker_->Tick(second - Ms(1)), 0u);
  EXPECT_EQ(checker_->Tick(second), 1u);
}

TEST_F(HealthCheckerTest, StartsFromTheTableState) {
  specs_ = Backends(1);
  table_ = std::make_shared<HealthTable>(1);
  table_->SetActiveHealthy(0, false);
  checker_ = std::make_unique<HealthChecker>(Http(3, 2), specs_, table_, prober_, 1, T0());
  EXPECT_FALSE(checker_->active().healthy(0));
  Round(ProbeOutcome::kOk, 204);
  Round(ProbeOutcome::kOk, 204);
  EXPECT_TRUE(table_->ActiveHealthy(0));
}

// A prober that answers before Probe returns.
class InstantProber final : public Prober {
 public:
  void Probe(std::string_view, ProbeKind, std::string_view, std::chrono::milliseconds,
             ProbeDone done) override {
    ++probes;
    done(ProbeResult{ProbeOutcome::kConnectFailed, 0, now});
  }
  TimePoint now;
  int probes = 0;
};

TEST(HealthCheckerSyncTest, ADoneCalledInsideProbeIsFine) {
  InstantProber prober;
  auto specs = Backends(2);
  auto table = std::make_shared<HealthTable>(2);
  table::HealthCheckConfig c = Http(2, 1);
  HealthChecker checker(c, specs, table, prober, 3, T0());
  prober.now = T0() + Ms(1000);
  EXPECT_EQ(checker.Tick(prober.now), 2u);  // once each, not again at once
  EXPECT_GT(*checker.NextDue(), prober.now);
  prober.now = *checker.NextDue() + Ms(1000);
  EXPECT_EQ(checker.Tick(prober.now), 2u);
  EXPECT_FALSE(table->ActiveHealthy(0));
  EXPECT_FALSE(table->ActiveHealthy(1));
}

TEST_F(HealthCheckerTest, ADoneAfterTheCheckerIsGoneDoesNothing) {
  Make(Http(1, 1));
  checker_->Tick(T0() + Ms(1000));
  ASSERT_EQ(prober_.calls.size(), 1u);
  checker_.reset();
  prober_.Finish(ProbeOutcome::kConnectFailed, 0, T0() + Ms(1001));
  EXPECT_TRUE(table_->ActiveHealthy(0));
}

}  // namespace
}  // namespace grid::router::health
