// LeaseKeeper: keeps leases alive over one LeaseKeepAlive bidi stream per client. Each
// registered lease is refreshed every TTL/3 (re-sent every kKeepAliveRetryInterval while no
// answer arrives); the stream is re-opened with backoff when it breaks. A lease is lost
// when the server answers TTL <= 0 (revoked or expired) or when no answer arrives before
// its last known TTL runs out; the loss is reported once to every handle's callback.
//
// Threads: one sender thread (owns the stream) and one reader thread per stream while at
// least one lease is registered; none while idle. Loss callbacks run on these threads and
// must not block or destroy their own handle. All public methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <grpcpp/channel.h>

#include "common/status.h"

namespace grid::client {

inline constexpr std::chrono::milliseconds kKeepAliveRetryInterval{500};

// Called once when the lease is lost: NotFound "etcdserver: requested lease not found" when
// the server no longer has it, DeadlineExceeded when the keepalive timed out.
using LeaseLostCallback = std::function<void(const Status&)>;

struct LeaseKeeperOptions {
  // How long a newly registered lease may go without a first answer before it is lost.
  std::chrono::milliseconds first_keepalive_timeout{5000};
  std::chrono::milliseconds min_retry_backoff{50};
  std::chrono::milliseconds max_retry_backoff{1000};
};

// Registration of one lease; destroying it stops refreshing the lease (unless another
// handle holds the same lease). Thread-safe.
class LeaseKeepAlive {
 public:
  ~LeaseKeepAlive();
  LeaseKeepAlive(const LeaseKeepAlive&) = delete;
  LeaseKeepAlive& operator=(const LeaseKeepAlive&) = delete;

  int64_t lease_id() const { return lease_id_; }
  bool lost() const;
  // The TTL of the latest answer; 0 before the first one.
  int64_t ttl_seconds() const;
  // Number of answers received so far.
  int64_t refresh_count() const;

  struct HandleState;
  class Keeper;

 private:
  friend class LeaseKeeper;
  LeaseKeepAlive(std::shared_ptr<Keeper> keeper, std::shared_ptr<HandleState> state,
                 int64_t lease_id);
  std::shared_ptr<Keeper> keeper_;
  std::shared_ptr<HandleState> state_;
  int64_t lease_id_;
  uint64_t token_ = 0;
};

class LeaseKeeper {
 public:
  LeaseKeeper(std::shared_ptr<grpc::Channel> channel, LeaseKeeperOptions options);
  ~LeaseKeeper();  // stops the threads; handles outliving it stop being refreshed
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Starts refreshing `lease_id` (the first keepalive is sent at once).
  std::unique_ptr<LeaseKeepAlive> Add(int64_t lease_id, LeaseLostCallback on_lost);

 private:
  std::shared_ptr<LeaseKeepAlive::Keeper> keeper_;
};

}  // namespace grid::client
