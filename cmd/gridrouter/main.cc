// gridrouter: the cell router. The route table comes from a YAML file or from the store.
//
//   gridrouter --config routes.yaml | --endpoints host:port[,...] [--prefix /grid/routes]
//              [--table-cache FILE] --listen 127.0.0.1:8080 [--threads N] [--spin-before-wait-us US]
//              [--admin 127.0.0.1:9901] [--access-log FILE|-] [--drain-deadline-ms MS]
//              [--dns-refresh-ms MS] [--max-replay-body-bytes N]
//
// Prints "admin on <address>" once the admin port is bound, then "listening on <address>"
// once the proxy is; port 0 prints the port chosen. With --config, SIGHUP reloads the file (an invalid file keeps the current
// table and logs the key and field at fault). With --endpoints, the table is read from the
// keys under the prefix and follows them by watch; a refused change keeps the current table;
// an unreachable store keeps the last table serving (and --table-cache lets a restart serve
// it before the store answers). The proxy listens only once it has a table; the admin port
// answers meanwhile. SIGTERM or SIGINT drains (stop accepting, finish in-flight
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
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/lock_order_checks.h"
#include "router/net/clock.h"
#include "router/proxy/admin_server.h"
#include "router/proxy/proxy_server.h"
#include "router/proxy/state_publisher.h"
#include "admin_routes.h"
#include "l4_mode.h"
#include "signals.h"
#include "table_feed.h"

namespace {

using grid::router::proxy::TableHolder;

// How often the main thread looks at signals and the drain.
constexpr int kSignalPollMs = 50;

std::vector<std::string> SplitEndpoints(const std::string& list) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t comma = list.find(',', begin);
    if (comma == std::string::npos) comma = list.size();
    if (comma > begin) out.push_back(list.substr(begin, comma - begin));
    begin = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  grid::DisableLockOrderChecks();
  if (argc > 1 && std::string_view(argv[1]) == "l4") {
    return grid::router::cmd::RunL4Mode(argc - 1, argv + 1);
  }
  CLI::App app{"gridrouter: the cell router"};
  std::string config_path;
  grid::router::cmd::StoreFeedOptions store;
  std::string endpoints;
  grid::router::proxy::ServerOptions options;
  std::string admin_listen;
  std::string access_log_path;
  uint64_t drain_deadline_ms = 30000;
  grid::router::proxy::PublisherOptions publisher_options;
  auto* config_opt = app.add_option("--config", config_path, "routes YAML file (SIGHUP reloads)");
  auto* endpoints_opt =
      app.add_option("--endpoints", endpoints, "store endpoints (host:port,...): the table follows the keys under --prefix");
  config_opt->excludes(endpoints_opt);
  app.add_option("--prefix", store.prefix, "key prefix of the table in the store")
      ->capture_default_str();
  app.add_option("--table-cache", store.cache_path,
                 "file keeping the last table from the store, served at start until the store answers");
  app.add_option("--listen", options.listen, "address to serve on (host:port, port 0: any)")
      ->capture_default_str();
  app.add_option("--threads", options.loops, "event loops (one thread each)")
      ->check(CLI::Range(1, grid::router::proxy::kMaxLoops))
      ->capture_default_str();
  app.add_option("--spin-before-wait-us", options.spin_before_wait_us,
                 "a busy loop polls this long before it sleeps (0: never; it stops by itself "
                 "while events come further apart)")
      ->check(CLI::Range(0u, grid::router::net::kMaxSpinBeforeWaitUs))
      ->capture_default_str();
  app.add_option("--dns-refresh-ms", publisher_options.dns_refresh_ms,
                 "resolve DNS names of backend addresses again this often (off the proxy loops; "
                 "0: only when a table first names them)")
      ->check(CLI::Range(uint64_t{0}, grid::router::proxy::kMaxDnsRefreshMs))
      ->capture_default_str();
  app.add_option("--max-replay-body-bytes", options.limits.max_replay_body_bytes,
                 "keep a request body up to this size as it is sent, so an idempotent request "
                 "whose backend fails before answering is sent again elsewhere (0: keep none)")
      ->check(CLI::Range(size_t{0}, grid::router::proxy::kMaxReplayBodyBytes))
      ->capture_default_str();
  app.add_option("--admin", admin_listen, "admin address (/healthz /readyz /stats /routes /cells /metrics)");
  app.add_option("--access-log", access_log_path, "access log file ('-': stderr); off if unset");
  app.add_option("--drain-deadline-ms", drain_deadline_ms,
                 "on SIGTERM, close what is still open after this long")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (config_path.empty() == endpoints.empty()) {
    std::fprintf(stderr, "gridrouter: give exactly one of --config and --endpoints\n");
    return 2;
  }
  // stdout carries only the bound addresses; logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("gridrouter"));

