// GatherProbes: asks every member of a KVCluster (status.members' client URLs) through a
// ClusterApi for its Status, its revision and its KV hash, and the cluster for its alarms.
//
// The hashes are taken at one revision every member has applied: each member is asked
// HashKV(0) (its current revision and hash); when all revisions are equal those hashes are
// used, otherwise every member is asked again at the smallest of the revisions. A member
// that fails a call has the error recorded in its probe; gathering itself never fails.
//
// Thread-safety: a plain function; `api` must be usable from the calling thread.
#pragma once

#include <string>

#include "mas/inspect/evaluate.h"
#include "mas/kvcluster/cluster_api.h"
#include "mas/resource/resource.h"

namespace grid::mas::inspect {

// The client URL of each member of `status` ("" members skipped).
std::vector<std::string> MemberEndpoints(const ResourceStatus& status);

// `api` is null when no ClusterApi could be built (every member then reads unreachable with
// `api_error`).
Probes GatherProbes(kvcluster::ClusterApi* api, const ResourceStatus& status, std::string time,
                    const std::string& api_error = "");

}  // namespace grid::mas::inspect
