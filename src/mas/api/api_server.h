// ApiServer: the gridmas HTTP/JSON API over a ResourceStore, in the Kubernetes style.
//
//   GET    /apis/grid.dev/v1/{plural}                 list  ({"kind":"KVClusterList",...})
//   GET    /apis/grid.dev/v1/{plural}?watch=1[&resourceVersion=N]
//            newline-delimited JSON events, chunked, until the client goes away:
//            {"type":"ADDED|MODIFIED|DELETED","object":{...}}; BOOKMARK lines every
//            watch_heartbeat (carrying the last revision sent); one ERROR line ends a
//            failed stream. Without resourceVersion the current objects come first as ADDED.
//   POST   /apis/grid.dev/v1/{plural}                 create (YAML or JSON body) -> 201
//   GET    /apis/grid.dev/v1/{plural}/{name}          read
//   PUT    /apis/grid.dev/v1/{plural}/{name}          update spec and labels; CAS on
//            metadata.resourceVersion (absent: the current version is used)
//   DELETE /apis/grid.dev/v1/{plural}/{name}[?resourceVersion=N]
//   GET    /apis/grid.dev/v1/{plural}/{name}/status   read (status is written by the
//            controllers only; any other method is 405)
//   GET    /healthz (process up)  /readyz (ready_check passes)  /metrics (Prometheus text)
// plus routes added with AddRoute (e.g. operation verbs), which take precedence.
//
// A POST, PUT or PATCH with neither Content-Length nor Transfer-Encoding has an empty body
// (`curl -XPOST URL` is served, not answered 400 after the HTTP layer's read timeout).
//
// Errors are Status bodies ({"kind":"Status","code":N,"reason":R,"message":M}) with the
// codes of HttpErrorFor (routes.h).
//
// Threads: one listener thread (started by Start) and a pool of request_threads +
// max_concurrent_watches workers; a watch holds one worker for its lifetime, and each
// store watch has its own watcher thread. Thread-safety: AddRoute before Start only;
// everything else is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "mas/api/routes.h"
#include "mas/api/watch_stream.h"
#include "mas/resource/store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace grid::mas::api {

// Limits.
inline constexpr size_t kDefaultMaxBodyBytes = kMaxResourceBytes;  // larger bodies: 413
inline constexpr int kDefaultMaxConcurrentWatches = 32;            // more: 429
inline constexpr int kMaxConcurrentWatchesLimit = 1024;
inline constexpr int kDefaultRequestThreads = 8;
inline constexpr int kMaxRequestThreads = 256;
// Fixed by the HTTP layer, whose 8192-byte line buffer holds the CRLF too and must not
// fill: a longer header line ("Name: value", without CRLF) is 400; a longer request line
// ("GET /path?query HTTP/1.1", without CRLF) is 414.
inline constexpr size_t kMaxHeaderLineBytes = 8190;
inline constexpr size_t kMaxRequestLineBytes = 8190;
inline constexpr size_t kMaxExtraRoutes = 64;
inline constexpr std::chrono::milliseconds kDefaultWatchHeartbeat{5000};
// How often an idle watch checks whether the server is stopping.
inline constexpr std::chrono::milliseconds kWatchPollInterval{100};

struct ApiServerOptions {
  size_t max_body_bytes = kDefaultMaxBodyBytes;
  int max_concurrent_watches = kDefaultMaxConcurrentWatches;
  int request_threads = kDefaultRequestThreads;
  size_t max_watch_queued_events = kDefaultMaxWatchQueuedEvents;
  // A BOOKMARK line is written after this long without other lines; a client that has gone
  // away is noticed by the failed write.
  std::chrono::milliseconds watch_heartbeat = kDefaultWatchHeartbeat;
  int keep_alive_timeout_seconds = 2;  // an idle keep-alive connection holds a worker
  // /readyz: OK when the store answers. Empty: always ready.
  std::function<Status()> ready_check;
  // /metrics: appended after the API's own series (e.g. metrics::Registry::Render of the
  // process). Empty: nothing appended.
  std::function<std::string()> extra_metrics;
};

// A request as seen by a route handler.
struct ApiRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // last value of each parameter
  std::string body;
  std::vector<std::string> matches;  // capture groups of an AddRoute regex
  const std::string* Param(const std::string& key) const;
};

struct ApiResponse {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;

  static ApiResponse Json(int code, const nlohmann::json& body);
  static ApiResponse Error(const Status& status);  // REQUIRES: !status.ok()
  static ApiResponse Error(int code, std::string_view message);  // reason from the code
};

using RouteHandler = std::function<ApiResponse(const ApiRequest&)>;

class ApiServer {
 public:
  // REQUIRES: `store` outlives the server.
  ApiServer(ResourceStore* store, ApiServerOptions options = {});
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Adds a route matched before the built-in ones: `method` ("GET", "POST", "PUT",
  // "DELETE") and `path_regex` matching the whole path; capture groups become
  // ApiRequest::matches. InvalidArgument for a bad regex or method, ResourceExhausted past
  // kMaxExtraRoutes, FailedPrecondition after Start.
  Status AddRoute(std::string method, const std::string& path_regex, RouteHandler handler);

  // Binds `listen` ("host:port"; port 0 picks a free one) and serves on a background
  // thread. Returns the bound "host:port".
  Result<std::string> Start(const std::string& listen);
  // Stops accepting, ends open watches within kWatchPollInterval, joins every thread.
  void Stop();

  // Serves one non-streaming request (everything but ?watch=1). Exposed for tests.
  ApiResponse Handle(const ApiRequest& request);

  int active_watches() const { return active_watches_.load(); }
  const RequestMetrics& metrics() const { return metrics_; }

 private:
  struct ExtraRoute {
    std::string method;
    std::regex pattern;
    RouteHandler handler;
  };

  ApiResponse HandleCollection(const ApiRequest& request, Kind kind);
  ApiResponse HandleObject(const ApiRequest& request, Kind kind, const std::string& name);
  ApiResponse Create(const ApiRequest& request, Kind kind);
  ApiResponse Update(const ApiRequest& request, Kind kind, const std::string& name);
  ApiResponse Delete(const ApiRequest& request, Kind kind, const std::string& name);
  ApiResponse Ready();
  // Serves GET {plural}?watch=1 on `res` (a chunked stream or an error).
  void ServeWatch(Kind kind, const ListQuery& query, httplib::Response& res);
  void Dispatch(const httplib::Request& req, httplib::Response& res);

  ResourceStore* const store_;
  const ApiServerOptions options_;
  std::vector<ExtraRoute> extra_routes_;
  RequestMetrics metrics_;
  std::atomic<int> active_watches_{0};
  std::atomic<bool> stopping_{false};
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
};

}  // namespace grid::mas::api
