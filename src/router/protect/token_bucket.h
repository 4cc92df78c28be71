// A token bucket with exact integer arithmetic: it holds up to `burst` tokens and gains `rps`
// tokens per second, continuously. Tokens are counted in billionths (nano-tokens), so a bucket
// gains exactly `rps` nano-tokens per nanosecond and never loses a fraction to rounding.
//
// Not thread-safe: the owner serialises calls (TenantRateLimiter holds a shard mutex; RetryBudget
// a mutex). A `now` older than the last one seen adds nothing (time never runs backwards here).
#pragma once

#include <chrono>
#include <cstdint>

#include "router/protect/limits.h"

namespace grid::router::protect {

// The Retry-After value for a wait: whole seconds rounded up, at least 1.
uint32_t RetryAfterSeconds(std::chrono::nanoseconds wait);

class TokenBucket {
 public:
  // Starts full. REQUIRES: 1 <= rps <= kMaxRateRps; 1 <= burst <= kMaxRateBurst.
  TokenBucket(uint32_t rps, uint32_t burst, TimePoint now);

  struct Take {
    bool allowed = false;
    std::chrono::nanoseconds wait{0};  // refused: until the next token (> 0); allowed: 0
  };
  // Takes one token if there is one.
  Take TryTake(TimePoint now);

  // New rate and size; the tokens already there stay (at most the new burst).
  void Reconfigure(uint32_t rps, uint32_t burst, TimePoint now);

  // True when the bucket holds `burst` tokens at `now` (forgetting it loses nothing).
  bool Full(TimePoint now) const;
  // Whole tokens at `now`.
  uint64_t Tokens(TimePoint now) const;

  uint32_t rps() const { return rps_; }
  uint32_t burst() const { return burst_; }

 private:
  static constexpr int64_t kNanoTokens = 1'000'000'000;  // per token
  int64_t NanoTokensAt(int64_t now_ns) const;
  void Advance(int64_t now_ns);

  uint32_t rps_;
  uint32_t burst_;
  int64_t nano_tokens_;  // <= burst_ * kNanoTokens <= 10^16
  int64_t last_ns_;      // the latest `now` seen
};

}  // namespace grid::router::protect
