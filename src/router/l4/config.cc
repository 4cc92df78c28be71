#include "router/l4/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace grid::router::l4 {
namespace {

Status FieldError(const std::string& path, const std::string& why) {
  return InvalidArgument(path + ": " + why);
}

// Every key of `map` must be one of `known`.
Status CheckKeys(const YAML::Node& map, const std::string& path,
                 std::initializer_list<std::string_view> known) {
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    bool found = false;
    for (std::string_view k : known) found = found || k == key;
    if (!found) return FieldError(path.empty() ? key : path + "." + key, "unknown field");
  }
  return Status::Ok();
}

// Reads an optional unsigned integer field within [min, max] into `out` (left as is when the
// field is absent).
Status ReadUint(const YAML::Node& map, const std::string& path, const char* key, uint64_t min,
                uint64_t max, uint32_t* out) {
  const YAML::Node node = map[key];
  if (!node) return Status::Ok();
  const std::string field = path + "." + key;
  if (!node.IsScalar()) return FieldError(field, "must be an integer");
  int64_t value = 0;
  try {
    value = node.as<int64_t>();
  } catch (const YAML::Exception&) {
    return FieldError(field, "must be an integer, got \"" + node.Scalar() + "\"");
  }
  if (value < static_cast<int64_t>(min) || value > static_cast<int64_t>(max)) {
    return FieldError(field, "must be between " + std::to_string(min) + " and " +
                                 std::to_string(max) + ", got " + std::to_string(value));
  }
  *out = static_cast<uint32_t>(value);
  return Status::Ok();
}

Result<std::string> ReadString(const YAML::Node& map, const std::string& path, const char* key) {
  const YAML::Node node = map[key];
  const std::string field = path + "." + key;
  if (!node) return FieldError(field, "required");
  if (!node.IsScalar() || node.Scalar().empty())
    return FieldError(field, "must be a non-empty string");
  return node.Scalar();
}

Status ParseHealthCheck(const YAML::Node& node, const std::string& path, HealthCheckConfig* hc) {
  if (!node.IsMap()) return FieldError(path, "must be a map");
  GRID_RETURN_IF_ERROR(CheckKeys(
      node, path, {"interval_ms", "timeout_ms", "unhealthy_threshold", "healthy_threshold"}));
  GRID_RETURN_IF_ERROR(ReadUint(node, path, "interval_ms", kMinHealthIntervalMs,
                                kMaxHealthIntervalMs, &hc->interval_ms));
  if (!node["timeout_ms"]) hc->timeout_ms = std::min(hc->timeout_ms, hc->interval_ms);
  GRID_RETURN_IF_ERROR(ReadUint(node, path, "timeout_ms", 1, hc->interval_ms, &hc->timeout_ms));
  GRID_RETURN_IF_ERROR(ReadUint(node, path, "unhealthy_threshold", 1, kMaxHealthThreshold,
                                &hc->unhealthy_threshold));
  GRID_RETURN_IF_ERROR(
      ReadUint(node, path, "healthy_threshold", 1, kMaxHealthThreshold, &hc->healthy_threshold));
  return Status::Ok();
}

Status ParseBackend(const YAML::Node& node, const std::string& path, BackendConfig* b) {
  if (!node.IsMap()) return FieldError(path, "must be a map with address and weight");
  GRID_RETURN_IF_ERROR(CheckKeys(node, path, {"address", "weight"}));
  GRID_ASSIGN_OR_RETURN(b->address, ReadString(node, path, "address"));
  Result<net::SocketAddress> resolved = net::ResolveSocketAddress(b->address);
  if (!resolved.ok()) return FieldError(path + ".address", resolved.status().message());
  if (resolved->port() == 0) return FieldError(path + ".address", "port 0 is not a backend port");
  b->resolved = *resolved;
  return ReadUint(node, path, "weight", 0, kMaxWeight, &b->weight);
}

