// The proxy: N loops (Worker), each with its own SO_REUSEPORT listener on the same address,
// sharing the serving state holder, the process protection (rate limits, retry budget)
// and the access log.
//
// Threads: every method from one controlling thread (the process's main thread); the loops
// run on their own threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "router/net/spin_policy.h"
#include "router/proxy/worker.h"

namespace grid::router::proxy {

// Loops one proxy may run.
inline constexpr int kMaxLoops = 256;

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // numeric host:port; port 0 picks a free port
  int loops = 1;                          // 1..kMaxLoops
  // Each loop polls this long before it sleeps while events come that soon (spin_policy.h);
  // 0..net::kMaxSpinBeforeWaitUs, 0: never.
  uint32_t spin_before_wait_us = net::kDefaultSpinBeforeWaitUs;
  ProxyLimits limits;
};

class ProxyServer {
 public:
  // `protection` null: the server has its own (tests).
  ProxyServer(ServerOptions options, const TableHolder* tables, ProcessProtection* protection,
              AccessLog* access_log);
  ~ProxyServer();

  // Binds every loop's listener (the first decides the port when it is 0) and starts them.
  [[nodiscard]] Status Start();
  const net::SocketAddress& address() const { return address_; }

  void BeginDrain();
  bool Drained() const;
  void CloseAll();
  void Stop();

  std::string StatsJson() const;
  // The loops' counters summed (see SumStats).
  std::vector<std::pair<std::string_view, uint64_t>> StatsSums() const;

 private:
  ServerOptions options_;
  const TableHolder* tables_;
  ProcessProtection* protection_;  // never nullptr after construction
  std::unique_ptr<ProcessProtection> own_protection_;
  AccessLog* access_log_;
  net::SocketAddress address_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace grid::router::proxy
