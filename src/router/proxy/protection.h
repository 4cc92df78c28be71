// The protection state one router process shares across its loops: tenant rate limits and
// the retry budget with its rules. Reconfigured from each published table's router settings
// (StatePublisher); read by every loop per request. See router/protect/README.md.
#pragma once

#include <chrono>

#include "router/protect/rate_limiter.h"
#include "router/protect/retry_budget.h"
#include "router/protect/retry_policy.h"
#include "router/table/config.h"

namespace grid::router::proxy {

struct ProcessProtection {
  explicit ProcessProtection(protect::RateLimiterOptions rate_options = {})
      : rate_limiter(rate_options),
        retry_budget(table::RetryBudget{}, std::chrono::steady_clock::now()),
        retry_policy(retry_budget) {}
  ProcessProtection(const ProcessProtection&) = delete;
  ProcessProtection& operator=(const ProcessProtection&) = delete;

  protect::TenantRateLimiter rate_limiter;
  protect::RetryBudget retry_budget;
  protect::RetryPolicy retry_policy;
};

}  // namespace grid::router::proxy
