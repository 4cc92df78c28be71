// InspectionJob: one inspection of one KVCluster, end to end:
//   read the resource -> gather probes (probe.h) -> Evaluate -> when NOSPACE is raised,
//   RemedyNoSpace and gather + Evaluate again -> store the report -> write the conditions.
//
// Where the results go:
//   <prefix>/inspections/<cluster>   the last report (ReportToJson), one key per cluster,
//                                    written once per run; its events continue the
//                                    previous report's (bounded); a scheduled run adds
//                                    "tick" and "replica" (ScheduledRun)
//   status.conditions                the inspection conditions (evaluate.h) and, after a
//                                    remedy, NoSpaceRemedied; written with UpdateStatus,
//                                    re-read and re-applied on a conflict, at most
//                                    kMaxStatusUpdateTries times. Nothing else in the
//                                    status is touched (status.operation belongs to the
//                                    KVCluster controller).
//
// Thread-safety: thread-safe (no mutable state); exclusion between runs of one cluster is
// the caller's (JobLock / the job's lock).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "client/client.h"
#include "common/status.h"
#include "mas/inspect/evaluate.h"
#include "mas/inspect/scheduled_run.h"
#include "mas/kvcluster/cluster_api.h"
#include "mas/resource/store.h"

namespace grid::mas::inspect {

inline constexpr int kMaxStatusUpdateTries = 5;

struct InspectionJobOptions {
  std::string prefix = "/gridmas";  // report keys: <prefix>/inspections/<cluster>
  kvcluster::ClusterApiFactory cluster_api;  // default: GrpcClusterApiFactory()
  std::function<std::chrono::system_clock::time_point()> now;  // default: system clock
  int max_status_tries = kMaxStatusUpdateTries;
};

class InspectionJob {
 public:
  // REQUIRES: `client` and `store` outlive the job.
  InspectionJob(client::Client* client, ResourceStore* store, InspectionJobOptions options = {});

  // Inspects `cluster` now; returns the stored report, stamped with `scheduled`'s tick and
  // replica when given. NotFound when the KVCluster does not exist; store errors. A failing
  // remedy is not an error (it is in the report).
  Result<nlohmann::json> Run(const std::string& cluster,
                             const std::optional<ScheduledRun>& scheduled = std::nullopt);

  std::string ReportKey(const std::string& cluster) const;
  // The last stored report; nullopt when none.
  Result<std::optional<nlohmann::json>> LastReport(const std::string& cluster);

 private:
  // Sets `conditions` on the KVCluster's status, re-reading on conflicts.
  Status WriteConditions(const std::string& cluster, const std::vector<Condition>& conditions);

  client::Client* const client_;
  ResourceStore* const store_;
  const InspectionJobOptions options_;
};

}  // namespace grid::mas::inspect
