// How the gRPC services reach the log. Every mutation is proposed, written to the log,
// committed (by a majority once replication exists; by the local fsync on a single member)
// and applied in log order by the apply thread; only then is its caller answered.
#pragma once

#include <functional>

#include "common/status.h"
#include "grid/internal.pb.h"

namespace grid::kv {

// Runs exactly once. `status` is not OK when the request failed: either it was refused before
// entering the log (too many requests, request too large, server stopping) or applying it
// returned an etcd error (e.g. "etcdserver: requested lease not found"). Runs on the apply
// thread (or on the proposing thread for refusals): it must not block.
using ApplyCallback = std::function<void(const Status& status, kvpb::InternalResponse response)>;

// Runs exactly once, when every entry committed before the barrier was requested is applied
// (or with an error if the server stops first). Must not block.
using ReadyCallback = std::function<void(const Status& status)>;

class Proposer {
 public:
  virtual ~Proposer() = default;

  // Assigns request.id and sends the request into the log. Thread-safe.
  virtual void Propose(kvpb::InternalRequest request, ApplyCallback done) = 0;

  // Linearizable read barrier (ReadIndex): confirms this member may serve reads and waits for
  // the apply of everything committed so far. Thread-safe.
  virtual void ReadBarrier(ReadyCallback ready) = 0;

  // True when a read served now from the applied state, on the caller's thread and without
  // a barrier, is linearizable: this member leads, it is the only voter (no other member can
  // lead or commit), and it has applied the entry that opened its term (so everything any
  // earlier leader committed). Every write is answered only after it is applied, so such a
  // read sees every write answered before it began. False when unsure. Thread-safe.
  virtual bool LocalReadIsLinearizable() const { return false; }
};

}  // namespace grid::kv
