// The lease keeper: one thread that turns local time into log entries. Every tick it
//   - proposes a revoke (InternalRequest.lease_revoke) for each expired lease, rate limited,
//     never twice for a lease whose revoke is still in flight (a failed revoke is retried on a
//     later tick);
//   - proposes a checkpoint with remaining TTL 0 for leases renewed since a non-zero
//     checkpoint (so a restart grants them their full TTL again);
//   - every checkpoint interval, proposes the remaining TTL of every live lease, in batches
//     (so a restart does not extend leases past what their holders were promised).
// Time decisions use the injected Clock; the thread itself wakes every `tick_ms` of real time.
#pragma once

#include <functional>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "kv/lease/clock.h"
#include "kv/lease/lessor.h"
#include "kv/server/proposer.h"

namespace grid::kv::lease {

struct KeeperOptions {
  int64_t tick_ms = 500;
  // Token bucket: at most this many revokes proposed per second (burst of one second).
  int64_t max_revokes_per_second = 1000;
  // etcd's maxPendingRevokes: revokes proposed but not yet applied.
  size_t max_revokes_in_flight = 16;
  // etcd's default lease checkpoint interval.
  int64_t checkpoint_interval_ms = 5 * 60 * 1000;
  // etcd's maxLeaseCheckpointBatchSize.
  size_t max_checkpoints_per_proposal = 1000;
  // Only the leader expires and checkpoints leases (whoever makes a member leader calls
  // Lessor::Promote then). Null: this member always leads.
  std::function<bool()> is_leader;
};

class LeaseKeeper {
 public:
  // `lessor`, `proposer` and `clock` must outlive the keeper and every proposal it made.
  LeaseKeeper(Lessor& lessor, Proposer& proposer, const Clock& clock, KeeperOptions options);
  ~LeaseKeeper();  // Stop()s
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Starts the thread. REQUIRES: not started. The first periodic checkpoint is due one
  // interval after construction; the revoke bucket starts full.
  void Start();
  // Joins the thread. Idempotent. Revokes in flight still complete through the proposer.
  void Stop();

  // One tick, on the caller's thread (tests drive the keeper with this instead of Start()).
  void TickForTest() { Tick(); }

  size_t revokes_in_flight() const;

 private:
  struct InFlight {
    std::mutex mu;
    std::unordered_set<int64_t> ids;
  };

  void Run();
  void Tick();
  void ProposeRevokes(int64_t now_ms);
  void ProposeCheckpointClears();
  void ProposeCheckpoints();

  Lessor& lessor_;
  Proposer& proposer_;
  const Clock& clock_;
  const KeeperOptions options_;

  // Shared with the apply callbacks, which may run after the keeper is gone.
  std::shared_ptr<InFlight> in_flight_ = std::make_shared<InFlight>();

  // Tick state: touched only by the ticking thread.
  int64_t revoke_tokens_milli_ = 0;  // thousandths of a revoke
  int64_t last_refill_ms_ = 0;
  int64_t next_checkpoint_ms_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace grid::kv::lease
