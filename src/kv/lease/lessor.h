// The lessor: every live lease, its TTL, its expiry and the keys attached to it (etcd's
// lease.Lessor, always primary: this member decides expiry).
//
// Two kinds of callers:
//   - The apply thread, in log order: Grant, Revoke, Checkpoint, Recover and the LeaseHooks
//     (LeaseExists/Attach/Detach). These change the replicated state deterministically: they
//     read the clock only to set an expiry, and never decide to expire a lease on their own.
//   - Any thread: Renew (keepalive), TimeToLive, Leases, and the keeper's queries
//     (FindExpired, CollectCheckpoints, TakeCheckpointClears).
// Every method is thread-safe (one mutex).
//
// Expiry is local state: only the keeper, after seeing a lease expired, proposes its revoke
// through the log, and the lease is gone when that revoke is applied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/status.h"
#include "grid/internal.pb.h"
#include "kv/apply/lease_hooks.h"
#include "kv/lease/clock.h"

namespace grid::kv::lease {

// etcd's lease.MaxLeaseTTL.
inline constexpr int64_t kMaxLeaseTtlSeconds = 9'000'000'000;

// etcd 3.4's error texts.
inline constexpr char kErrLeaseNotFound[] = "etcdserver: requested lease not found";
inline constexpr char kErrLeaseExists[] = "etcdserver: lease already exists";
inline constexpr char kErrLeaseTtlTooLarge[] = "etcdserver: too large lease TTL";
// grid's own limit (etcd has none).
inline constexpr char kErrTooManyLeases[] = "etcdserver: too many leases";

// etcd's minimum TTL: ceil(((3 * election_ticks) / 2) * heartbeat) in seconds, where
// election_ticks = election_timeout / heartbeat. 2 for etcd's defaults (100 ms, 1000 ms).
// REQUIRES: heartbeat_ms > 0.
int64_t MinLeaseTtlSeconds(int64_t heartbeat_ms, int64_t election_timeout_ms);

struct LessorOptions {
  // Shorter TTLs are raised to this (etcd's defaults give 2).
  int64_t min_ttl_seconds = 2;
  // Grants beyond this many live leases fail with ResourceExhausted(kErrTooManyLeases).
  size_t max_leases = 10'000'000;
};

struct TimeToLiveResult {
  int64_t granted_ttl_seconds = 0;
  int64_t remaining_ttl_seconds = 0;  // whole seconds left, truncated (as etcd); never < 0
  std::vector<std::string> keys;      // sorted; empty unless asked for
};

// A key of the store that carries a lease, for Recover.
struct LeasedKey {
  std::string key;
  int64_t lease_id = 0;
};

class Lessor final : public LeaseHooks {
 public:
  // `clock` must outlive the lessor.
  Lessor(const Clock& clock, LessorOptions options);
  Lessor(const Lessor&) = delete;
  Lessor& operator=(const Lessor&) = delete;

  const LessorOptions& options() const { return options_; }

  // ---- Apply thread only, in log order ----

  // Creates lease `id` expiring ttl_seconds from now (ttl raised to min_ttl_seconds) and fills
  // `to_persist` with its record. Errors: NotFound(kErrLeaseNotFound) for id 0,
  // OutOfRange(kErrLeaseTtlTooLarge) above kMaxLeaseTtlSeconds,
  // FailedPrecondition(kErrLeaseExists), ResourceExhausted(kErrTooManyLeases) at max_leases.
  Status Grant(int64_t id, int64_t ttl_seconds, kvpb::LeaseRecord* to_persist);

  // Forgets lease `id` and returns its keys, sorted. The caller deletes them in one revision
  // and removes the lease record. Errors: NotFound(kErrLeaseNotFound).
  Result<std::vector<std::string>> Revoke(int64_t id);

  // Records the remaining TTL a restart should grant (0: the full TTL). Does not change the
  // expiry. Returns false (and changes nothing) for an unknown lease, else fills `to_persist`.
  bool Checkpoint(int64_t id, int64_t remaining_ttl_seconds, kvpb::LeaseRecord* to_persist);

  // Replaces all state from the backend at start: each lease expires after its checkpointed
  // remaining TTL (the full TTL if never checkpointed) from now. Keys whose lease is not among
  // `records` are ignored; returns how many were.
  size_t Recover(const std::vector<kvpb::LeaseRecord>& records,
                 const std::vector<LeasedKey>& keys_with_leases);

  // LeaseHooks. REQUIRES for Attach: LeaseExists(lease_id). Detach of an unknown lease or key
  // does nothing.
  bool LeaseExists(int64_t lease_id) const override;
  void Attach(int64_t lease_id, std::string_view key) override;
  void Detach(int64_t lease_id, std::string_view key) override;

  // ---- Any thread ----

  // Keepalive: the lease expires ttl seconds from now; returns the ttl. A lease already past
  // its expiry is waiting for its revoke and is NotFound(kErrLeaseNotFound), like a missing one.
  Result<int64_t> Renew(int64_t id);

  // This member became the leader: every lease expires its remaining TTL (the last checkpoint,
  // else its granted TTL) plus `extend_ms` from now, as etcd's Promote. Keepalives went to the
  // old leader, so this member's expiries are stale; a new leader never cuts a lease short.
  void Promote(int64_t extend_ms);

  // Errors: NotFound(kErrLeaseNotFound).
  Result<TimeToLiveResult> TimeToLive(int64_t id, bool with_keys) const;

  // Ids of all leases, soonest expiry first.
  std::vector<int64_t> Leases() const;

  // Up to `max_count` leases past their expiry, soonest first, skipping those in `exclude`.
  std::vector<int64_t> FindExpired(size_t max_count,
                                   const std::unordered_set<int64_t>& exclude) const;

  // The remaining TTL (whole seconds, rounded up) of every live lease whose remaining TTL is
  // below its granted TTL, ordered by id.
  std::vector<kvpb::LeaseCheckpoint> CollectCheckpoints() const;

  // Leases renewed since a non-zero checkpoint was applied: their stored remaining TTL is
  // stale and must be reset to 0 by a checkpoint. Returns up to `max_count` and forgets them.
  std::vector<int64_t> TakeCheckpointClears(size_t max_count);

  size_t size() const;

 private:
  struct Lease {
    int64_t ttl_seconds = 0;
    int64_t remaining_ttl_seconds = 0;  // last applied checkpoint; 0: none
    int64_t expiry_ms = 0;
    std::set<std::string, std::less<>> keys;
  };

  void SetExpiryLocked(int64_t id, Lease& lease, int64_t expiry_ms);
  kvpb::LeaseRecord RecordLocked(int64_t id, const Lease& lease) const;

  const Clock& clock_;
  const LessorOptions options_;

  mutable std::mutex mu_;
  std::map<int64_t, Lease> leases_;
  std::set<std::pair<int64_t, int64_t>> by_expiry_;  // (expiry_ms, id)
  std::set<int64_t> checkpoint_clears_;
};

}  // namespace grid::kv::lease
