// gridrouter: the cell router, standalone (routes from a YAML file).
//
//   gridrouter --config routes.yaml --listen 127.0.0.1:8080 [--threads N]
//              [--admin 127.0.0.1:9901] [--access-log FILE|-] [--drain-deadline-ms MS]
//
// Prints "listening on <address>" (and "admin on <address>") once bound; port 0 prints the
// port chosen. SIGHUP reloads the file (an invalid file keeps the current table and logs the
// key and field at fault); SIGTERM or SIGINT drains (stop accepting, finish in-flight
// requests, close idle connections) and exits 0, closing whatever is left at the deadline.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "router/net/clock.h"
#include "router/proxy/admin_server.h"
#include "router/proxy/proxy_server.h"
#include "router/table/table_builder.h"
#include "router/table/yaml_source.h"

namespace {

using grid::router::proxy::AdminReply;
using grid::router::proxy::TableHolder;

// The key prefix YAML entries are given, so validation messages name keys as the store would.
constexpr char kTablePrefix[] = "/grid/routes";
// How often the main thread looks at signals and the drain.
constexpr int kSignalPollMs = 50;

grid::Result<std::shared_ptr<const grid::router::table::RouteTable>> LoadTable(
    const std::string& path, int64_t revision) {
  GRID_ASSIGN_OR_RETURN(grid::router::table::TableSource source,
                        grid::router::table::LoadYamlFile(path, kTablePrefix));
  return grid::router::table::BuildTable(source, revision);
}

size_t BackendCount(const grid::router::table::RouteTable& table) {
  size_t n = 0;
  for (const auto& [name, cell] : table.parts().cells) {
    for (size_t g = 0; g < cell->group_count(); ++g) n += cell->group(g).backends().size();
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridrouter: the cell router"};
  std::string config_path;
  grid::router::proxy::ServerOptions options;
  std::string admin_listen;
  std::string access_log_path;
  uint64_t drain_deadline_ms = 30000;
  app.add_option("--config", config_path, "routes YAML file")->required();
  app.add_option("--listen", options.listen, "address to serve on (host:port, port 0: any)")
      ->capture_default_str();
  app.add_option("--threads", options.loops, "event loops (one thread each)")
      ->check(CLI::Range(1, grid::router::proxy::kMaxLoops))
      ->capture_default_str();
  app.add_option("--admin", admin_listen, "admin address (/healthz /readyz /stats /routes)");
  app.add_option("--access-log", access_log_path, "access log file ('-': stderr); off if unset");
  app.add_option("--drain-deadline-ms", drain_deadline_ms,
                 "on SIGTERM, close what is still open after this long")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  // stdout carries only the bound addresses; logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("gridrouter"));

  // Signals are taken synchronously by the main thread; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int64_t revision = 1;
  auto initial = LoadTable(config_path, revision);
  if (!initial.ok()) {
    spdlog::error("{}: {}", config_path, initial.status().message());
    return 2;
  }
  TableHolder tables;
  tables.Set(*initial);

  grid::router::proxy::AccessLog access_log;
  if (!access_log_path.empty()) {
    if (grid::Status s = access_log.Open(access_log_path); !s.ok()) {
      spdlog::error("{}", s.ToString());
      return 2;
    }
  }

  grid::router::proxy::AlwaysHealthy health;
  grid::router::proxy::ProxyServer server(options, &tables, &health, &access_log);
  if (grid::Status s = server.Start(); !s.ok()) {
    spdlog::error("start: {}", s.ToString());
    return 1;
  }

  std::atomic<bool> draining{false};
  std::unique_ptr<grid::router::proxy::AdminServer> admin;
  if (!admin_listen.empty()) {
    admin = std::make_unique<grid::router::proxy::AdminServer>(
        admin_listen, [&](std::string_view path) -> AdminReply {
          if (path == "/healthz") return {200, "text/plain", "ok\n"};
          if (path == "/readyz") {
            const bool ready = tables.Get() != nullptr && !draining.load();
            return {ready ? 200 : 503, "text/plain", ready ? "ready\n" : "draining\n"};
          }
          if (path == "/stats") return {200, "application/json", server.StatsJson() + "\n"};
          if (path == "/routes") {
            auto t = tables.Get();
            nlohmann::ordered_json j;
            j["revision"] = t->revision();
            j["cells"] = t->cell_count();
            j["tenants"] = t->tenant_count();
            j["backends"] = BackendCount(*t);
            j["source"] = config_path;
            return {200, "application/json", j.dump() + "\n"};
          }
          return {404, "text/plain", "not found\n"};
        });
    if (grid::Status s = admin->Start(); !s.ok()) {
      spdlog::error("admin: {}", s.ToString());
      return 1;
    }
  }

  std::printf("listening on %s\n", server.address().ToString().c_str());
  if (admin) std::printf("admin on %s\n", admin->address().ToString().c_str());
  std::fflush(stdout);
  spdlog::info("serving {} with {} loop(s), routes revision {}", server.address().ToString(),
               options.loops, revision);

  uint64_t drain_deadline = 0;
  while (true) {
    timespec wait{0, kSignalPollMs * 1000000L};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGHUP && !draining) {
      auto next = LoadTable(config_path, revision + 1);
      if (!next.ok()) {
        spdlog::error("reload {} refused, keeping revision {}: {}", config_path, revision,
                      next.status().message());
      } else {
        ++revision;
        tables.Set(*next);
        spdlog::info("reloaded {}: revision {}, {} cells, {} tenants", config_path, revision,
                     (*next)->cell_count(), (*next)->tenant_count());
      }
    } else if ((sig == SIGTERM || sig == SIGINT) && !draining) {
      spdlog::info("draining (deadline {} ms)", drain_deadline_ms);
      draining = true;
      drain_deadline = grid::router::net::MonotonicMs() + drain_deadline_ms;
      server.BeginDrain();
    }
    if (draining) {
      if (server.Drained()) break;
      if (grid::router::net::MonotonicMs() >= drain_deadline) {
        spdlog::warn("drain deadline passed: closing the connections left");
        server.CloseAll();
        const uint64_t close_deadline = grid::router::net::MonotonicMs() + 1000;
        while (!server.Drained() && grid::router::net::MonotonicMs() < close_deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        break;
      }
    }
  }
  if (admin) admin->Stop();
  server.Stop();
  spdlog::info("drained; exiting");
  return 0;
}