  // Signals are taken synchronously by the main thread; every thread inherits the mask.
  const sigset_t signals = grid::router::cmd::BlockControlSignals();

  // Each table the feed publishes goes out with its health and concurrency state, built on
  // the health thread (which also runs the active checks).
  TableHolder tables;
  grid::router::proxy::ProcessProtection protection;
  grid::router::proxy::StatePublisher publisher(&tables, &protection, std::random_device{}(),
                                                publisher_options);
  if (grid::Status s = publisher.Start(); !s.ok()) {
    spdlog::error("health thread: {}", s.ToString());
    return 1;
  }
  auto publish = [&publisher](const grid::router::cmd::TablePtr& table) {
    publisher.Publish(table);
  };
  std::unique_ptr<grid::router::cmd::TableFeed> feed;
  if (!config_path.empty()) {
    feed = grid::router::cmd::MakeFileFeed(config_path, grid::router::cmd::kDefaultTablePrefix,
                                           publish);
  } else {
    store.endpoints = SplitEndpoints(endpoints);
    feed = grid::router::cmd::MakeStoreFeed(store, publish);
  }
  if (grid::Status s = feed->Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }

  grid::router::proxy::AccessLog access_log;
  if (!access_log_path.empty()) {
    if (grid::Status s = access_log.Open(access_log_path); !s.ok()) {
      spdlog::error("{}", s.ToString());
      return 2;
    }
  }

  grid::router::proxy::ProxyServer server(options, &tables, &protection, &access_log);
  std::atomic<bool> draining{false};
  const grid::router::cmd::AdminSources admin_sources{&tables,     &server, &publisher,
                                                      &protection, feed.get(), &draining};
  std::unique_ptr<grid::router::proxy::AdminServer> admin;
  if (!admin_listen.empty()) {
    admin = std::make_unique<grid::router::proxy::AdminServer>(
        admin_listen, [&admin_sources](std::string_view path) {
          return grid::router::cmd::HandleAdmin(admin_sources, path);
        });
    if (grid::Status s = admin->Start(); !s.ok()) {
      spdlog::error("admin: {}", s.ToString());
      return 1;
    }
    std::printf("admin on %s\n", admin->address().ToString().c_str());
    std::fflush(stdout);
  }

  // No listener before there is a table: a router that cannot route takes no connections (so
  // a new router started on the port of a draining one never answers in its place). The
  // admin port is up meanwhile (/readyz: "no route table yet").
  bool logged_wait = false;
  while (tables.Get() == nullptr) {
    if (!logged_wait) {
      spdlog::info("waiting for the route table from the store before listening");
      logged_wait = true;
    }
    timespec wait{0, kSignalPollMs * 1000000L};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("stopped before a route table arrived");
      if (admin) admin->Stop();
      feed->Stop();
      publisher.Stop();
      return 0;
    }
  }

  if (grid::Status s = server.Start(); !s.ok()) {
    spdlog::error("start: {}", s.ToString());
    return 1;
  }

  std::printf("listening on %s\n", server.address().ToString().c_str());
  std::fflush(stdout);
  spdlog::info("serving {} with {} loop(s)", server.address().ToString(), options.loops);

  uint64_t drain_deadline = 0;
  while (true) {
    timespec wait{0, kSignalPollMs * 1000000L};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGHUP && !draining) {
      feed->Reload();
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
  feed->Stop();
  server.Stop();
  publisher.Stop();
  spdlog::info("drained; exiting");
  return 0;
}
