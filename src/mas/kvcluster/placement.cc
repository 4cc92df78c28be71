#include "mas/kvcluster/placement.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "common/check.h"

namespace grid::mas::kvcluster {
namespace {

const std::vector<std::string>& Zones(const KVClusterSpec& spec) {
  static const std::vector<std::string> kNone;
  return spec.placement ? spec.placement->zones : kNone;
}

// Members per listed zone (every listed zone present, misplaced members not counted).
std::map<std::string, size_t> CountPlaced(const KVClusterSpec& spec,
                                          const std::vector<MemberStatus>& members) {
  std::map<std::string, size_t> counts;
  for (const std::string& z : Zones(spec)) counts[z] = 0;
  for (const MemberStatus& m : members) {
    if (auto it = counts.find(m.zone); it != counts.end()) ++it->second;
  }
  return counts;
}

}  // namespace

int64_t MemberOrdinal(const std::string& name) {
  const size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 == name.size()) return -1;
  return std::strtoll(name.c_str() + dash + 1, nullptr, 10);
}

std::vector<std::string> InitialZones(const KVClusterSpec& spec, size_t n) {
  const std::vector<std::string>& zones = Zones(spec);
  std::vector<std::string> out;
  for (size_t k = 0; k < n; ++k) out.push_back(zones.empty() ? "" : zones[k % zones.size()]);
  return out;
}

std::string ZoneForNewMember(const KVClusterSpec& spec, const std::vector<MemberStatus>& members) {
  const std::vector<std::string>& zones = Zones(spec);
  if (zones.empty()) return "";
  const std::map<std::string, size_t> counts = CountPlaced(spec, members);
  std::string best = zones.front();
  for (const std::string& z : zones) {
    if (counts.at(z) < counts.at(best)) best = z;
  }
  return best;
}

bool Misplaced(const KVClusterSpec& spec, const MemberStatus& member) {
  const std::vector<std::string>& zones = Zones(spec);
  return !zones.empty() && std::find(zones.begin(), zones.end(), member.zone) == zones.end();
}

std::string FirstMisplaced(const KVClusterSpec& spec, const std::vector<MemberStatus>& members) {
  for (const MemberStatus& m : members) {
    if (Misplaced(spec, m)) return m.name;
  }
  return "";
}

std::string MemberToRemove(const KVClusterSpec& spec, const std::vector<MemberStatus>& members) {
  GRID_CHECK(!members.empty());
  // Candidates: the misplaced members; else those of the fullest zones ("" counts as one zone
  // without placement).
  std::vector<const MemberStatus*> candidates;
  for (const MemberStatus& m : members) {
    if (Misplaced(spec, m)) candidates.push_back(&m);
  }
  if (candidates.empty()) {
    std::map<std::string, size_t> counts;
    for (const MemberStatus& m : members) ++counts[m.zone];
    size_t most = 0;
    for (const auto& [zone, n] : counts) most = std::max(most, n);
    for (const MemberStatus& m : members) {
      if (counts[m.zone] == most) candidates.push_back(&m);
    }
  }
  const MemberStatus* pick = candidates.front();
  for (const MemberStatus* m : candidates) {
    if (MemberOrdinal(m->name) > MemberOrdinal(pick->name)) pick = m;
  }
  return pick->name;
}

}  // namespace grid::mas::kvcluster
