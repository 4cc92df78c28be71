// The simulated network between members: every message is delayed, and may be dropped,
// duplicated or overtaken, all decided by the network's own seeded generator; links can be
// cut one way or both (partitions) and healed. Single-threaded; time is the caller's tick.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <set>
#include <utility>
#include <vector>

#include "raft/types.h"
#include "sim/rng.h"

namespace grid::sim {

using raft::MemberId;

struct NetworkConfig {
  uint32_t drop_ppm = 0;       // each message is lost with this probability
  uint32_t duplicate_ppm = 0;  // ... or delivered twice (each copy with its own delay)
  // Delay of a message, uniform in [min, max]; different delays reorder messages.
  int64_t min_delay_ticks = 1;  // >= 1: a message never arrives in the tick it was sent
  int64_t max_delay_ticks = 3;
  // A message is held back for long_delay_ticks more with this probability (deep reordering).
  uint32_t long_delay_ppm = 0;
  int64_t long_delay_ticks = 12;
  // Messages in flight; more are dropped (a full send queue).
  size_t max_in_flight_msgs = 4096;
};

// A message on its way. `lost` marks a kSnap the network dropped: it is still handed to the
// caller at its delivery time so the sender can be told the snapshot failed.
struct Envelope {
  raft::Message msg;
  uint64_t deliver_tick = 0;
  uint64_t seq = 0;  // send order; breaks ties between equal delivery ticks
  bool lost = false;
};

struct NetworkStats {
  uint64_t sent = 0;
  uint64_t dropped = 0;     // by chance
  uint64_t cut = 0;         // on a cut link at send time
  uint64_t overflowed = 0;  // beyond max_in_flight_msgs
  uint64_t duplicated = 0;
  uint64_t popped = 0;
};

class Network {
 public:
  Network(const NetworkConfig& config, Rng rng);

  const NetworkConfig& config() const { return config_; }
  // REQUIRES: 1 <= min_delay_ticks <= max_delay_ticks.
  void set_config(const NetworkConfig& config);

  // Queues `m` (sent at tick `now`) unless it is dropped. Returns the copies queued (0-2).
  int Send(raft::Message m, uint64_t now);
  // The next envelope due at or before `now`, in delivery-tick then send order.
  std::optional<Envelope> PopDue(uint64_t now);
  size_t in_flight() const { return queue_.size(); }

  // Links. A message crossing a cut link is dropped when sent and when it arrives.
  void Cut(MemberId from, MemberId to) { cut_.insert({from, to}); }
  // Cuts every link between members of different groups, in both directions.
  void Partition(const std::vector<std::vector<MemberId>>& groups);
  void Heal() { cut_.clear(); }
  bool Linked(MemberId from, MemberId to) const { return !cut_.contains({from, to}); }
  bool partitioned() const { return !cut_.empty(); }

  const NetworkStats& stats() const { return stats_; }

 private:
  struct Later {
    bool operator()(const Envelope& a, const Envelope& b) const {
      return a.deliver_tick != b.deliver_tick ? a.deliver_tick > b.deliver_tick : a.seq > b.seq;
    }
  };
  int64_t Delay();
  bool Enqueue(raft::Message m, uint64_t now, bool lost);

  NetworkConfig config_;
  Rng rng_;
  std::priority_queue<Envelope, std::vector<Envelope>, Later> queue_;
  std::set<std::pair<MemberId, MemberId>> cut_;
  uint64_t next_seq_ = 0;
  NetworkStats stats_;
};

}  // namespace grid::sim
