// RemedyNoSpace: heals a NOSPACE alarm, one step at a time, each step recorded as an event:
//   1. compact at the cluster's current revision (the smallest revision the members report,
//      so every member has it; "already compacted" counts as done);
//   2. defragment the answering members one at a time, followers first, the leader last;
//      a member whose db is still at or over the quota after a defragment (the compaction
//      may still be running) is defragmented again, at most kMaxDefragmentAttempts times;
//   3. disarm every NOSPACE alarm.
// The first failing step ends the remedy (later steps are not taken); the next inspection
// starts again from step 1. Members that do not answer are skipped and named.
//
// Thread-safety: a plain function; `api` must be usable from the calling thread.
#pragma once

#include <vector>

#include "common/status.h"
#include "mas/inspect/evaluate.h"
#include "mas/kvcluster/cluster_api.h"

namespace grid::mas::inspect {

inline constexpr int kMaxDefragmentAttempts = 3;

struct RemedyResult {
  bool attempted = false;                 // the probes held a NOSPACE alarm
  Status status;                          // the first failing step's error
  std::vector<InspectionEvent> events;    // one per step taken
  Condition condition;                    // NoSpaceRemedied, when attempted
};

// True when `probes` hold a NOSPACE alarm.
bool HasNoSpace(const Probes& probes);

// False when the cluster's NOSPACE alarm is a write fence the standby controller raised on a
// former primary (status.mirror.writeFenced, mas/standby): it must stay, or clients still
// pointing at the old primary could write there after a switch-over.
bool NoSpaceRemedyAllowed(const ResourceStatus& status);

// The order of defragmentation: answering followers in probe order, then the leader.
std::vector<const MemberProbe*> DefragmentOrder(const Probes& probes);

RemedyResult RemedyNoSpace(kvcluster::ClusterApi* api, const Probes& probes,
                           int64_t quota_backend_bytes);

}  // namespace grid::mas::inspect
