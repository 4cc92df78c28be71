// Builds and publishes what the loops serve with. For each new RouteTable (from the table
// feed, on any one thread at a time) it builds, on the health thread:
//   - the AddressBook: backend addresses resolved (DNS names new to the book, blocking here,
//     never on a proxy loop); probes use it too;
//   - the HealthIndex, through the HealthMonitor that also runs the active checks;
//   - the ConcurrencyIndex, carried over from the previous one;
// reconfigures the process's retry budget from the table's router settings, and publishes the
// four as one ServingState (TableHolder::Set). Publish returns once the state is published.
// Every `dns_refresh_ms` the names of the book are resolved again; when one changed, the same
// state is published with the new book (new connections go to the new address).
//
// The health thread runs its own EventLoop: the monitor (single-threaded), the LoopProber
// (probes call back on that loop) and a timer that calls monitor.Tick at monitor.NextDue().
// Proxy loops only read what it publishes.
//
// Threads: Start/Stop from the controlling thread; Publish from any thread but the health
// thread (before Start or after Stop it runs on the caller's thread); counters from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "common/status.h"
#include "router/health/health_monitor.h"
#include "router/net/event_loop.h"
#include "router/net/timer_wheel.h"
#include "router/proxy/probe_client.h"
#include "router/proxy/protection.h"
#include "router/proxy/table_holder.h"

namespace grid::router::proxy {

// How often DNS names of backend addresses are resolved again (HAProxy's resolvers hold an
// answer 10 s by default); 0..kMaxDnsRefreshMs, 0: never (resolved when first named only).
inline constexpr uint64_t kDefaultDnsRefreshMs = 10000;
inline constexpr uint64_t kMaxDnsRefreshMs = 24ull * 3600 * 1000;

struct PublisherOptions {
  uint64_t dns_refresh_ms = kDefaultDnsRefreshMs;
  net::ResolveFn resolve;  // empty: net::ResolveSocketAddress (getaddrinfo)
};

class StatePublisher {
 public:
  // `holder` and `protection` must outlive the publisher. `seed`: probe jitter.
  StatePublisher(TableHolder* holder, ProcessProtection* protection, uint64_t seed,
                 PublisherOptions options = {});
  ~StatePublisher();
  StatePublisher(const StatePublisher&) = delete;
  StatePublisher& operator=(const StatePublisher&) = delete;

  // Starts the health thread.
  [[nodiscard]] Status Start();
  // Ends the health thread (probes in flight are dropped).
  void Stop();

  // REQUIRES: table != nullptr.
  void Publish(std::shared_ptr<const table::RouteTable> table);

  uint64_t swaps() const { return swaps_.load(std::memory_order_relaxed); }
  int64_t revision() const { return revision_.load(std::memory_order_acquire); }
  uint64_t probes_started() const { return probes_started_.load(std::memory_order_relaxed); }
  // DNS refresh rounds run, and those that published a changed address book.
  uint64_t dns_refreshes() const { return dns_refreshes_.load(std::memory_order_relaxed); }
  uint64_t dns_changes() const { return dns_changes_.load(std::memory_order_relaxed); }

 private:
  // Wraps each probe's `done` so the tick timer is re-armed once its schedule moved.
  class RearmingProber : public health::Prober {
   public:
    explicit RearmingProber(StatePublisher* owner) : owner_(owner) {}
    void Probe(std::string_view backend, health::ProbeKind kind, std::string_view path,
               std::chrono::milliseconds timeout, health::ProbeDone done) override;

   private:
    StatePublisher* owner_;
  };

  void PublishHere(std::shared_ptr<const table::RouteTable> table);
  void Tick();
  void Rearm();
  // Arms the refresh timer while the published book holds names (health thread).
  void ArmDnsRefresh();
  void RefreshAddresses();

  TableHolder* holder_;
  ProcessProtection* protection_;
  PublisherOptions options_;
  net::EventLoop loop_;
  LoopProber prober_;
  RearmingProber rearming_;
  health::HealthMonitor monitor_;
  net::Timer tick_timer_;
  net::Timer dns_timer_;
  std::thread thread_;
  std::atomic<uint64_t> swaps_{0};
  std::atomic<int64_t> revision_{0};
  std::atomic<uint64_t> probes_started_{0};
  std::atomic<uint64_t> dns_refreshes_{0};
  std::atomic<uint64_t> dns_changes_{0};
};

}  // namespace grid::router::proxy
