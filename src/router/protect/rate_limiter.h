// Per-tenant request rate limits: one token bucket per tenant (rps, burst from the tenant's
// rate_limit), in a map of bounded size.
//
// Global per router process: one TenantRateLimiter is shared by every loop thread, so a tenant
// has one bucket whatever loop its requests arrive on. The map is split into shards by a hash
// of the tenant name; each shard has its own mutex, held only for the lookup and the bucket
// arithmetic (no allocation: every shard's nodes and index are sized at construction). (Each
// router enforces the limit on its own: N routers in front of a cell allow up to N × rps.)
//
// Bounded: at most `max_buckets` buckets (each shard max_buckets / shards). A tenant without a
// bucket gets a full one. When a shard is full, its least recently used bucket is evicted.
// Eviction loses nothing when that bucket is full (its tenant has been idle at least burst/rps
// seconds: a new bucket would start full anyway); evicting a bucket that is not full forgives its
// debt, which is counted (lossy_evictions) — a sign the limit is too small for the tenants active
// at once.
//
// A limit that changes (the tenant's config) reconfigures the bucket on its next request,
// keeping its tokens up to the new burst.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "router/protect/limits.h"
#include "router/protect/token_bucket.h"
#include "router/table/config.h"

namespace grid::router::protect {

struct RateLimiterOptions {
  size_t max_buckets = kDefaultMaxRateBuckets;  // 1..kMaxRateBuckets, >= shards
  size_t shards = kDefaultRateShards;           // power of two, 1..kMaxRateShards
};

class TenantRateLimiter {
 public:
  explicit TenantRateLimiter(RateLimiterOptions options = {});
  ~TenantRateLimiter();
  TenantRateLimiter(const TenantRateLimiter&) = delete;
  TenantRateLimiter& operator=(const TenantRateLimiter&) = delete;

  struct Verdict {
    bool allowed = false;
    uint32_t retry_after_s = 0;  // refused: the Retry-After to send with 429 (>= 1)
  };
  // Counts one request of `tenant` against `limit`. Any thread.
  // REQUIRES: tenant.size() <= kMaxRateKeyBytes; limit within TokenBucket's ranges.
  Verdict Allow(std::string_view tenant, const table::RateLimit& limit, TimePoint now);

  size_t bucket_count() const;
  size_t max_buckets() const { return max_buckets_; }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  uint64_t lossy_evictions() const { return lossy_evictions_.load(std::memory_order_relaxed); }

 private:
  struct Shard;
  Shard& ShardFor(uint64_t hash);

  const size_t max_buckets_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> lossy_evictions_{0};
};

}  // namespace grid::router::protect
