#include "mas/inspect/remedy.h"

#include <algorithm>
#include <limits>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace grid::mas::inspect {
namespace {

// The leader the answering members report (the most reported non-zero id), 0 when none.
uint64_t ReportedLeader(const Probes& probes) {
  std::map<uint64_t, int> votes;
  for (const MemberProbe& p : probes.members) {
    if (p.reachable && p.status.leader_id != 0) ++votes[p.status.leader_id];
  }
  uint64_t best = 0;
  int best_votes = 0;
  for (const auto& [id, n] : votes) {
    if (n > best_votes) {
      best = id;
      best_votes = n;
    }
  }
  return best;
}

bool IsCompactedError(const Status& s) {
  return !s.ok() && s.message().find("compacted") != std::string::npos;
}

}  // namespace

bool NoSpaceRemedyAllowed(const ResourceStatus& status) {
  if (!status.mirror.is_object()) return true;
  auto it = status.mirror.find("writeFenced");
  return it == status.mirror.end() || *it != true;
}

bool HasNoSpace(const Probes& probes) {
  return std::any_of(probes.alarms.begin(), probes.alarms.end(), [](const kvcluster::AlarmInfo& a) {
    return a.type == kvcluster::AlarmType::kNoSpace;
  });
}

std::vector<const MemberProbe*> DefragmentOrder(const Probes& probes) {
  const uint64_t leader = ReportedLeader(probes);
  std::vector<const MemberProbe*> order;
  const MemberProbe* leader_probe = nullptr;
  for (const MemberProbe& p : probes.members) {
    if (!p.reachable) continue;
    if (leader != 0 && p.status.member_id == leader) {
      leader_probe = &p;
    } else {
      order.push_back(&p);
    }
  }
  if (leader_probe != nullptr) order.push_back(leader_probe);
  return order;
}

RemedyResult RemedyNoSpace(kvcluster::ClusterApi* api, const Probes& probes,
                           int64_t quota_backend_bytes) {
  RemedyResult r;
  if (!HasNoSpace(probes)) return r;
  r.attempted = true;
  auto event = [&](const char* type, std::string reason, std::string message) {
    AppendEvent(&r.events, {probes.time, type, std::move(reason), std::move(message)});
  };
  auto fail = [&](std::string reason, Status s) {
    event("Warning", reason, s.ToString());
    r.status = s;
    r.condition = {kCondNoSpaceRemedied, ConditionStatus::kFalse, std::move(reason),
                   s.ToString().substr(0, kMaxConditionMessageBytes), ""};
    return r;
  };

  // 1. Compact at the smallest current revision.
  int64_t revision = std::numeric_limits<int64_t>::max();
  for (const MemberProbe& p : probes.members) {
    if (p.reachable && p.current_revision > 0) revision = std::min(revision, p.current_revision);
  }
  if (revision == std::numeric_limits<int64_t>::max()) {
    return fail("CompactFailed", Unavailable("no member reports its revision"));
  }
  if (Status s = api->Compact(revision); s.ok()) {
    event("Normal", "Compacted", fmt::format("compacted at revision {}", revision));
  } else if (IsCompactedError(s)) {
    event("Normal", "Compacted", fmt::format("already compacted at revision {}", revision));
  } else {
    return fail("CompactFailed", Status(s.code(), fmt::format("compact at revision {}: {}",
                                                               revision, s.message())));
  }

  // 2. Defragment followers, then the leader.
  std::vector<std::string> done;
  for (const MemberProbe* p : DefragmentOrder(probes)) {
    for (int attempt = 1;; ++attempt) {
      if (Status s = api->Defragment(p->endpoint); !s.ok()) {
        return fail("DefragmentFailed", Status(s.code(), fmt::format("defragment {}: {}", p->name,
                                                                     s.message())));
      }
      auto st = api->GetStatus(p->endpoint);
      int64_t size = st.ok() ? st->db_size_bytes : -1;
      event("Normal", "Defragmented",
            fmt::format("defragmented {} (attempt {}): db {} bytes", p->name, attempt, size));
      if (size < quota_backend_bytes || attempt >= kMaxDefragmentAttempts) break;
    }
    done.push_back(p->name);
  }
  std::vector<std::string> skipped;
  for (const MemberProbe& p : probes.members) {
    if (!p.reachable) skipped.push_back(p.name);
  }
  if (!skipped.empty()) {
    event("Warning", "DefragmentSkipped",
          fmt::format("not answering, not defragmented: {}", fmt::join(skipped, ", ")));
  }

  // 3. Disarm.
  for (const kvcluster::AlarmInfo& a : probes.alarms) {
    if (a.type != kvcluster::AlarmType::kNoSpace) continue;
    if (Status s = api->AlarmDisarm(a); !s.ok()) {
      return fail("DisarmFailed", Status(s.code(), fmt::format("disarm NOSPACE of {:x}: {}",
                                                               a.member_id, s.message())));
    }
  }
  event("Normal", "Disarmed", "NOSPACE alarm disarmed");
  r.condition = {kCondNoSpaceRemedied, ConditionStatus::kTrue, "Remedied",
                 fmt::format("compacted at revision {}, defragmented {} (leader last), disarmed "
                             "NOSPACE",
                             revision, fmt::join(done, ", ")),
                 ""};
  return r;
}

}  // namespace grid::mas::inspect