Status ParseListener(const YAML::Node& node, const std::string& path, ListenerConfig* l) {
  if (!node.IsMap()) return FieldError(path, "must be a map");
  GRID_RETURN_IF_ERROR(
      CheckKeys(node, path,
                {"name", "listen", "backends", "policy", "connect_timeout_ms", "idle_timeout_ms",
                 "connect_attempts", "max_connections", "buffer_bytes", "health_check"}));
  GRID_ASSIGN_OR_RETURN(l->name, ReadString(node, path, "name"));
  GRID_ASSIGN_OR_RETURN(l->listen, ReadString(node, path, "listen"));
  Result<net::SocketAddress> listen = net::ParseSocketAddress(l->listen);
  if (!listen.ok()) return FieldError(path + ".listen", listen.status().message());
  l->listen_address = *listen;
  if (const YAML::Node policy = node["policy"]; policy) {
    const std::string text = policy.IsScalar() ? policy.Scalar() : "";
    if (text == "round_robin") {
      l->policy = Policy::kRoundRobin;
    } else if (text == "least_conn") {
      l->policy = Policy::kLeastConn;
    } else {
      return FieldError(path + ".policy",
                        "must be round_robin or least_conn, got \"" + text + "\"");
    }
  }
  GRID_RETURN_IF_ERROR(
      ReadUint(node, path, "connect_timeout_ms", 1, kMaxConnectTimeoutMs, &l->connect_timeout_ms));
  GRID_RETURN_IF_ERROR(
      ReadUint(node, path, "idle_timeout_ms", 1, kMaxIdleTimeoutMs, &l->idle_timeout_ms));
  GRID_RETURN_IF_ERROR(
      ReadUint(node, path, "connect_attempts", 1, kMaxConnectAttempts, &l->connect_attempts));
  GRID_RETURN_IF_ERROR(
      ReadUint(node, path, "max_connections", 1, kMaxConnectionsPerListener, &l->max_connections));
  GRID_RETURN_IF_ERROR(
      ReadUint(node, path, "buffer_bytes", kMinBufferBytes, kMaxBufferBytes, &l->buffer_bytes));
  if (const YAML::Node hc = node["health_check"]; hc && !hc.IsNull()) {
    l->health_check.emplace();
    GRID_RETURN_IF_ERROR(ParseHealthCheck(hc, path + ".health_check", &*l->health_check));
  }
  const YAML::Node backends = node["backends"];
  if (!backends) return FieldError(path + ".backends", "required");
  if (!backends.IsSequence() || backends.size() == 0) {
    return FieldError(path + ".backends", "must be a non-empty list");
  }
  if (backends.size() > kMaxBackendsPerListener) {
    return FieldError(path + ".backends", "at most " + std::to_string(kMaxBackendsPerListener) +
                                              " backends, got " + std::to_string(backends.size()));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < backends.size(); ++i) {
    const std::string bpath = path + ".backends[" + std::to_string(i) + "]";
    BackendConfig b;
    GRID_RETURN_IF_ERROR(ParseBackend(backends[i], bpath, &b));
    if (!seen.insert(b.address).second) {
      return FieldError(bpath + ".address", "duplicate backend \"" + b.address + "\"");
    }
    l->backends.push_back(std::move(b));
  }
  return Status::Ok();
}

}  // namespace

std::string_view PolicyName(Policy policy) {
  return policy == Policy::kRoundRobin ? "round_robin" : "least_conn";
}

Result<Config> ParseConfig(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("yaml: ") + e.what());
  }
  if (!root.IsMap()) return InvalidArgument("top level: must be a map with a listeners list");
  GRID_RETURN_IF_ERROR(CheckKeys(root, "", {"listeners"}));
  const YAML::Node listeners = root["listeners"];
  if (!listeners) return FieldError("listeners", "required");
  if (!listeners.IsSequence() || listeners.size() == 0) {
    return FieldError("listeners", "must be a non-empty list");
  }
  if (listeners.size() > kMaxListeners) {
    return FieldError("listeners", "at most " + std::to_string(kMaxListeners) + " listeners, got " +
                                       std::to_string(listeners.size()));
  }
  Config config;
  std::set<std::string> names;
  std::set<std::string> addresses;
  for (size_t i = 0; i < listeners.size(); ++i) {
    const std::string path = "listeners[" + std::to_string(i) + "]";
    ListenerConfig l;
    GRID_RETURN_IF_ERROR(ParseListener(listeners[i], path, &l));
    if (!names.insert(l.name).second) {
      return FieldError(path + ".name", "duplicate listener name \"" + l.name + "\"");
    }
    if (l.listen_address.port() != 0 && !addresses.insert(l.listen_address.ToString()).second) {
      return FieldError(path + ".listen", "duplicate listen address \"" + l.listen + "\"");
    }
    config.listeners.push_back(std::move(l));
  }
  return config;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return IOError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return IOError("cannot read " + path);
  return ParseConfig(text.str());
}

Status CheckReloadable(const Config& current, const Config& next) {
  if (current.listeners.size() != next.listeners.size()) {
    return FieldError("listeners", "adding or removing listeners needs a restart (" +
                                       std::to_string(current.listeners.size()) + " running, " +
                                       std::to_string(next.listeners.size()) + " in the file)");
  }
  for (size_t i = 0; i < next.listeners.size(); ++i) {
    const ListenerConfig& a = current.listeners[i];
    const ListenerConfig& b = next.listeners[i];
    const std::string path = "listeners[" + std::to_string(i) + "]";
    if (a.name != b.name) {
      return FieldError(path + ".name", "renaming a listener needs a restart (\"" + a.name +
                                            "\" running, \"" + b.name + "\" in the file)");
    }
    if (a.listen != b.listen) {
      return FieldError(path + ".listen", "moving a listener needs a restart (\"" + a.listen +
                                              "\" running, \"" + b.listen + "\" in the file)");
    }
  }
  return Status::Ok();
}

}  // namespace grid::router::l4
