#include "kv/http/etcd_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace grid::kv::http {
namespace {

// etcd serves every HTTP response through its CORS wrapper.
void AddCorsHeaders(HttpResponse* response) {
  response->headers.insert(
      response->headers.begin(),
      {{"Access-Control-Allow-Headers", "accept, content-type, authorization"},
       {"Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE"},
       {"Access-Control-Allow-Origin", "*"}});
}

// Go's http.Error: plain text, nosniff, the message and a newline.
HttpResponse GoError(int status, std::string message) {
  HttpResponse response;
  response.status = status;
  response.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                      {"X-Content-Type-Options", "nosniff"}};
  response.body = std::move(message) + "\n";
  return response;
}

HttpResponse MethodNotAllowed(const char* allow) {
  HttpResponse response = GoError(405, "Method Not Allowed");
  response.headers.insert(response.headers.begin(), {"Allow", allow});
  return response;
}

}  // namespace

EtcdHttpHandler::EtcdHttpHandler(std::unique_ptr<MemberStatusSource> source,
                                 VersionInfo versions)
    : source_(std::move(source)), versions_(std::move(versions)) {}

HttpResponse EtcdHttpHandler::Handle(const HttpRequest& request) {
  HttpResponse response;
  if (request.path == "/health") {
    response = Health(request);
  } else if (request.path == "/version") {
    response = Version(request);
  } else if (request.path == "/metrics") {
    response = Metrics();
  } else {
    response = GoError(404, "404 page not found");
  }
  AddCorsHeaders(&response);
  return response;
}

HttpResponse EtcdHttpHandler::Health(const HttpRequest& request) {
  if (request.method != "GET") return MethodNotAllowed("GET");
  const std::vector<std::string> excluded = request.QueryValues("exclude");
  bool healthy = true;
  for (const std::string& alarm : source_->ActiveAlarms()) {
    if (std::find(excluded.begin(), excluded.end(), alarm) != excluded.end()) continue;
    spdlog::warn("/health error due to alarm {}", alarm);
    healthy = false;
    break;
  }
  if (healthy && !source_->HasLeader()) {
    spdlog::warn("/health error; no leader (status code 503)");
    healthy = false;
  }
  if (healthy && !source_->LinearizableReadWithin(kHealthReadTimeout)) {
    spdlog::warn("/health error; linearizable read failed (status code 503)");
    healthy = false;
  }
  if (!healthy) {
    health_failures_.fetch_add(1, std::memory_order_relaxed);
    return GoError(503, R"({"health":"false"})");
  }
  health_success_.fetch_add(1, std::memory_order_relaxed);
  HttpResponse response;
  response.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
  response.body = R"({"health":"true"})";
  return response;
}

HttpResponse EtcdHttpHandler::Version(const HttpRequest& request) const {
  if (request.method != "GET") return MethodNotAllowed("GET");
  HttpResponse response;
  response.headers = {{"Content-Type", "application/json"}};
  response.body = R"({"etcdserver":")" + versions_.server + R"(","etcdcluster":")" +
                  versions_.cluster + R"("})";
  return response;
}

HttpResponse EtcdHttpHandler::Metrics() const {
  MetricsSnapshot snapshot = source_->Metrics();
  snapshot.health_success_total = health_success_.load(std::memory_order_relaxed);
  snapshot.health_failures_total = health_failures_.load(std::memory_order_relaxed);
  HttpResponse response;
  response.headers = {{"Content-Type", kPrometheusContentType}};
  response.body = FormatPrometheus(snapshot);
  return response;
}

}  // namespace grid::kv::http
