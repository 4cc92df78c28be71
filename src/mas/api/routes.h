// The pure parts of the gridmas HTTP API: path parsing, the mapping of grid::Status to HTTP
// codes and Kubernetes-style Status bodies, JSON rendering of lists and watch events, and the
// request counters behind /metrics. No sockets; everything here is tested directly.
//
// Paths (Kubernetes style, group grid.dev, version v1):
//   /apis/grid.dev/v1/{plural}                 collection: GET (list, ?watch=1), POST (create)
//   /apis/grid.dev/v1/{plural}/{name}          object: GET, PUT (update), DELETE
//   /apis/grid.dev/v1/{plural}/{name}/{sub}    subresource (status is not writable here)
// where plural is "kvclusters" or "routerfleets".
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "mas/resource/resource.h"
#include "mas/resource/store.h"

namespace grid::mas::api {

inline constexpr char kApiPrefix[] = "/apis/grid.dev/v1";

// "kvclusters", "routerfleets".
const char* PluralName(Kind kind);
std::optional<Kind> KindFromPlural(std::string_view plural);

// A parsed API path. `name` and `subresource` are empty when absent.
struct ApiPath {
  Kind kind = Kind::kKVCluster;
  std::string name;
  std::string subresource;
  bool operator==(const ApiPath&) const = default;
};
// nullopt when `path` is not under kApiPrefix, names an unknown plural, or has more than
// three segments after the prefix. Empty segments (a doubled or trailing '/') do not match.
std::optional<ApiPath> ParseApiPath(std::string_view path);

// The route template of a path, for metrics labels: "/apis/grid.dev/v1/kvclusters/{name}",
// "/healthz", ...; "other" for anything unknown (so labels stay bounded).
std::string RouteLabel(std::string_view path);

// An HTTP code and Kubernetes reason for a Status:
//   InvalidArgument 422 Invalid, NotFound 404 NotFound, AlreadyExists 409 AlreadyExists,
//   FailedPrecondition 409 Conflict, ResourceExhausted 413 RequestEntityTooLarge,
//   OutOfRange 410 Expired, Unavailable/DeadlineExceeded/Cancelled 503 ServiceUnavailable,
//   Unimplemented 501 NotImplemented, PermissionDenied 403 Forbidden,
//   anything else 500 InternalError.
struct HttpError {
  int code = 500;
  std::string reason;
  bool operator==(const HttpError&) const = default;
};
// REQUIRES: !status.ok().
HttpError HttpErrorFor(const Status& status);
// The reason phrase used for a bare HTTP code (e.g. 413 from the HTTP layer, 405, 429).
std::string ReasonForCode(int code);

// {"kind":"Status","apiVersion":"v1","status":"Failure","code":N,"reason":R,"message":M}.
nlohmann::json StatusBody(int code, std::string_view reason, std::string_view message);
nlohmann::json StatusBody(const Status& status);
// {"kind":"Status","apiVersion":"v1","status":"Success","code":200,"details":{name,kind}}.
nlohmann::json SuccessBody(Kind kind, std::string_view name);

// {"apiVersion":"grid.dev/v1","kind":"KVClusterList","metadata":{"resourceVersion":"N"},
//  "items":[...]}.
nlohmann::json ListBody(Kind kind, const ResourceList& list);

// One line of a watch stream (newline-terminated compact JSON):
//   {"type":"ADDED|MODIFIED|DELETED","object":{...}}
//   {"type":"BOOKMARK","object":{"kind":K,"apiVersion":..,"metadata":{"resourceVersion":"N"}}}
//   {"type":"ERROR","object":<Status body>}
std::string WatchEventLine(const ResourceEvent& event);
std::string BookmarkLine(Kind kind, int64_t revision);
std::string ErrorEventLine(const Status& status);

// Query parameters of a list request.
struct ListQuery {
  bool watch = false;
  // The revision the client has seen; the watch delivers events after it. nullopt: send
  // the current objects as ADDED first, then changes.
  std::optional<int64_t> resource_version;
};
// `watch`: "1" or "true" (anything else, or absent, is a plain list); `resource_version`:
// absent/empty, or a decimal >= 0 ("0" means the same as absent). InvalidArgument naming the
// parameter otherwise.
Result<ListQuery> ParseListQuery(const std::string* watch, const std::string* resource_version);

// Whether a request body is YAML/JSON text of at most `max_bytes`; ResourceExhausted
// naming the limit otherwise.
Status CheckBodySize(size_t body_bytes, size_t max_bytes);

// Request counters by (route, method, code), rendered in the Prometheus text format.
// Thread-safe.
class RequestMetrics {
 public:
  void Record(const std::string& route, const std::string& method, int code);
  void SetActiveWatches(int64_t n);
  uint64_t Count(const std::string& route, const std::string& method, int code) const;
  // # HELP / # TYPE lines, then
  //   grid_mas_api_requests_total{route="..",method="..",code=".."} N   (sorted)
  //   grid_mas_api_watches N
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> counts_;  // guarded by mu_
  int64_t active_watches_ = 0;                                             // guarded by mu_
};

}  // namespace grid::mas::api
