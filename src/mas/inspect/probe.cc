#include "mas/inspect/probe.h"

#include <algorithm>
#include <limits>

namespace grid::mas::inspect {

std::vector<std::string> MemberEndpoints(const ResourceStatus& status) {
  std::vector<std::string> out;
  for (const MemberStatus& m : status.members) {
    if (!m.client_url.empty()) out.push_back(m.client_url);
  }
  return out;
}

Probes GatherProbes(kvcluster::ClusterApi* api, const ResourceStatus& status, std::string time,
                    const std::string& api_error) {
  Probes probes;
  probes.time = std::move(time);
  for (const MemberStatus& m : status.members) {
    MemberProbe p;
    p.name = m.name;
    p.endpoint = m.client_url;
    if (m.client_url.empty()) {
      p.error = "no client URL";
    } else if (api == nullptr) {
      p.error = api_error;
    } else if (auto st = api->GetStatus(m.client_url); !st.ok()) {
      p.error = st.status().ToString();
    } else {
      p.reachable = true;
      p.status = std::move(*st);
    }
    probes.members.push_back(std::move(p));
  }
  if (api == nullptr) {
    probes.alarms_error = api_error;
    return probes;
  }

  // Round 1: each member's current revision (and its hash there).
  int64_t common = std::numeric_limits<int64_t>::max();
  bool all_equal = true;
  int64_t first = -1;
  for (MemberProbe& p : probes.members) {
    if (!p.reachable) continue;
    auto h = api->HashKV(p.endpoint, 0);
    if (!h.ok()) {
      p.hash_error = h.status().ToString();
      continue;
    }
    p.current_revision = h->revision;
    p.hash = h->hash;
    common = std::min(common, h->revision);
    if (first < 0) first = h->revision;
    all_equal &= h->revision == first;
  }
  if (first < 0) {
    probes.hash_revision = 0;
  } else if (all_equal) {
    probes.hash_revision = first;
  } else {
    // Round 2: every member at the smallest revision.
    probes.hash_revision = common;
    for (MemberProbe& p : probes.members) {
      if (!p.reachable || !p.hash.has_value()) continue;
      p.hash.reset();
      auto h = api->HashKV(p.endpoint, common);
      if (h.ok()) {
        p.hash = h->hash;
      } else {
        p.hash_error = h.status().ToString();
      }
    }
  }

  if (auto alarms = api->AlarmList(); alarms.ok()) {
    probes.alarms_known = true;
    probes.alarms = std::move(*alarms);
  } else {
    probes.alarms_error = alarms.status().ToString();
  }
  return probes;
}

}  // namespace grid::mas::inspect
