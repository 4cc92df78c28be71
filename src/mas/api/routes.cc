#include "mas/api/routes.h"

#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace grid::mas::api {
namespace {

std::vector<std::string_view> SplitPath(std::string_view rest) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t slash = rest.find('/', start);
    if (slash == std::string_view::npos) slash = rest.size();
    parts.push_back(rest.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// Prometheus label values escape backslash, double quote and newline.
std::string EscapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Line(const nlohmann::json& j) { return j.dump() + "\n"; }

}  // namespace

const char* PluralName(Kind kind) {
  switch (kind) {
    case Kind::kKVCluster:
      return "kvclusters";
    case Kind::kRouterFleet:
      return "routerfleets";
  }
  return "";
}

std::optional<Kind> KindFromPlural(std::string_view plural) {
  for (Kind kind : kAllKinds) {
    if (plural == PluralName(kind)) return kind;
  }
  return std::nullopt;
}

std::optional<ApiPath> ParseApiPath(std::string_view path) {
  std::string_view prefix = kApiPrefix;
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  if (rest.empty() || rest[0] != '/') return std::nullopt;
  std::vector<std::string_view> parts = SplitPath(rest.substr(1));
  if (parts.empty() || parts.size() > 3) return std::nullopt;
  for (std::string_view part : parts) {
    if (part.empty()) return std::nullopt;
  }
  std::optional<Kind> kind = KindFromPlural(parts[0]);
  if (!kind) return std::nullopt;
  ApiPath out;
  out.kind = *kind;
  if (parts.size() > 1) out.name = std::string(parts[1]);
  if (parts.size() > 2) out.subresource = std::string(parts[2]);
  return out;
}

std::string RouteLabel(std::string_view path) {
  for (std::string_view fixed : {"/healthz", "/readyz", "/metrics"}) {
    if (path == fixed) return std::string(fixed);
  }
  std::optional<ApiPath> api = ParseApiPath(path);
  if (!api) return "other";
  std::string label = fmt::format("{}/{}", kApiPrefix, PluralName(api->kind));
  if (!api->name.empty()) label += "/{name}";
  if (!api->subresource.empty()) {
    // Subresources are a small fixed set in practice; unknown ones collapse to one label.
    static const char* const kKnown[] = {"status", "events", "scale"};
    std::string sub = "{subresource}";
    for (const char* known : kKnown) {
      if (api->subresource == known) sub = known;
    }
    label += "/" + sub;
  }
  return label;
}

HttpError HttpErrorFor(const Status& status) {
  switch (status.code()) {
    case Code::kInvalidArgument:
      return {422, "Invalid"};
    case Code::kNotFound:
      return {404, "NotFound"};
    case Code::kAlreadyExists:
      return {409, "AlreadyExists"};
    case Code::kFailedPrecondition:
      return {409, "Conflict"};
    case Code::kResourceExhausted:
      return {413, "RequestEntityTooLarge"};
    case Code::kOutOfRange:
      return {410, "Expired"};
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
    case Code::kCancelled:
      return {503, "ServiceUnavailable"};
    case Code::kUnimplemented:
      return {501, "NotImplemented"};
    case Code::kPermissionDenied:
      return {403, "Forbidden"};
    default:
      return {500, "InternalError"};
  }
}

std::string ReasonForCode(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 414:
      return "RequestURITooLong";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 501:
      return "NotImplemented";
    case 503:
      return "ServiceUnavailable";
    default:
      return code >= 500 ? "InternalError" : "BadRequest";
  }
}

nlohmann::json StatusBody(int code, std::string_view reason, std::string_view message) {
  return nlohmann::json{{"kind", "Status"},       {"apiVersion", "v1"},
                        {"status", "Failure"},    {"code", code},
                        {"reason", reason},       {"message", message}};
}

nlohmann::json StatusBody(const Status& status) {
  HttpError e = HttpErrorFor(status);
  return StatusBody(e.code, e.reason, status.message());
}

nlohmann::json SuccessBody(Kind kind, std::string_view name) {
  return nlohmann::json{{"kind", "Status"},
                        {"apiVersion", "v1"},
                        {"status", "Success"},
                        {"code", 200},
                        {"details", {{"name", name}, {"kind", PluralName(kind)}}}};
}

nlohmann::json ListBody(Kind kind, const ResourceList& list) {
  nlohmann::json items = nlohmann::json::array();
  for (const Resource& r : list.items) items.push_back(ToJson(r));
  return nlohmann::json{{"apiVersion", kApiVersion},
                        {"kind", std::string(KindName(kind)) + "List"},
                        {"metadata", {{"resourceVersion", std::to_string(list.revision)}}},
                        {"items", std::move(items)}};
}

std::string WatchEventLine(const ResourceEvent& event) {
  return Line({{"type", EventTypeName(event.type)}, {"object", ToJson(event.resource)}});
}

std::string BookmarkLine(Kind kind, int64_t revision) {
  return Line({{"type", "BOOKMARK"},
               {"object",
                {{"apiVersion", kApiVersion},
                 {"kind", KindName(kind)},
                 {"metadata", {{"resourceVersion", std::to_string(revision)}}}}}});
}

std::string ErrorEventLine(const Status& status) {
  return Line({{"type", "ERROR"}, {"object", StatusBody(status)}});
}

Result<ListQuery> ParseListQuery(const std::string* watch, const std::string* resource_version) {
  ListQuery q;
  if (watch != nullptr) q.watch = (*watch == "1" || *watch == "true");
  if (resource_version != nullptr && !resource_version->empty()) {
    int64_t rv = -1;
    const char* begin = resource_version->data();
    const char* end = begin + resource_version->size();
    auto [ptr, ec] = std::from_chars(begin, end, rv);
    if (ec != std::errc() || ptr != end || rv < 0) {
      return InvalidArgument(fmt::format(
          "resourceVersion: must be a decimal revision >= 0, got \"{}\"", *resource_version));
    }
    if (rv > 0) q.resource_version = rv;
  }
  return q;
}

Status CheckBodySize(size_t body_bytes, size_t max_bytes) {
  if (body_bytes > max_bytes) {
    return ResourceExhausted(fmt::format("request body is {} bytes, over the limit of {} bytes",
                                         body_bytes, max_bytes));
  }
  return Status::Ok();
}

void RequestMetrics::Record(const std::string& route, const std::string& method, int code) {
  std::lock_guard lock(mu_);
  ++counts_[{route, method, code}];
}

void RequestMetrics::SetActiveWatches(int64_t n) {
  std::lock_guard lock(mu_);
  active_watches_ = n;
}

uint64_t RequestMetrics::Count(const std::string& route, const std::string& method,
                               int code) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find({route, method, code});
  return it == counts_.end() ? 0 : it->second;
}

std::string RequestMetrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out =
      "# HELP grid_mas_api_requests_total API requests by route template, method and code.\n"
      "# TYPE grid_mas_api_requests_total counter\n";
  for (const auto& [key, n] : counts_) {
    const auto& [route, method, code] = key;
    out += fmt::format("grid_mas_api_requests_total{{route=\"{}\",method=\"{}\",code=\"{}\"}} {}\n",
                       EscapeLabel(route), EscapeLabel(method), code, n);
  }
  out +=
      "# HELP grid_mas_api_watches Watch streams open now.\n"
      "# TYPE grid_mas_api_watches gauge\n";
  out += fmt::format("grid_mas_api_watches {}\n", active_watches_);
  return out;
}

}  // namespace grid::mas::api
