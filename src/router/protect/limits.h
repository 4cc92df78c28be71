// Named limits of the protection state, and the time type every piece takes. Nothing here reads
// a clock: callers pass `now` (a steady_clock time point) into every call that needs time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace grid::router::protect {

using TimePoint = std::chrono::steady_clock::time_point;

// Token buckets (the route table validates tenant rate limits to the same ranges).
inline constexpr uint32_t kMaxRateRps = 1'000'000;
inline constexpr uint32_t kMaxRateBurst = 10'000'000;

// TenantRateLimiter: the longest key (a tenant name is a DNS label), the default and largest
// number of buckets it keeps, and its shard count (a power of two, at most the bucket count).
inline constexpr size_t kMaxRateKeyBytes = 63;
inline constexpr size_t kDefaultMaxRateBuckets = 65'536;
inline constexpr size_t kMaxRateBuckets = 1 << 20;
inline constexpr size_t kDefaultRateShards = 16;
inline constexpr size_t kMaxRateShards = 256;

// Retry budget settings (validated by the route table to the same ranges).
inline constexpr uint32_t kMaxRetryPercent = 100;
inline constexpr uint32_t kMaxMinRetriesPerS = 10'000;
inline constexpr uint32_t kMaxRetriesPerRequest = 5;

// Concurrency caps (validated by the route table): connections and pending requests, per cell
// and per backend.
inline constexpr uint32_t kMaxConcurrencyCap = 1'000'000;

}  // namespace grid::router::protect
