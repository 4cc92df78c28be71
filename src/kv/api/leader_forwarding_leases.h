// LeaseForwarder for a member of a Raft cluster: asks the current leader (etcd's LeaseRenew and
// LeaseTimeToLive on a follower). An answer that is not final (the member asked no longer
// leads, is unreachable, or did not answer in time) makes it ask again: at once when the
// leader changed meanwhile, else after retry_interval, until request_timeout has passed since
// the request came. Then it fails with ErrNoLeader() if no leader was known at the last look,
// else with "etcdserver: request timed out" (etcd's ErrTimeout).
//
//   LeaderForwardingLeases leases(options, calls);   // calls: the transport and the lessor
//   LeaseService service(..., &leases);
//   ...
//   leases.Stop();  // before the client gRPC server drains: forwarded calls fail at once
//
// Threads: one retry thread (waits for the next due retry and starts it). Attempts start on the
// caller's thread (the first), the retry thread, or not at all; answers arrive on the threads
// of the calls (transport threads). No lock is held while a call or a `done` runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "kv/api/lease_forwarder.h"
#include "kv/lease/lessor.h"

namespace grid::kv::api {

struct LeaderForwardingOptions {
  uint64_t self_id = 0;  // this member
  // Time one request may take across attempts and leader changes (etcd's request timeout:
  // 5 s + 2 × election timeout).
  std::chrono::milliseconds request_timeout{7000};
  // Deadline of one attempt (capped by what is left of request_timeout), so that a leader
  // that stopped answering does not hold the request until its end.
  std::chrono::milliseconds attempt_timeout{2000};
  // Wait before asking the same leader again, or before looking again for a leader.
  std::chrono::milliseconds retry_interval{100};
  // Requests started and not finished; one more fails at once with
  // ResourceExhausted("etcdserver: too many requests").
  size_t max_requests = 10000;
};

// How to reach the leader. Every function is required, thread-safe and quick (never blocks).
struct LeaderForwardingCalls {
  // The leader's member id; 0 when none is known.
  std::function<uint64_t()> leader_id;
  // One call to peer `leader` with a deadline `timeout` from now (the transport's RenewLease /
  // LeaseTimeToLive): `done` exactly once, from any thread, possibly before returning. The
  // peer's answer comes back as it is: NotFound for a missing lease is final, anything else
  // makes the request try again.
  std::function<void(uint64_t leader, int64_t id, std::chrono::milliseconds timeout,
                     std::function<void(Result<int64_t>)> done)>
      remote_renew;
  std::function<void(uint64_t leader, int64_t id, bool keys, std::chrono::milliseconds timeout,
                     std::function<void(Result<lease::TimeToLiveResult>)> done)>
      remote_time_to_live;
  // This member's own answer as the leader (what it answers its peers' calls), used when
  // leader_id() names this member.
  std::function<Result<int64_t>(int64_t id)> local_renew;
  std::function<Result<lease::TimeToLiveResult>(int64_t id, bool keys)> local_time_to_live;
};

class LeaderForwardingLeases final : public LeaseForwarder {
 public:
  // Starts the retry thread. REQUIRES: options.self_id != 0, positive durations and
  // max_requests, every function of `calls` set.
  LeaderForwardingLeases(LeaderForwardingOptions options, LeaderForwardingCalls calls);
  ~LeaderForwardingLeases() override;  // Stop()
  LeaderForwardingLeases(const LeaderForwardingLeases&) = delete;
  LeaderForwardingLeases& operator=(const LeaderForwardingLeases&) = delete;

  bool IsLeader() const override;
  void Renew(int64_t id, std::function<void(Result<int64_t>)> done) override;
  void TimeToLive(int64_t id, bool keys,
                  std::function<void(Result<lease::TimeToLiveResult>)> done) override;

  // Requests waiting for a retry fail with "etcdserver: server stopped" at once, those with an
  // attempt in flight when it answers (within attempt_timeout; at once if the transport
  // stopped); returns once every `done` ran. Later requests fail at once. Idempotent. Not from
  // a `done`.
  void Stop();

  // Requests started and not finished.
  size_t requests() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Request;

  // Counts `r` against max_requests and makes its first attempt, or fails it at once.
  void Start(std::shared_ptr<Request> r);
  // Looks up the leader and asks it, or schedules the next look, or ends `r` at its deadline.
  void Attempt(const std::shared_ptr<Request>& r);
  // The attempt at `leader` ended: OK when `r` got its final answer (already delivered).
  void AfterAttempt(const std::shared_ptr<Request>& r, uint64_t leader, const Status& s);
  void Schedule(const std::shared_ptr<Request>& r, Clock::time_point at);
  // Delivers `s` to the caller (unless OK: delivered already) and uncounts `r`.
  void End(const std::shared_ptr<Request>& r, const Status& s);
  void RunRetries();

  const LeaderForwardingOptions options_;
  const LeaderForwardingCalls calls_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // retry thread: a retry, stop; Stop(): requests_ fell
  bool stopping_ = false;       // GUARDED_BY(mu_)
  size_t requests_ = 0;         // GUARDED_BY(mu_)
  std::multimap<Clock::time_point, std::shared_ptr<Request>> waiting_;  // GUARDED_BY(mu_)
  std::thread retry_thread_;
};

}  // namespace grid::kv::api
