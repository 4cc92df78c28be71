#include "router/protect/retry_budget.h"

#include "common/check.h"

namespace grid::router::protect {

void RetryBudget::Check(const table::RetryBudget& config) {
  GRID_CHECK_LE(config.percent, kMaxRetryPercent);
  GRID_CHECK_LE(config.min_retries_per_s, kMaxMinRetriesPerS);
  GRID_CHECK_LE(config.max_retries_per_request, kMaxRetriesPerRequest);
}

RetryBudget::RetryBudget(const table::RetryBudget& config, TimePoint now)
    : percent_(config.percent), max_per_request_(config.max_retries_per_request) {
  Check(config);
  if (config.min_retries_per_s > 0) {
    per_second_.emplace(config.min_retries_per_s, config.min_retries_per_s, now);
  }
}

void RetryBudget::Reconfigure(const table::RetryBudget& config, TimePoint now) {
  Check(config);
  percent_.store(config.percent, std::memory_order_relaxed);
  max_per_request_.store(config.max_retries_per_request, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  if (config.min_retries_per_s == 0) {
    per_second_.reset();
  } else if (per_second_) {
    per_second_->Reconfigure(config.min_retries_per_s, config.min_retries_per_s, now);
  } else {
    per_second_.emplace(config.min_retries_per_s, config.min_retries_per_s, now);
  }
}

Slot RetryBudget::StartRequest() {
  requests_.fetch_add(1, std::memory_order_relaxed);
  return Slot(&requests_, nullptr);
}

Slot RetryBudget::TryRetry(TimePoint now) {
  const uint64_t allowed_x100 = uint64_t{percent_.load(std::memory_order_relaxed)} *
                                requests_.load(std::memory_order_relaxed);
  uint32_t v = retries_.load(std::memory_order_relaxed);
  while ((uint64_t{v} + 1) * 100 <= allowed_x100) {
    if (retries_.compare_exchange_weak(v, v + 1, std::memory_order_relaxed)) {
      return Slot(&retries_, nullptr);
    }
  }
  std::lock_guard lock(mu_);
  if (per_second_ && per_second_->TryTake(now).allowed) {
    retries_.fetch_add(1, std::memory_order_relaxed);
    return Slot(&retries_, nullptr);
  }
  return Slot(Refusal::kRetryBudget);
}

}  // namespace grid::router::protect
