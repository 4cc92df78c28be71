// Who is waiting for what: proposals wait for their entry to be applied (by request id), read
// barriers wait for the applied index to reach a value. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kv/server/proposer.h"

namespace grid::kv {

class WaitRegistry {
 public:
  // REQUIRES: no callback registered under `id`.
  void Register(uint64_t id, ApplyCallback done);
  // Removes and returns the callback for `id`; empty when nobody waits (an entry replayed at
  // start, or proposed by another member).
  ApplyCallback Take(uint64_t id);

  void AddReadWaiter(uint64_t index, ReadyCallback ready);
  // Removes and returns every read waiter whose index <= applied_index.
  std::vector<ReadyCallback> TakeReadWaiters(uint64_t applied_index);

  // Removes everything; the caller fails each with its error (server stopping).
  void TakeAll(std::vector<ApplyCallback>* proposals, std::vector<ReadyCallback>* reads);

  size_t pending_proposals() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, ApplyCallback> proposals_;  // GUARDED_BY(mu_)
  std::multimap<uint64_t, ReadyCallback> reads_;           // GUARDED_BY(mu_)
};

// Request ids unique across restarts of a member: the high bits hold the start time in
// milliseconds, the low bits count (a member would need 4 million proposals in one millisecond
// to collide with its next start). REQUIRES: external synchronisation.
class RequestIdGenerator {
 public:
  explicit RequestIdGenerator(uint64_t start_time_ms) : next_(start_time_ms << 22) {}
  uint64_t Next() { return ++next_; }

 private:
  uint64_t next_;
};

}  // namespace grid::kv
