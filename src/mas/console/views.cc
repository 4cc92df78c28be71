#include "mas/console/views.h"

#include <httplib.h>

#include <memory>
#include <utility>

#include "common/check.h"

namespace grid::mas::console {
namespace {

const char kInspectionPath[] = R"(/apis/grid\.dev/v1/kvclusters/([a-z0-9-]+)/inspection)";
const char kFleetViewPath[] = R"(/apis/grid\.dev/v1/routerfleets/([a-z0-9-]+)/(routes|cells))";

// One GET of http://host:port<path>: the JSON object it answered, or why not.
Result<nlohmann::json> FetchOne(const std::string& host, int port, const std::string& path,
                                std::chrono::milliseconds timeout, size_t max_body_bytes) {
  httplib::Client client(host, port);
  client.set_keep_alive(false);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  int status = 0;
  std::string body;
  bool too_large = false;
  httplib::Result result = client.Get(
      path, httplib::Headers{},
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (body.size() + len > max_body_bytes) {
          too_large = true;
          return false;
        }
        body.append(data, len);
        return true;
      });
  if (too_large) {
    return ResourceExhausted("answer over " + std::to_string(max_body_bytes) + " bytes");
  }
  if (!result) return Unavailable(httplib::to_string(result.error()));
  if (status != 200) {
    std::string text = body.substr(0, 200);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return Unavailable("HTTP " + std::to_string(status) + (text.empty() ? "" : " " + text));
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Unavailable("answer is not a JSON object");
  return j;
}

api::ApiResponse Inspection(ResourceStore* store, const InspectionReportReader& read,
                            const api::ApiRequest& request) {
  const std::string& name = request.matches.at(0);
  if (Result<Resource> got = store->Get(Kind::kKVCluster, name); !got.ok()) {
    return api::ApiResponse::Error(got.status());
  }
  Result<std::optional<nlohmann::json>> report = read(name);
  if (!report.ok()) return api::ApiResponse::Error(report.status());
  if (!report->has_value()) {
    return api::ApiResponse::Error(
        404, "no inspection report for kvcluster \"" + name +
                 "\" yet (inspections run every spec.inspection.intervalSeconds once the "
                 "cluster has members; POST .../inspect runs one now)");
  }
  return api::ApiResponse::Json(200, **report);
}

api::ApiResponse FleetView(ResourceStore* store, const ViewOptions& options,
                           const api::ApiRequest& request) {
  const std::string& name = request.matches.at(0);
  const std::string path = "/" + request.matches.at(1);
  Result<Resource> got = store->Get(Kind::kRouterFleet, name);
  if (!got.ok()) return api::ApiResponse::Error(got.status());
  const std::vector<int> ports = AdminPorts(got->status.operation);
  if (ports.empty()) {
    return api::ApiResponse::Error(
        503, "routerfleet \"" + name + "\" has no replica with an admin port yet");
  }
  Result<nlohmann::json> answer = FetchFromFirstReplica(
      options.admin_host, ports, path, options.admin_timeout, options.max_admin_body_bytes);
  if (!answer.ok()) {
    return api::ApiResponse::Error(
        502, "no replica of routerfleet \"" + name + "\" answered " + path + ": " +
                 answer.status().message());
  }
  return api::ApiResponse::Json(200, *answer);
}

}  // namespace

std::vector<int> AdminPorts(const nlohmann::json& operation) {
  std::vector<int> ports;
  if (!operation.is_object()) return ports;
  auto fleet = operation.find("fleet");
  if (fleet == operation.end() || !fleet->is_object()) return ports;
  auto replicas = fleet->find("replicas");
  if (replicas == fleet->end() || !replicas->is_array()) return ports;
  for (const nlohmann::json& r : *replicas) {
    if (ports.size() == kMaxAdminReplicasTried) break;
    if (!r.is_object()) continue;
    auto port = r.find("adminPort");
    if (port == r.end() || !port->is_number_integer()) continue;
    const int64_t p = port->get<int64_t>();
    if (p > 0 && p < 65536) ports.push_back(static_cast<int>(p));
  }
  return ports;
}

Result<nlohmann::json> FetchFromFirstReplica(const std::string& host, const std::vector<int>& ports,
                                             const std::string& path,
                                             std::chrono::milliseconds timeout,
                                             size_t max_body_bytes) {
  if (ports.empty()) return FailedPrecondition("no replica to ask");
  std::string failures;
  for (int port : ports) {
    const std::string address = host + ":" + std::to_string(port);
    Result<nlohmann::json> answer = FetchOne(host, port, path, timeout, max_body_bytes);
    if (answer.ok()) {
      (*answer)["adminAddress"] = address;
      return answer;
    }
    if (!failures.empty()) failures += "; ";
    failures += address + ": " + answer.status().message();
  }
  return Unavailable(failures);
}

Status RegisterViews(api::ApiServer* api, ResourceStore* store, ViewOptions options) {
  GRID_CHECK(options.inspection_report != nullptr) << "ViewOptions.inspection_report is required";
  GRID_CHECK(store != nullptr);
  auto shared = std::make_shared<const ViewOptions>(std::move(options));
  GRID_RETURN_IF_ERROR(api->AddRoute("GET", kInspectionPath,
                                     [store, shared](const api::ApiRequest& request) {
                                       return Inspection(store, shared->inspection_report,
                                                         request);
                                     }));
  return api->AddRoute("GET", kFleetViewPath, [store, shared](const api::ApiRequest& request) {
    return FleetView(store, *shared, request);
  });
}

}  // namespace grid::mas::console
