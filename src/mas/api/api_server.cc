#include "mas/api/api_server.h"

#include <httplib.h>

#include <charconv>
#include <utility>

#include <fmt/format.h>

#include "common/check.h"

namespace grid::mas::api {
namespace {

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The message of an error the HTTP layer produced before any handler ran.
std::string HttpLayerMessage(int code, const std::string& path, size_t max_body_bytes) {
  switch (code) {
    case 400:
      return fmt::format("malformed HTTP request (a header line is limited to {} bytes)",
                         kMaxHeaderLineBytes);
    case 404:
      return fmt::format("the path \"{}\" is not served", path);
    case 413:
      return fmt::format("request body over the limit of {} bytes", max_body_bytes);
    case 414:
      return fmt::format("request line over the limit of {} bytes", kMaxRequestLineBytes);
    default:
      return fmt::format("HTTP {}", code);
  }
}

Result<std::pair<std::string, int>> SplitHostPort(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument(fmt::format("listen address \"{}\": want host:port", listen));
  }
  std::string host = listen.substr(0, colon);
  std::string port_text = listen.substr(colon + 1);
  int port = -1;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    return InvalidArgument(fmt::format("listen address \"{}\": bad port", listen));
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

// Whether the HTTP layer would wait for a request body that was never framed: a method it
// reads a body for, with neither Content-Length nor Transfer-Encoding.
bool HasUnframedBody(const std::string& method, bool has_length, bool has_encoding) {
  return (method == "POST" || method == "PUT" || method == "PATCH") && !has_length &&
         !has_encoding;
}

bool KnownMethod(const std::string& method) {
  return method == "GET" || method == "POST" || method == "PUT" || method == "DELETE";
}

// A resource from a request body, checked against the path's kind.
Result<Resource> ParseBody(const std::string& body, size_t max_body_bytes, Kind kind) {
  GRID_RETURN_IF_ERROR(CheckBodySize(body.size(), max_body_bytes));
  GRID_ASSIGN_OR_RETURN(Resource resource, ParseResource(body));
  if (resource.kind() != kind) {
    return InvalidArgument(fmt::format("kind: {} does not belong under {}",
                                       KindName(resource.kind()), PluralName(kind)));
  }
  return resource;
}

}  // namespace

const std::string* ApiRequest::Param(const std::string& key) const {
  auto it = query.find(key);
  return it == query.end() ? nullptr : &it->second;
}

ApiResponse ApiResponse::Json(int code, const nlohmann::json& body) {
  return ApiResponse{code, "application/json", Dump(body)};
}

ApiResponse ApiResponse::Error(const Status& status) {
  GRID_CHECK(!status.ok());
  HttpError e = HttpErrorFor(status);
  return Json(e.code, StatusBody(e.code, e.reason, status.message()));
}

ApiResponse ApiResponse::Error(int code, std::string_view message) {
  return Json(code, StatusBody(code, ReasonForCode(code), message));
}

ApiServer::ApiServer(ResourceStore* store, ApiServerOptions options)
    : store_(store), options_(std::move(options)) {
  GRID_CHECK(store_ != nullptr);
  GRID_CHECK(options_.max_concurrent_watches >= 0 &&
             options_.max_concurrent_watches <= kMaxConcurrentWatchesLimit);
  GRID_CHECK(options_.request_threads >= 1 && options_.request_threads <= kMaxRequestThreads);
  GRID_CHECK(options_.max_watch_queued_events >= 1);
}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::AddRoute(std::string method, const std::string& path_regex,
                           RouteHandler handler) {
  if (http_ != nullptr) return FailedPrecondition("AddRoute after Start");
  if (!KnownMethod(method)) {
    return InvalidArgument(fmt::format("method \"{}\": want GET, POST, PUT or DELETE", method));
  }
  if (extra_routes_.size() >= kMaxExtraRoutes) {
    return ResourceExhausted(fmt::format("more than {} added routes", kMaxExtraRoutes));
  }
  if (!handler) return InvalidArgument("route handler is empty");
  try {
    extra_routes_.push_back(ExtraRoute{std::move(method), std::regex(path_regex),
                                       std::move(handler)});
  } catch (const std::regex_error& e) {
    return InvalidArgument(fmt::format("path regex \"{}\": {}", path_regex, e.what()));
  }
  return Status::Ok();
}

Result<std::string> ApiServer::Start(const std::string& listen) {
  if (http_ != nullptr) return FailedPrecondition("ApiServer already started");
  GRID_ASSIGN_OR_RETURN(auto host_port, SplitHostPort(listen));
  auto [host, port] = host_port;

  http_ = std::make_unique<httplib::Server>();
  const size_t threads =
      static_cast<size_t>(options_.request_threads + options_.max_concurrent_watches);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_keep_alive_timeout(options_.keep_alive_timeout_seconds);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    Dispatch(req, res);
  };
  http_->Get(".*", handler);
  http_->Post(".*", handler);
  http_->Put(".*", handler);
  http_->Delete(".*", handler);
  http_->Patch(".*", handler);
  // The HTTP layer reads the body of a POST, PUT or PATCH that has neither Content-Length
  // nor Transfer-Encoding until the connection closes, so a client that waits for the
  // answer (`curl -XPOST URL`) gets 400 at the layer's read timeout. Such a request has no
  // body (RFC 9112 section 6.3): serve it here, before the layer tries to read one.
  http_->set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!HasUnframedBody(req.method, req.has_header("Content-Length"),
                             req.has_header("Transfer-Encoding"))) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        Dispatch(req, res);
        return httplib::Server::HandlerResponse::Handled;
      });
  const size_t max_body = options_.max_body_bytes;
  http_->set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    res.set_content(
        Dump(StatusBody(res.status, ReasonForCode(res.status),
                        HttpLayerMessage(res.status, req.path, max_body))),
        "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(Dump(StatusBody(500, "InternalError", what)), "application/json");
      });
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.Record(RouteLabel(req.path), req.method, res.status);
  });

  int bound = port;
  if (port == 0) {
    bound = http_->bind_to_any_port(host);
    if (bound <= 0) {
      http_.reset();
      return Unavailable(fmt::format("cannot listen on {}", listen));
    }
  } else if (!http_->bind_to_port(host, port)) {
    http_.reset();
    return Unavailable(fmt::format("cannot listen on {}", listen));
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  listener_ = std::thread([this, done] {
    http_->listen_after_bind();
    done->store(true);
  });
  // Stop() is a no-op until the server runs, so wait for it (or for a failed listen).
  while (!http_->is_running() && !done->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return fmt::format("{}:{}", shown, bound);
}

void ApiServer::Stop() {
  stopping_.store(true);
  if (http_ != nullptr) http_->stop();
  if (listener_.joinable()) listener_.join();
}

void ApiServer::Dispatch(const httplib::Request& req, httplib::Response& res) {
  ApiRequest request;
  request.method = req.method;
  request.path = req.path;
  for (const auto& [key, value] : req.params) request.query[key] = value;
  request.body = req.body;

  if (request.method == "GET") {
    std::optional<ApiPath> api = ParseApiPath(request.path);
    bool extra = false;
    for (const ExtraRoute& route : extra_routes_) {
      extra = extra || (route.method == "GET" && std::regex_match(request.path, route.pattern));
    }
    if (api && api->name.empty() && !extra) {
      Result<ListQuery> query =
          ParseListQuery(request.Param("watch"), request.Param("resourceVersion"));
      if (query.ok() && query->watch) {
        ServeWatch(api->kind, *query, res);
        return;
      }
    }
  }
  ApiResponse response = Handle(request);
  res.status = response.code;
  res.set_content(response.body, response.content_type);
}

ApiResponse ApiServer::Handle(const ApiRequest& request) {
  for (const ExtraRoute& route : extra_routes_) {
    if (route.method != request.method) continue;
    std::smatch m;
    if (std::regex_match(request.path, m, route.pattern)) {
      ApiRequest with_matches = request;
      for (size_t i = 1; i < m.size(); ++i) with_matches.matches.push_back(m[i].str());
      return route.handler(with_matches);
    }
  }
  const bool get = request.method == "GET";
  if (request.path == "/healthz") {
    return get ? ApiResponse{200, "text/plain", "ok\n"}
               : ApiResponse::Error(405, "/healthz takes GET");
  }
  if (request.path == "/readyz") {
    return get ? Ready() : ApiResponse::Error(405, "/readyz takes GET");
  }
  if (request.path == "/metrics") {
    std::string text = metrics_.Render();
    if (get && options_.extra_metrics) text += options_.extra_metrics();
    return get ? ApiResponse{200, "text/plain; version=0.0.4", std::move(text)}
               : ApiResponse::Error(405, "/metrics takes GET");
  }
  std::optional<ApiPath> api = ParseApiPath(request.path);
  if (!api) {
    return ApiResponse::Error(404, fmt::format("the path \"{}\" is not served", request.path));
  }
  if (api->name.empty()) return HandleCollection(request, api->kind);
  if (api->subresource.empty()) return HandleObject(request, api->kind, api->name);
  if (api->subresource == "status") {
    if (get) return HandleObject(request, api->kind, api->name);
    return ApiResponse::Error(
        405, "status is written by the controllers and cannot be changed through the API");
  }
  return ApiResponse::Error(
      404, fmt::format("{} has no subresource \"{}\"", PluralName(api->kind), api->subresource));
}

ApiResponse ApiServer::HandleCollection(const ApiRequest& request, Kind kind) {
  if (request.method == "POST") return Create(request, kind);
  if (request.method != "GET") {
    return ApiResponse::Error(405, fmt::format("{} takes GET and POST", PluralName(kind)));
  }
  Result<ListQuery> query =
      ParseListQuery(request.Param("watch"), request.Param("resourceVersion"));
  if (!query.ok()) return ApiResponse::Error(400, query.status().message());
  if (query->watch) return ApiResponse::Error(400, "watch needs a streaming connection");
  Result<ResourceList> list = store_->List(kind);
  if (!list.ok()) return ApiResponse::Error(list.status());
  return ApiResponse::Json(200, ListBody(kind, *list));
}

ApiResponse ApiServer::HandleObject(const ApiRequest& request, Kind kind,
                                    const std::string& name) {
  if (request.method == "GET") {
    Result<Resource> got = store_->Get(kind, name);
    if (!got.ok()) return ApiResponse::Error(got.status());
    return ApiResponse::Json(200, ToJson(*got));
  }
  if (request.method == "PUT") return Update(request, kind, name);
  if (request.method == "DELETE") return Delete(request, kind, name);
  return ApiResponse::Error(
      405, fmt::format("{}/{{name}} takes GET, PUT and DELETE", PluralName(kind)));
}

ApiResponse ApiServer::Create(const ApiRequest& request, Kind kind) {
  Result<Resource> parsed = ParseBody(request.body, options_.max_body_bytes, kind);
  if (!parsed.ok()) return ApiResponse::Error(parsed.status());
  Result<Resource> created = store_->Create(*parsed);
  if (!created.ok()) return ApiResponse::Error(created.status());
  return ApiResponse::Json(201, ToJson(*created));
}

ApiResponse ApiServer::Update(const ApiRequest& request, Kind kind, const std::string& name) {
  Result<Resource> parsed = ParseBody(request.body, options_.max_body_bytes, kind);
  if (!parsed.ok()) return ApiResponse::Error(parsed.status());
  Resource desired = std::move(parsed).value();
  if (desired.metadata.name.empty()) desired.metadata.name = name;
  if (desired.metadata.name != name) {
    return ApiResponse::Error(
        400, fmt::format("metadata.name: \"{}\" does not match the name in the path \"{}\"",
                         desired.metadata.name, name));
  }
  if (desired.metadata.resource_version.empty()) {
    Result<Resource> current = store_->Get(kind, name);
    if (!current.ok()) return ApiResponse::Error(current.status());
    desired.metadata.resource_version = current->metadata.resource_version;
  }
  Result<Resource> updated = store_->Update(desired);
  if (!updated.ok()) return ApiResponse::Error(updated.status());
  return ApiResponse::Json(200, ToJson(*updated));
}

ApiResponse ApiServer::Delete(const ApiRequest& request, Kind kind, const std::string& name) {
  std::string version;
  if (const std::string* rv = request.Param("resourceVersion"); rv != nullptr) {
    Result<ListQuery> parsed = ParseListQuery(nullptr, rv);
    if (!parsed.ok()) return ApiResponse::Error(400, parsed.status().message());
    version = *rv;
  }
  Status deleted = store_->Delete(kind, name, version);
  if (!deleted.ok()) return ApiResponse::Error(deleted);
  return ApiResponse::Json(200, SuccessBody(kind, name));
}

ApiResponse ApiServer::Ready() {
  Status ready = options_.ready_check ? options_.ready_check() : Status::Ok();
  if (!ready.ok()) {
    return ApiResponse::Error(503, "store unreachable: " + ready.message());
  }
  return ApiResponse{200, "text/plain", "ok\n"};
}

namespace {

// One open watch: holds a slot of max_concurrent_watches until destroyed.
struct WatchState {
  WatchState(std::atomic<int>* active, RequestMetrics* metrics, Kind kind, int64_t seen,
             size_t max_queued)
      : active(active), metrics(metrics), kind(kind), stream(kind, seen, max_queued) {}
  ~WatchState() {
    watcher.reset();  // joins the watcher thread before the stream goes away
    metrics->SetActiveWatches(active->fetch_sub(1) - 1);
  }
  std::atomic<int>* active;
  RequestMetrics* metrics;
  Kind kind;
  WatchStream stream;
  std::unique_ptr<client::Watcher> watcher;
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
};

}  // namespace

void ApiServer::ServeWatch(Kind kind, const ListQuery& query, httplib::Response& res) {
  auto fail = [&res](const ApiResponse& response) {
    res.status = response.code;
    res.set_content(response.body, response.content_type);
  };
  const int before = active_watches_.fetch_add(1);
  if (before >= options_.max_concurrent_watches) {
    active_watches_.fetch_sub(1);
    fail(ApiResponse::Error(
        429, fmt::format("more than {} watches are open; try again later",
                         options_.max_concurrent_watches)));
    return;
  }
  metrics_.SetActiveWatches(before + 1);
  int64_t seen = query.resource_version.value_or(0);
  auto state = std::make_shared<WatchState>(&active_watches_, &metrics_, kind, seen,
                                            options_.max_watch_queued_events);
  if (!query.resource_version) {
    Result<ResourceList> list = store_->List(kind);
    if (!list.ok()) return fail(ApiResponse::Error(list.status()));
    seen = list->revision;
    for (const Resource& r : list->items) {
      state->stream.PushLine(WatchEventLine(ResourceEvent{EventType::kAdded, seen, r}), seen);
    }
  }
  WatchStream* stream = &state->stream;
  auto watcher = store_->Watch(kind, seen + 1, [stream](const ResourceWatchUpdate& update) {
    stream->Push(update);
  });
  if (!watcher.ok()) return fail(ApiResponse::Error(watcher.status()));
  state->watcher = std::move(watcher).value();

  res.status = 200;
  // application/x-ndjson, not application/json: the HTTP library compresses JSON for clients
  // that accept it, and a compressor holds the lines back instead of sending each event.
  res.set_chunked_content_provider(
      "application/x-ndjson", [this, state](size_t, httplib::DataSink& sink) {
        WatchStream::Batch batch = state->stream.Next(kWatchPollInterval);
        auto now = std::chrono::steady_clock::now();
        if (batch.data.empty() && !batch.end) {
          if (stopping_.load()) {
            sink.done();
            return true;
          }
          if (now - state->last_write < options_.watch_heartbeat) return true;
          batch.data = BookmarkLine(state->kind, state->stream.seen_revision());
        }
        if (!sink.write(batch.data.data(), batch.data.size())) return false;
        state->last_write = now;
        if (batch.end) sink.done();
        return true;
      });
}

}  // namespace grid::mas::api
