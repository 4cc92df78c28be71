// The L4 mode's configuration: listeners, each with weighted backends, a policy, timeouts,
// limits and an optional TCP health check. Loaded from YAML (schema in README.md); every error
// names the field at fault ("listeners[0].backends[1].weight: ...").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "router/l4/limits.h"
#include "router/net/socket.h"

namespace grid::router::l4 {

enum class Policy { kRoundRobin, kLeastConn };

struct BackendConfig {
  std::string address;          // as written ("host:port")
  net::SocketAddress resolved;  // resolved at load time
  uint32_t weight = 1;          // 0..kMaxWeight; 0: no new connections
};

struct HealthCheckConfig {
  uint32_t interval_ms = 1000;
  uint32_t timeout_ms = 500;  // <= interval_ms
  uint32_t unhealthy_threshold = 3;
  uint32_t healthy_threshold = 2;
};

struct ListenerConfig {
  std::string name;
  std::string listen;  // "host:port" as written
  net::SocketAddress listen_address;
  std::vector<BackendConfig> backends;
  Policy policy = Policy::kRoundRobin;
  uint32_t connect_timeout_ms = kDefaultConnectTimeoutMs;
  uint32_t idle_timeout_ms = kDefaultIdleTimeoutMs;
  uint32_t connect_attempts = kDefaultConnectAttempts;
  uint32_t max_connections = kDefaultMaxConnections;
  uint32_t buffer_bytes = kDefaultBufferBytes;
  std::optional<HealthCheckConfig> health_check;
};

struct Config {
  std::vector<ListenerConfig> listeners;
};

std::string_view PolicyName(Policy policy);

// Parses and validates YAML text. InvalidArgument "<field path>: <why>" on the first error.
Result<Config> ParseConfig(std::string_view yaml_text);
// Reads and parses a file (IOError when it cannot be read).
Result<Config> LoadConfigFile(const std::string& path);

// Whether `next` may replace `current` in a running process: the same listeners (names and
// listen addresses, in order). Backends, weights, policy, timeouts and limits may change.
Status CheckReloadable(const Config& current, const Config& next);

}  // namespace grid::router::l4
