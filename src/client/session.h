// Session: a lease kept alive for as long as the session lives, the identity that Mutex and
// Election keys are attached to (etcd's clientv3/concurrency.Session). When the process
// dies the keepalive stops, the lease expires and every key of the session is deleted.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "client/client.h"

namespace grid::client {

inline constexpr int64_t kDefaultSessionTtlSeconds = 60;

struct SessionOptions {
  int64_t ttl_seconds = kDefaultSessionTtlSeconds;  // of the granted lease
  int64_t lease_id = 0;     // non-zero: use this existing lease instead of granting one
  bool keep_alive = true;   // false: do not refresh the lease (an orphaned session)
};

class Session {
 public:
  // REQUIRES: `client` outlives the session.
  static Result<std::unique_ptr<Session>> Create(Client* client,
                                                 const SessionOptions& options = {},
                                                 const Context& ctx = {});
  ~Session();  // Orphan(): stops the keepalive, leaves the lease to expire
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Client* client() const { return client_; }
  int64_t lease_id() const { return lease_id_; }
  int64_t ttl_seconds() const { return ttl_seconds_; }
  // True once the keepalive has stopped: orphaned, closed, or the lease was lost.
  bool done() const;

  // Stops refreshing the lease without revoking it.
  void Orphan();
  // Orphan() and revoke the lease (deleting the session's keys); the revoke waits at most
  // ttl_seconds.
  Status Close(const Context& ctx = {});

 private:
  Session(Client* client, int64_t lease_id, int64_t ttl_seconds);

  Client* const client_;
  const int64_t lease_id_;
  const int64_t ttl_seconds_;
  mutable std::mutex mu_;
  std::unique_ptr<LeaseKeepAlive> keepalive_;  // guarded by mu_; null once done
};

}  // namespace grid::client
