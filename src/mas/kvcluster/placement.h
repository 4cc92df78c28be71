// Zone placement of KVCluster members: which zone a new member goes to and which member a
// scale-in removes. Pure functions over the spec and status.members; no I/O.
//
// Without spec.placement every member has zone "" and these rules reduce to the plain ones
// (a new member gets ""; scale-in removes the highest ordinal). With zones:
//   - the initial members go round robin over spec.placement.zones, in spec order;
//   - a new member goes to the listed zone with the fewest members (first in spec order on a
//     tie), counting only members in listed zones;
//   - a scale-in removes a *misplaced* member first (its zone is not listed, "" included),
//     else one from the zone with the most members; the highest ordinal among those
//     candidates. Leadership is moved away first by the caller, as for any scale-in;
//   - a replacement keeps the member's zone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mas/resource/resource.h"
#include "mas/resource/spec.h"

namespace grid::mas::kvcluster {

// The ordinal of "<cluster>-<ordinal>" (-1 when the name has none).
int64_t MemberOrdinal(const std::string& name);

// The zones of the first `n` members: round robin over the spec's zones ("" without any).
std::vector<std::string> InitialZones(const KVClusterSpec& spec, size_t n);

// The zone of one more member.
std::string ZoneForNewMember(const KVClusterSpec& spec, const std::vector<MemberStatus>& members);

// True when the spec lists zones and the member's zone is not one of them.
bool Misplaced(const KVClusterSpec& spec, const MemberStatus& member);

// The name of the first misplaced member in status order ("" when none).
std::string FirstMisplaced(const KVClusterSpec& spec, const std::vector<MemberStatus>& members);

// The member a scale-in removes. REQUIRES: `members` is not empty.
std::string MemberToRemove(const KVClusterSpec& spec, const std::vector<MemberStatus>& members);

}  // namespace grid::mas::kvcluster
