// etcd's strict reconfiguration check (--strict-reconfig-check, on by default): a membership
// change that would leave the cluster without a quorum of started, connected voters is refused
// before it is proposed.
//
//   add             a voter: started voters after the add must be a quorum of the new voter
//                   count (a 1-member cluster may always add a second); a voter or a learner:
//                   this member must have been connected to every voter for kHealthIntervalMs,
//                   else "unhealthy cluster"
//   remove a voter  started voters left must be a quorum of those left; a voter this member is
//                   not connected to may always be removed; otherwise the voters connected for
//                   kHealthIntervalMs, minus the one removed, must still be a quorum
//   remove learner  never refused
//   promote         started voters plus the learner must be a quorum of voters plus one
// A member is "started" once it has published its name (etcd's IsStarted).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/status.h"
#include "grid/internal.pb.h"

namespace grid::kv {

// etcd's HealthInterval.
inline constexpr int64_t kHealthIntervalMs = 5000;

inline Status ErrUnhealthyCluster() { return Unavailable("etcdserver: unhealthy cluster"); }

struct ReconfigView {
  std::vector<kvpb::MemberRecord> members;  // the member table
  uint64_t self = 0;
  // When the connection to a peer became active; nullopt while it is down.
  std::function<std::optional<std::chrono::steady_clock::time_point>(uint64_t id)> active_since;
  std::chrono::steady_clock::time_point now;
};

// OK, ErrNotEnoughStartedMembers() or ErrUnhealthyCluster(). Changes whose own validity is
// checked at apply (unknown member, not a learner, ...) pass here.
[[nodiscard]] Status CheckReconfig(const ReconfigView& view, const kvpb::MemberChange& change);

}  // namespace grid::kv
