// The L4 (TCP) listener mode: N worker loops accepting on every listener (SO_REUSEPORT),
// the current configuration (one BackendSet per listener, replaced whole on reload), the
// health checks, drain and stats.
//
// Reload: new connections use the new sets; established connections keep the set and backend
// they started with (a backend whose weight went to 0, or that was removed, drains).
//
// Threads: Start, Reload, BeginDrain, CloseAll, Stop from the controlling thread; StatsJson,
// active_connections and Drained from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "router/l4/backend_set.h"
#include "router/l4/config.h"
#include "router/l4/health_checks.h"
#include "router/l4/worker.h"
#include "router/net/spin_policy.h"

namespace grid::router::l4 {

struct ServerOptions {
  int threads = 1;  // 1..kMaxThreads
  // See proxy::ServerOptions::spin_before_wait_us. 0..net::kMaxSpinBeforeWaitUs.
  uint32_t spin_before_wait_us = net::kDefaultSpinBeforeWaitUs;
  uint64_t seed = 0;
};

class Server {
 public:
  Server(Config config, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener on every loop and starts the threads.
  [[nodiscard]] Status Start();
  // The bound address of each listener, in configuration order.
  const std::vector<net::SocketAddress>& addresses() const { return addresses_; }
  const Config& config() const { return config_; }

  // Replaces the configuration (CheckReloadable must pass; the running one stays otherwise).
  [[nodiscard]] Status Reload(Config next);

  // Stops accepting; established connections go on.
  void BeginDrain();
  bool draining() const { return draining_; }
  // No client connection is open.
  bool Drained() const { return active_connections() == 0; }
  uint64_t active_connections() const;
  // Closes every connection now.
  void CloseAll();
  void Stop();

  // {"draining": bool, "generation": n, "listeners": [{name, address, policy, active_connections,
  //  total_connections, rejected_connections, no_backend, max_connections, backends: [{address,
  //  weight, in_config, healthy, probe_failures_in_a_row, active_connections,
  //  total_connections, bytes_in, bytes_out, connect_failures}]}]}
  std::string StatsJson() const;

 private:
  std::shared_ptr<BackendSet> Current(size_t listener) const;
  // Builds the sets of `config`, sharing the counters of backends already known.
  std::vector<std::shared_ptr<BackendSet>> BuildSets(const Config& config);

  Config config_;
  const ServerOptions options_;
  std::vector<net::SocketAddress> addresses_;
  std::vector<std::shared_ptr<ListenerStats>> listener_stats_;
  HealthChecks health_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<BackendSet>> sets_;  // guarded by mu_
  // Per listener: backend address → counters (kept while in the config or still in use).
  std::vector<std::map<std::string, std::shared_ptr<BackendStats>>> registry_;  // guarded by mu_
  uint64_t generation_ = 0;                                                     // guarded by mu_
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> draining_{false};
};

}  // namespace grid::router::l4
