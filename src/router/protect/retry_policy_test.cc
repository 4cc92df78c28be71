#include "router/protect/retry_policy.h"

#include <gtest/gtest.h>

namespace grid::router::protect {
namespace {

TimePoint T0() { return TimePoint(std::chrono::hours(1000)); }

TEST(RetryRulesTest, IdempotentMethods) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    EXPECT_TRUE(IsIdempotentMethod(m)) << m;
  }
  for (const char* m : {"POST", "PATCH", "CONNECT", "get", "PROPFIND", ""}) {
    EXPECT_FALSE(IsIdempotentMethod(m)) << m;
  }
}

TEST(RetryRulesTest, AConnectFailureMayRetryAnyMethod) {
  for (const char* m : {"GET", "POST", "PATCH"}) {
    EXPECT_EQ(RetryAllowedByRules(FailureStage::kConnect, m, false, 0, 1), RetryVerdict::kRetry);
  }
}

TEST(RetryRulesTest, AfterRequestBytesOnlyIdempotentReplayableRequests) {
  EXPECT_EQ(RetryAllowedByRules(FailureStage::kRequestSent, "GET", true, 0, 1),
            RetryVerdict::kRetry);
  EXPECT_EQ(RetryAllowedByRules(FailureStage::kRequestSent, "PUT", true, 0, 1),
            RetryVerdict::kRetry);
  EXPECT_EQ(RetryAllowedByRules(FailureStage::kRequestSent, "POST", true, 0, 1),
            RetryVerdict::kNotIdempotent);
  EXPECT_EQ(RetryAllowedByRules(FailureStage::kRequestSent, "PUT", false, 0, 1),
            RetryVerdict::kBodyNotReplayable);
}

TEST(RetryRulesTest, NeverAfterResponseBytes) {
  for (const char* m : {"GET", "POST"}) {
    EXPECT_EQ(RetryAllowedByRules(FailureStage::kResponseStarted, m, true, 0, 5),
              RetryVerdict::kResponseStarted);
  }
}

TEST(RetryRulesTest, PerRequestLimitExactly) {
  EXPECT_EQ(RetryAllowedByRules(FailureStage::kConnect, "GET", true, 1, 2), RetryVerdict::kRetry);
  EXPECT_EQ(RetryAllowedByRules(FailureStage::kConnect, "GET", true, 2, 2),
            RetryVerdict::kPerRequestLimit);
  EXPECT_EQ(RetryAllowedByRules(FailureStage::kConnect, "GET", true, 0, 0),
            RetryVerdict::kPerRequestLimit);
}

TEST(RetryPolicyTest, ARetryNeedsTheBudget) {
  RetryBudget budget(table::RetryBudget{50, 0, 2}, T0());
  RetryPolicy policy(budget);
  Slot r1 = budget.StartRequest();
  Slot r2 = budget.StartRequest();
  auto first = policy.Decide(FailureStage::kConnect, "POST", false, 0, T0());
  EXPECT_EQ(first.verdict, RetryVerdict::kRetry);
  EXPECT_TRUE(first.retry);
  EXPECT_EQ(budget.retries_in_flight(), 1u);
  auto second = policy.Decide(FailureStage::kConnect, "GET", true, 0, T0());
  EXPECT_EQ(second.verdict, RetryVerdict::kBudget);  // 50 % of 2 is in use
  EXPECT_FALSE(second.retry);
  auto limited = policy.Decide(FailureStage::kConnect, "GET", true, 2, T0());
  EXPECT_EQ(limited.verdict, RetryVerdict::kPerRequestLimit);
  first.retry.Release();
  EXPECT_EQ(policy.Decide(FailureStage::kRequestSent, "GET", true, 1, T0()).verdict,
            RetryVerdict::kRetry);
  EXPECT_EQ(budget.retries_in_flight(), 0u);  // that decision's slot was dropped
}

}  // namespace
}  // namespace grid::router::protect
