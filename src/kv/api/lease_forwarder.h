// How a member that does not lead reaches the leader's lessor. Only the leader expires leases,
// so keepalives and time-to-live reads are answered there (etcd's LeaseRenew and
// LeaseTimeToLive on a follower).
#pragma once

#include <cstdint>
#include <functional>

#include "common/status.h"
#include "kv/lease/lessor.h"

namespace grid::kv::api {

// etcd's ErrGRPCNoLeader: no leader was known before the request's time ran out.
inline Status ErrNoLeader() { return Unavailable("etcdserver: no leader"); }

class LeaseForwarder {
 public:
  virtual ~LeaseForwarder() = default;

  // True when this member leads: the lease service then renews and reads its own lessor.
  // Thread-safe, quick.
  virtual bool IsLeader() const = 0;

  // Each runs `done` exactly once, from any thread, possibly before returning; the caller must
  // not hold a lock `done` takes. Results: the value, NotFound(lease::kErrLeaseNotFound) for a
  // lease the leader does not have, or the error etcd's client sees (ErrNoLeader(),
  // "etcdserver: request timed out", "etcdserver: server stopped", ...). Thread-safe.
  //
  // Renew: the lease's TTL in seconds after the leader renewed it.
  virtual void Renew(int64_t id, std::function<void(Result<int64_t> ttl_seconds)> done) = 0;
  // TimeToLive: the leader's view of the lease; keys only when `keys`.
  virtual void TimeToLive(int64_t id, bool keys,
                          std::function<void(Result<lease::TimeToLiveResult>)> done) = 0;
};

}  // namespace grid::kv::api
