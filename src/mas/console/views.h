// Read-only views the console shows beside the resources, served by the API server:
//
//   GET /apis/grid.dev/v1/kvclusters/{name}/inspection
//       the cluster's last stored inspection report (mas/inspect: members with raftIndex and
//       appliedIndex, conditions, events, time); 404 naming the cluster when it does not
//       exist, 404 "no inspection report ... yet" when none was stored
//   GET /apis/grid.dev/v1/routerfleets/{name}/routes
//   GET /apis/grid.dev/v1/routerfleets/{name}/cells
//       gridrouter's admin /routes (table revision, cells, tenants, backends, feed state) or
//       /cells (per cell, group and backend: address, weight, health), fetched from the
//       first of the fleet's replicas (status.operation.fleet.replicas[].adminPort, in that
//       order, at most kMaxAdminReplicasTried) that answers 200 with JSON within
//       admin_timeout and at most max_admin_body_bytes; the answer gains "adminAddress"
//       (host:port it came from). 404 when the fleet does not exist, 503 when it has no
//       replica with an admin port yet, 502 naming each replica's failure otherwise.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "mas/api/api_server.h"
#include "mas/resource/store.h"

namespace grid::mas::console {

// The number of routes RegisterViews adds (counted against api::kMaxExtraRoutes).
inline constexpr size_t kViewRoutes = 2;
inline constexpr std::chrono::milliseconds kDefaultAdminTimeout{1000};  // connect, and read
inline constexpr size_t kMaxAdminBodyBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxAdminReplicasTried = 8;

// The last stored inspection report of a cluster; nullopt when none.
using InspectionReportReader =
    std::function<Result<std::optional<nlohmann::json>>(const std::string& cluster)>;

struct ViewOptions {
  InspectionReportReader inspection_report;  // required
  std::string admin_host = "127.0.0.1";      // where the fleet's replicas listen (Runtime::Host)
  std::chrono::milliseconds admin_timeout = kDefaultAdminTimeout;
  size_t max_admin_body_bytes = kMaxAdminBodyBytes;
};

// The admin ports of a fleet's replicas from its status.operation (fleet.replicas[].adminPort
// > 0, in order), at most kMaxAdminReplicasTried. Empty for anything else.
std::vector<int> AdminPorts(const nlohmann::json& operation);

// GET http://host:port<path> for each port in order; the first 200 answer whose body is a
// JSON object (at most max_body_bytes) wins, with "adminAddress" added. Unavailable naming
// each port's failure when none answers (FailedPrecondition when `ports` is empty).
Result<nlohmann::json> FetchFromFirstReplica(const std::string& host, const std::vector<int>& ports,
                                             const std::string& path,
                                             std::chrono::milliseconds timeout,
                                             size_t max_body_bytes);

// Adds the routes above. REQUIRES: before api->Start; `store` outlives the server. Fails as
// ApiServer::AddRoute does.
[[nodiscard]] Status RegisterViews(api::ApiServer* api, ResourceStore* store, ViewOptions options);

}  // namespace grid::mas::console
