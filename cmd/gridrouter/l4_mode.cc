// `gridrouter l4 --config l4.yaml [--admin ADDR] [--threads N] [--drain-deadline-ms MS]`
//
// The L4 (TCP) listener mode: every listener of the file relays TCP connections to its
// weighted backends. Prints "listening on <address>" per listener (in file order) and "admin
// on <address>" once bound. SIGHUP reloads the file: new connections follow the new weights,
// established ones keep their backend; an invalid file keeps the running configuration and
// logs why. SIGTERM or SIGINT stops accepting, lets established connections finish up to the
// drain deadline (then closes them) and exits 0. An invalid configuration at start exits 2.
#include "l4_mode.h"
#include "signals.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "router/l4/config.h"
#include "router/l4/limits.h"
#include "router/l4/server.h"
#include "router/net/clock.h"
#include "router/proxy/admin_server.h"

namespace grid::router::cmd {
namespace {

// How often the main thread looks at signals and the drain.
constexpr int kL4SignalPollMs = 50;
// After the drain deadline closed everything, how long to wait for the loops to finish.
constexpr uint64_t kL4CloseWaitMs = 1000;

}  // namespace

int RunL4Mode(int argc, char** argv) {
  CLI::App app{"gridrouter l4: TCP listeners with weighted backends"};
  std::string config_path;
  std::string admin_listen;
  int threads = 1;
  uint32_t spin_before_wait_us = net::kDefaultSpinBeforeWaitUs;
  uint64_t drain_deadline_ms = 30000;
  app.add_option("--config", config_path, "listeners YAML file (SIGHUP reloads)")->required();
  app.add_option("--admin", admin_listen, "admin address (/healthz /readyz /stats)");
  app.add_option("--threads", threads, "event loops (one thread each)")
      ->check(CLI::Range(1, l4::kMaxThreads))
      ->capture_default_str();
  app.add_option("--spin-before-wait-us", spin_before_wait_us,
                 "a busy loop polls this long before it sleeps (0: never)")
      ->check(CLI::Range(0u, net::kMaxSpinBeforeWaitUs))
      ->capture_default_str();
  app.add_option("--drain-deadline-ms", drain_deadline_ms,
                 "on SIGTERM, close what is still open after this long")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("gridrouter-l4"));

  Result<l4::Config> config = l4::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "gridrouter l4: %s: %s\n", config_path.c_str(),
                 config.status().message().c_str());
    return 2;
  }

  const sigset_t signals = BlockControlSignals();

  l4::ServerOptions options;
  options.threads = threads;
  options.spin_before_wait_us = spin_before_wait_us;
  options.seed = std::random_device{}();
  l4::Server server(std::move(config).value(), options);
  if (Status s = server.Start(); !s.ok()) {
    spdlog::error("start: {}", s.ToString());
    return 1;
  }

  std::unique_ptr<proxy::AdminServer> admin;
  if (!admin_listen.empty()) {
    admin = std::make_unique<proxy::AdminServer>(
        admin_listen, [&server](std::string_view path) -> proxy::AdminReply {
          // The admin port opens only after every listener is bound, so both mean "serving".
          if (path == "/healthz" || path == "/readyz") {
            if (server.draining()) return {503, "text/plain", "draining\n"};
            return {200, "text/plain", path == "/healthz" ? "ok\n" : "ready\n"};
          }
          if (path == "/stats") return {200, "application/json", server.StatsJson() + "\n"};
          return {404, "text/plain", "not found\n"};
        });
    if (Status s = admin->Start(); !s.ok()) {
      spdlog::error("admin: {}", s.ToString());
      return 1;
    }
  }

  for (const auto& address : server.addresses()) {
    std::printf("listening on %s\n", address.ToString().c_str());
  }
  if (admin) std::printf("admin on %s\n", admin->address().ToString().c_str());
  std::fflush(stdout);
  for (size_t i = 0; i < server.addresses().size(); ++i) {
    spdlog::info("l4 listener {} on {} with {} loop(s)", server.config().listeners[i].name,
                 server.addresses()[i].ToString(), threads);
  }

  bool draining = false;
  uint64_t drain_deadline = 0;
  while (true) {
    timespec wait{0, kL4SignalPollMs * 1000000L};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGHUP && !draining) {
      Result<l4::Config> next = l4::LoadConfigFile(config_path);
      Status s = next.ok() ? server.Reload(std::move(next).value()) : next.status();
      if (s.ok()) {
        spdlog::info("reloaded {}", config_path);
      } else {
        spdlog::error("reload of {} refused, the running configuration stays: {}", config_path,
                      s.message());
      }
    } else if ((sig == SIGTERM || sig == SIGINT) && !draining) {
      spdlog::info("draining {} connection(s) (deadline {} ms)", server.active_connections(),
                   drain_deadline_ms);
      draining = true;
      drain_deadline = net::MonotonicMs() + drain_deadline_ms;
      server.BeginDrain();
    }
    if (!draining) continue;
    if (server.Drained()) break;
    if (net::MonotonicMs() >= drain_deadline) {
      spdlog::warn("drain deadline passed: closing {} connection(s)", server.active_connections());
      server.CloseAll();
      const uint64_t close_deadline = net::MonotonicMs() + kL4CloseWaitMs;
      while (!server.Drained() && net::MonotonicMs() < close_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      break;
    }
  }
  if (admin) admin->Stop();
  server.Stop();
  spdlog::info("drained; exiting");
  return 0;
}

}  // namespace grid::router::cmd
