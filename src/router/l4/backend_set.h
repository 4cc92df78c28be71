// One listener's backends in one configuration generation, and the live counters they share
// with earlier generations and with the connections made to them.
//
// A reload builds a new BackendSet per listener; the counters (BackendStats) are looked up by
// backend address, so a backend kept across a reload keeps its counts and health, and the
// connections opened under an older generation keep counting on the same object. A backend
// with weight 0 (or removed) is never picked: its connections finish on their own (draining).
//
// Threads: Pick and the stats are safe from any thread; a BackendSet is immutable otherwise.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "router/balance/balancer.h"
#include "router/l4/config.h"

namespace grid::router::l4 {

// Live counters of one backend of one listener. bytes_in: bytes from clients sent to the
// backend; bytes_out: bytes from the backend sent to clients.
class BackendStats {
 public:
  std::atomic<uint32_t> active{0};  // connections open or being opened
  std::atomic<uint64_t> total{0};   // connections established
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> connect_failures{0};  // refused, unreachable or timed out

  // Health as the active check last decided, with the failed probes in a row behind it, as one
  // value so a reader never sees one without the other. Healthy with no failures at first.
  struct Health {
    bool healthy = true;
    uint32_t probe_failures_in_a_row = 0;
  };
  Health health() const;
  void set_health(Health h);

 private:
  std::atomic<uint64_t> health_{1};  // bit 0: healthy; bits 32..63: failures in a row
};

// Live counters of one listener (all generations, all threads).
struct ListenerStats {
  std::atomic<uint32_t> active{0};      // client connections open
  std::atomic<uint64_t> total{0};       // client connections accepted
  std::atomic<uint64_t> rejected{0};    // closed at accept: max_connections reached
  std::atomic<uint64_t> no_backend{0};  // closed: no backend could be connected
};

class BackendSet {
 public:
  struct Backend {
    BackendConfig config;
    std::shared_ptr<BackendStats> stats;
  };

  // `stats[i]` belongs to config.backends[i]. REQUIRES: sizes match.
  BackendSet(ListenerConfig config, std::vector<std::shared_ptr<BackendStats>> stats);

  // A backend for a new connection: weight > 0, healthy, and not in `exclude` (backends
  // already tried for this connection), chosen by the listener's policy. nullopt: none left.
  std::optional<size_t> Pick(std::span<const size_t> exclude, uint64_t random);

  const ListenerConfig& config() const { return config_; }
  const std::vector<Backend>& backends() const { return backends_; }

 private:
  const ListenerConfig config_;
  std::vector<Backend> backends_;
  std::vector<size_t> pickable_;                 // balancer's index → backends_ index
  std::unique_ptr<balance::Balancer> balancer_;  // null when every weight is 0
};

}  // namespace grid::router::l4
