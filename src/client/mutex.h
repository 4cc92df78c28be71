// Mutex: a distributed lock with etcd's clientv3/concurrency.Mutex protocol, so it excludes
// etcd's own clients too. The lock key is "<prefix>/<lease id in hex>", attached to the
// session's lease; waiters queue by create revision and the owner is the key with the
// lowest create revision under "<prefix>/".
//
// Thread-safety: not thread-safe; one Mutex per locking thread (like a std::unique_lock).
// Several Mutex objects, in any processes, may use the same prefix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "client/session.h"

namespace grid::client {

// "<prefix><lease id as lowercase hex>", Go's fmt "%s%x".
std::string LeaseKey(std::string_view prefix, int64_t lease_id);

class Mutex {
 public:
  // REQUIRES: `session` outlives the Mutex.
  Mutex(Session* session, std::string_view prefix);

  // Blocks until this session owns the lock or ctx is done. On any error (including ctx
  // cancellation) the waiting key is deleted, as etcd does.
  Status Lock(const Context& ctx = {});
  // Deletes the lock key.
  Status Unlock(const Context& ctx = {});

  // A compare that holds while this Mutex still owns the lock (for guarded txns).
  etcdserverpb::Compare IsOwner() const;
  const std::string& key() const { return key_; }
  int64_t revision() const { return revision_; }
  // Header of the response that granted the lock.
  const etcdserverpb::ResponseHeader& header() const { return header_; }

 private:
  Session* const session_;
  const std::string prefix_;  // ends with "/"
  std::string key_;
  int64_t revision_ = -1;
  etcdserverpb::ResponseHeader header_;
};

}  // namespace grid::client
