#include "router/protect/token_bucket.h"

#include <algorithm>

#include "common/check.h"

namespace grid::router::protect {
namespace {

int64_t ToNs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void CheckRate(uint32_t rps, uint32_t burst) {
  GRID_CHECK(rps >= 1 && rps <= kMaxRateRps) << "rps = " << rps;
  GRID_CHECK(burst >= 1 && burst <= kMaxRateBurst) << "burst = " << burst;
}

}  // namespace

uint32_t RetryAfterSeconds(std::chrono::nanoseconds wait) {
  constexpr int64_t kSecond = 1'000'000'000;
  const int64_t ns = std::max<int64_t>(wait.count(), 1);
  return static_cast<uint32_t>((ns + kSecond - 1) / kSecond);
}

TokenBucket::TokenBucket(uint32_t rps, uint32_t burst, TimePoint now)
    : rps_(rps), burst_(burst), nano_tokens_(int64_t{burst} * kNanoTokens), last_ns_(ToNs(now)) {
  CheckRate(rps, burst);
}

int64_t TokenBucket::NanoTokensAt(int64_t now_ns) const {
  const int64_t cap = int64_t{burst_} * kNanoTokens;
  if (now_ns <= last_ns_ || nano_tokens_ >= cap) return std::min(nano_tokens_, cap);
  const int64_t need = cap - nano_tokens_;
  const int64_t elapsed = now_ns - last_ns_;
  if (elapsed >= (need + rps_ - 1) / rps_) return cap;
  return nano_tokens_ + elapsed * rps_;  // < need + rps: no overflow
}

void TokenBucket::Advance(int64_t now_ns) {
  nano_tokens_ = NanoTokensAt(now_ns);
  last_ns_ = std::max(last_ns_, now_ns);
}

TokenBucket::Take TokenBucket::TryTake(TimePoint now) {
  Advance(ToNs(now));
  if (nano_tokens_ >= kNanoTokens) {
    nano_tokens_ -= kNanoTokens;
    return Take{true, std::chrono::nanoseconds(0)};
  }
  const int64_t missing = kNanoTokens - nano_tokens_;
  return Take{false, std::chrono::nanoseconds((missing + rps_ - 1) / rps_)};
}

void TokenBucket::Reconfigure(uint32_t rps, uint32_t burst, TimePoint now) {
  CheckRate(rps, burst);
  Advance(ToNs(now));
  rps_ = rps;
  burst_ = burst;
  nano_tokens_ = std::min(nano_tokens_, int64_t{burst} * kNanoTokens);
}

bool TokenBucket::Full(TimePoint now) const {
  return NanoTokensAt(ToNs(now)) >= int64_t{burst_} * kNanoTokens;
}

uint64_t TokenBucket::Tokens(TimePoint now) const {
  return static_cast<uint64_t>(NanoTokensAt(ToNs(now)) / kNanoTokens);
}

}  // namespace grid::router::protect
