#include "router/protect/rate_limiter.h"

#include <bit>
#include <cstring>
#include <functional>

#include "common/check.h"

namespace grid::router::protect {
namespace {

constexpr uint32_t kNil = 0xffffffff;

}  // namespace

// A fixed-capacity map from key to bucket with an LRU list: nodes in one vector (reserved at
// construction, never reallocated), an open-addressed index (linear probing, backward-shift
// deletion, at most half full), and a doubly linked recency list through the nodes.
struct TenantRateLimiter::Shard {
  struct Node {
    uint64_t hash;
    TokenBucket bucket;
    uint32_t prev;  // towards the most recently used
    uint32_t next;  // towards the least recently used
    uint8_t key_len;
    char key[kMaxRateKeyBytes];

    std::string_view key_view() const { return std::string_view(key, key_len); }
  };

  explicit Shard(size_t cap)
      : capacity(cap), slots(std::bit_ceil(2 * cap)), mask(slots.size() - 1) {
    nodes.reserve(cap);
  }

  // The slot holding `key`, or the empty slot where it would go.
  size_t Probe(uint64_t hash, std::string_view key) const {
    size_t i = hash & mask;
    while (slots[i] != 0) {
      const Node& n = nodes[slots[i] - 1];
      if (n.hash == hash && n.key_view() == key) return i;
      i = (i + 1) & mask;
    }
    return i;
  }

  void Unlink(uint32_t n) {
    Node& node = nodes[n];
    if (node.prev != kNil)
      nodes[node.prev].next = node.next;
    else
      head = node.next;
    if (node.next != kNil)
      nodes[node.next].prev = node.prev;
    else
      tail = node.prev;
  }

  void PushFront(uint32_t n) {
    nodes[n].prev = kNil;
    nodes[n].next = head;
    if (head != kNil) nodes[head].prev = n;
    head = n;
    if (tail == kNil) tail = n;
  }

  // Removes node n's slot from the index (backward-shift deletion keeps probe chains whole).
  void EraseSlot(uint32_t n) {
    size_t i = Probe(nodes[n].hash, nodes[n].key_view());
    GRID_CHECK_EQ(slots[i], n + 1);
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (slots[j] == 0) break;
      const size_t home = nodes[slots[j] - 1].hash & mask;
      // The entry at j may move to i unless its home lies cyclically in (i, j].
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots[i] = slots[j];
      i = j;
    }
    slots[i] = 0;
  }

  std::mutex mu;
  const size_t capacity;
  std::vector<Node> nodes;
  std::vector<uint32_t> slots;  // node index + 1; 0: empty
  const size_t mask;
  uint32_t head = kNil;  // most recently used
  uint32_t tail = kNil;  // least recently used
};

TenantRateLimiter::TenantRateLimiter(RateLimiterOptions options)
    : max_buckets_(options.max_buckets) {
  GRID_CHECK(options.shards >= 1 && options.shards <= kMaxRateShards &&
             std::has_single_bit(options.shards))
      << "shards = " << options.shards;
  GRID_CHECK(options.max_buckets >= options.shards && options.max_buckets <= kMaxRateBuckets)
      << "max_buckets = " << options.max_buckets;
  for (size_t s = 0; s < options.shards; ++s) {
    // The first (max_buckets % shards) shards take one more, so the sum is max_buckets.
    const size_t cap =
        options.max_buckets / options.shards + (s < options.max_buckets % options.shards ? 1 : 0);
    shards_.push_back(std::make_unique<Shard>(cap));
  }
}

TenantRateLimiter::~TenantRateLimiter() = default;

TenantRateLimiter::Shard& TenantRateLimiter::ShardFor(uint64_t hash) {
  // The index uses the low bits; the shard the high ones.
  return *shards_[(hash >> 40) & (shards_.size() - 1)];
}

TenantRateLimiter::Verdict TenantRateLimiter::Allow(std::string_view tenant,
                                                    const table::RateLimit& limit, TimePoint now) {
  GRID_CHECK_LE(tenant.size(), kMaxRateKeyBytes);
  const uint64_t hash = std::hash<std::string_view>{}(tenant);
  Shard& shard = ShardFor(hash);
  std::lock_guard lock(shard.mu);

  size_t slot = shard.Probe(hash, tenant);
  uint32_t n;
  if (shard.slots[slot] != 0) {
    n = shard.slots[slot] - 1;
    TokenBucket& bucket = shard.nodes[n].bucket;
    if (bucket.rps() != limit.rps || bucket.burst() != limit.burst) {
      bucket.Reconfigure(limit.rps, limit.burst, now);
    }
    shard.Unlink(n);
  } else {
    if (shard.nodes.size() < shard.capacity) {
      n = static_cast<uint32_t>(shard.nodes.size());
      // Within the capacity reserved at construction: no allocation.
      shard.nodes.push_back(Shard::Node{.hash = hash,
                                        .bucket = TokenBucket(limit.rps, limit.burst, now),
                                        .prev = kNil,
                                        .next = kNil,
                                        .key_len = 0,
                                        .key = {}});
    } else {
      n = shard.tail;
      Shard::Node& victim = shard.nodes[n];
      evictions_.fetch_add(1, std::memory_order_relaxed);
      if (!victim.bucket.Full(now)) lossy_evictions_.fetch_add(1, std::memory_order_relaxed);
      shard.EraseSlot(n);
      shard.Unlink(n);
      victim.hash = hash;
      victim.bucket = TokenBucket(limit.rps, limit.burst, now);
      slot = shard.Probe(hash, tenant);  // the erase may have moved the empty slot
    }
    Shard::Node& node = shard.nodes[n];
    node.key_len = static_cast<uint8_t>(tenant.size());
    if (!tenant.empty()) std::memcpy(node.key, tenant.data(), tenant.size());
    shard.slots[slot] = n + 1;
  }
  shard.PushFront(n);
  const TokenBucket::Take take = shard.nodes[n].bucket.TryTake(now);
  if (take.allowed) return Verdict{true, 0};
  return Verdict{false, RetryAfterSeconds(take.wait)};
}

size_t TenantRateLimiter::bucket_count() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    n += shard->nodes.size();
  }
  return n;
}

}  // namespace grid::router::protect
