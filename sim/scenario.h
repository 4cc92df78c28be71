// A run's parameters: the fault model's rates and the members' and clients' settings, all
// drawn from the seed, so every seed explores a different mix (a lossy network with no
// crashes, slow disks with frequent compaction, ...).
#pragma once

#include <cstdint>
#include <string>

#include "sim/member.h"
#include "sim/network.h"
#include "sim/workload.h"

namespace grid::sim {

struct Scenario {
  int members = 3;  // founding voters
  NetworkConfig network;
  MemberOptions member;
  WorkloadOptions workload;
  // Per tick: one up member crashes; it restarts after a downtime in [min, max] ticks.
  uint32_t crash_ppm = 0;
  int64_t min_down_ticks = 5;
  int64_t max_down_ticks = 60;
  // Per tick while the network is whole: a partition starts, healed after [min, max] ticks.
  uint32_t partition_ppm = 0;
  int64_t min_partition_ticks = 10;
  int64_t max_partition_ticks = 80;
  // Per tick and member: the member's clock misses the tick (drift between members).
  uint32_t tick_skip_ppm = 0;
  // Per tick: the leader is asked for a membership change or a leadership transfer.
  uint32_t admin_ppm = 0;
  // Members ever created (founders plus added learners); no more are added beyond it.
  int max_members_ever = 7;

  static Scenario FromSeed(uint64_t seed, int members);
  std::string Describe() const;
};

}  // namespace grid::sim
