// The router's retry budget (router `retry_budget`): retries may add at most `percent` of the
// requests in flight — a retry is allowed when
//     (retries in flight + 1) × 100 <= percent × requests in flight
// — and when that refuses, up to `min_retries_per_s` retries per second are allowed anyway (a
// token bucket of that rate holding one second's worth), so a quiet router can still retry.
// The per-request cap (`max_retries_per_request`) is RetryPolicy's to apply.
//
// One RetryBudget per router process, shared by every loop thread: the in-flight counts are
// atomics (a retry is admitted by compare-and-swap, so it never exceeds the percentage), the
// per-second bucket sits behind a mutex taken only when the percentage refuses.
//
// Lifetime: Slots point into the budget; it must outlive them (it lives as long as the router).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>

#include "router/protect/limits.h"
#include "router/protect/slot.h"
#include "router/protect/token_bucket.h"
#include "router/table/config.h"

namespace grid::router::protect {

class RetryBudget {
 public:
  // REQUIRES: config within the kMax* ranges of limits.h.
  RetryBudget(const table::RetryBudget& config, TimePoint now);

  // New settings (a new router key). Any thread. Requests and retries in flight stay counted.
  void Reconfigure(const table::RetryBudget& config, TimePoint now);

  // Counts one client request in flight (for its whole life, retries included) until the slot
  // is released. Never refused.
  Slot StartRequest();

  // Admits one retry attempt, counted in flight until the slot is released; an empty slot
  // (kRetryBudget) when the budget refuses.
  Slot TryRetry(TimePoint now);

  uint32_t requests_in_flight() const { return requests_.load(std::memory_order_relaxed); }
  uint32_t retries_in_flight() const { return retries_.load(std::memory_order_relaxed); }
  uint32_t max_retries_per_request() const {
    return max_per_request_.load(std::memory_order_relaxed);
  }

 private:
  static void Check(const table::RetryBudget& config);

  std::atomic<uint32_t> requests_{0};
  std::atomic<uint32_t> retries_{0};
  std::atomic<uint32_t> percent_;
  std::atomic<uint32_t> max_per_request_;
  std::mutex mu_;
  std::optional<TokenBucket> per_second_;  // guarded by mu_; none when min_retries_per_s == 0
};

}  // namespace grid::router::protect
