// gridmas: the control plane. Serves the resource API on every replica (writes go to the
// store, so any replica serves them) and runs the controllers on the elected leader only.
// Every replica also runs the KVCluster inspection scheduler (exactly once per tick across
// replicas through the store's job lock) and serves POST .../kvclusters/{name}/inspect; and
// the backup scheduler of KVClusters with spec.backup (backups.h), with
// GET/POST .../kvclusters/{name}/backups; and the web console at /console.
//
//   gridmas --endpoints 127.0.0.1:2379 [--prefix /gridmas] [--listen 127.0.0.1:7070]
//           [--replica NAME] [--root DIR] [--binary engine@version=/path ...]
//           [--stop-instances-on-exit] [--s3-endpoint http://H:P] [--s3-region R]
//           [--s3-part-size-bytes N]
//
// S3 credentials (s3:// backup buckets) come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY;
// the endpoint and region from the flags, else GRID_S3_ENDPOINT / AWS_REGION.
//
// The runtime's catalog holds every --binary entry plus, unless an entry names them: the
// gridkv and gridrouter built beside this gridmas as version "local", and the `etcd` on
// PATH under the version it reports (e.g. etcd@3.4.23).
//
// Prints "api on HOST:PORT" on stdout once the API serves (port 0 picks one). Logs go to
// stderr. SIGTERM or SIGINT: stop the API, resign leadership (controllers stop), exit 0.
// Every exit leaves one last line on stderr: "exit N" (after the reason, for N != 0), or the
// terminating signal, or the uncaught exception. SIGPIPE is ignored.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "client/client.h"
#include "client/context.h"
#include "common/lock_order_checks.h"
#include "backups.h"
#include "controller_host.h"
#include "mas/api/api_server.h"
#include "mas/console/console.h"
#include "mas/console/views.h"
#include "mas/controller/leadership.h"
#include "mas/inspect/job.h"
#include "mas/inspect/scheduler.h"
#include "mas/resource/store.h"
#include "mas/runtime/local_runtime.h"
#include "mas/runtime/version_catalog.h"

namespace {

using grid::Status;

std::vector<std::string> SplitList(const std::string& text, char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(separator, start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string DefaultReplica() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "gridmas");
  return std::string(host) + "-" + std::to_string(getpid());
}

// "engine@version=/abs/path" (the runtime's catalog checks the details).
Status CheckBinary(const std::string& entry) {
  size_t at = entry.find('@');
  size_t eq = entry.find('=');
  if (at == std::string::npos || eq == std::string::npos || at == 0 || eq < at + 2 ||
      eq + 1 >= entry.size() || entry[eq + 1] != '/') {
    return grid::InvalidArgument("--binary \"" + entry +
                                 "\": want engine@version=/absolute/path");
  }
  return Status::Ok();
}

// The version `etcd --version` reports ("etcd Version: 3.4.23"), "" when none.
std::string EtcdVersion(const std::string& binary) {
  std::string command = binary + " --version 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char line[256];
  std::string version;
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    const std::string tag = "etcd Version: ";
    if (text.rfind(tag, 0) == 0) {
      version = text.substr(tag.size());
      while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) {
        version.pop_back();
      }
    }
  }
  pclose(pipe);
  return version;
}

// Adds the default binaries (see the file comment) that no entry already names.
void AddDefaultBinaries(grid::mas::runtime::VersionCatalog* catalog) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  auto add = [catalog](const std::string& engine, const std::string& version,
                       const fs::path& path) {
    std::error_code exists_ec;
    if (version.empty() || !fs::exists(path, exists_ec)) return;
    if (catalog->Lookup(engine, version).ok()) return;
    (void)catalog->Add(engine, version, path.string());
  };
  if (!ec) {
    for (const char* engine : {"gridkv", "gridrouter"}) {
      fs::path beside = self.parent_path() / engine;                          // installed
      fs::path built = self.parent_path().parent_path() / engine / engine;    // build tree
      add(engine, "local", fs::exists(beside, ec) ? beside : built);
    }
  }
  const char* path_env = std::getenv("PATH");
  std::string path_list = path_env ? path_env : "/usr/bin:/bin";
  for (const std::string& dir : SplitList(path_list, ':')) {
    fs::path etcd = fs::path(dir) / "etcd";
    if (fs::exists(etcd, ec)) {
      add("etcd", EtcdVersion(etcd.string()), etcd);
      break;
    }
  }
}

// The HTTP answer of a backup error: 400 for a request that cannot be served (no
// spec.backup, no members), 503 when the bucket, member or lock is unreachable.
grid::mas::api::ApiResponse BackupError(const Status& status) {
  using grid::Code;
  switch (status.code()) {
    case Code::kFailedPrecondition:
    case Code::kInvalidArgument:
      return grid::mas::api::ApiResponse::Error(400, status.message());
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
      return grid::mas::api::ApiResponse::Error(503, status.message());
    default:
      return grid::mas::api::ApiResponse::Error(status);
  }
}

Status AddBackupRoutes(grid::mas::api::ApiServer* api, grid::mas::BackupService* backups) {
  const std::string path = R"(/apis/grid\.dev/v1/kvclusters/([a-z0-9-]+)/backups)";
  GRID_RETURN_IF_ERROR(api->AddRoute(
      "GET", path, [backups](const grid::mas::api::ApiRequest& request) {
        auto listed = backups->List(request.matches.at(0));
        if (!listed.ok()) return BackupError(listed.status());
        nlohmann::json items = nlohmann::json::array();
        for (const auto& record : *listed) items.push_back(grid::mas::backup::ToJson(record));
        return grid::mas::api::ApiResponse::Json(200, {{"items", std::move(items)}});
      }));
  GRID_RETURN_IF_ERROR(
      api->AddRoute("POST", path, [backups](const grid::mas::api::ApiRequest& request) {
        auto record = backups->TakeNow(request.matches.at(0));
        if (!record.ok()) return BackupError(record.status());
        return grid::mas::api::ApiResponse::Json(201, grid::mas::backup::ToJson(*record));
      }));
  // 200 {"backup": record, "ok": bool, "error": text when not ok}: a failed check is an answer.
  return api->AddRoute(
      "POST", path + "/([A-Za-z0-9-]+)/verify",
      [backups](const grid::mas::api::ApiRequest& request) {
        auto verified = backups->Verify(request.matches.at(0), request.matches.at(1));
        if (!verified.ok()) return BackupError(verified.status());
        nlohmann::json body = {{"backup", grid::mas::backup::ToJson(verified->record)},
                               {"ok", verified->result.ok()}};
        if (!verified->result.ok()) body["error"] = verified->result.ToString();
        return grid::mas::api::ApiResponse::Json(200, body);
      });
}

// ---- Exit reporting: every way out of the process leaves one line on stderr. A return from
// Run() logs its code; a terminating signal, an uncaught exception or an exit() from
// elsewhere writes a line from its handler (async-signal-safe: write(2) only).

// Exit code when an exception escapes Run() (EX_SOFTWARE).
constexpr int kExitUncaughtException = 70;
std::atomic<bool> exit_reported{false};

void WriteStderr(const char* text) {
  size_t n = 0;
  while (text[n] != '\0') ++n;
  [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, text, n);
}

const char* SignalName(int sig) {
  switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGSEGV: return "SIGSEGV";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
  }
}

extern "C" void ReportTerminatingSignal(int sig) {
  char digits[8] = {};
  int v = sig, i = 6;
  do {
    digits[i--] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 && i >= 0);
  WriteStderr("gridmas: terminated by ");
  WriteStderr(SignalName(sig));
  WriteStderr(" (signal ");
  WriteStderr(&digits[i + 1]);
  WriteStderr(")\n");
  exit_reported.store(true);
  // SA_RESETHAND restored the default action: the signal, delivered again when this handler
  // returns, ends the process as it would have without the handler (exit status, core dump).
  raise(sig);
}

void ReportUncaughtException() {
  std::string what = "unknown exception";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
  } else {
    what = "std::terminate without an exception";
  }
  WriteStderr(("gridmas: uncaught exception: " + what + " (aborting)\n").c_str());
  exit_reported.store(true);
  signal(SIGABRT, SIG_DFL);  // reported already
  std::abort();
}

extern "C" void ReportExitFromElsewhere() {
  if (!exit_reported.load()) WriteStderr("gridmas: exit() called outside main's return\n");
}

// Before anything else. SIGPIPE is ignored (a peer closing a connection is an error on the
// write, not a silent exit; instances spawned by the runtime get default dispositions back).
// SIGTERM and SIGINT are reported only until Run() blocks them for sigwait.
void InstallExitReporting() {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction action = {};
  action.sa_handler = ReportTerminatingSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGTERM}) {
    sigaction(sig, &action, nullptr);
  }
  std::set_terminate(ReportUncaughtException);
  std::atexit(ReportExitFromElsewhere);
}

// The one line of a return from Run(): its code; the reason is the error logged before it.
void ReportExit(int code) {
  exit_reported.store(true);
  std::shared_ptr<spdlog::logger> logger = spdlog::get("gridmas");
  if (!logger) logger = spdlog::stderr_color_mt("gridmas");  // Run() returned before its setup
  if (code == 0) {
    logger->info("exit 0");
  } else {
    logger->error("exit {} (the reason is logged above)", code);
  }
  logger->flush();
}

int Run(int argc, char** argv) {
  CLI::App app{"gridmas: the grid control plane (resource API and controllers)"};
  std::string endpoints;
  grid::mas::GridmasConfig config;
  grid::mas::metrics::Registry metrics;  // the process's own series, served on /metrics
  config.metrics = &metrics;
  config.prefix = "/gridmas";
  std::string listen = "127.0.0.1:7070";
  config.replica = DefaultReplica();
  config.root = "gridmas-root";
  app.add_option("--endpoints", endpoints, "control-plane store, comma-separated host:port")
      ->required();
  app.add_option("--prefix", config.prefix, "store key prefix")->capture_default_str();
  app.add_option("--listen", listen, "API address host:port (port 0 picks one)")
      ->capture_default_str();
  app.add_option("--replica", config.replica, "this replica's identity (default hostname-pid)");
  app.add_option("--root", config.root, "runtime directory")->capture_default_str();
  app.add_option("--binary", config.binaries,
                 "engine@version=/path of a server binary (repeatable)");
  bool stop_instances_on_exit = false;
  app.add_flag("--stop-instances-on-exit", stop_instances_on_exit,
               "stop every instance of the runtime when gridmas exits (a local grid's Ctrl-C)");
  grid::mas::BackupServiceOptions backup_options;
  app.add_option("--s3-endpoint", backup_options.s3.endpoint,
                 "S3 endpoint http://host:port of s3:// backup buckets (env GRID_S3_ENDPOINT)");
  app.add_option("--s3-region", backup_options.s3.region,
                 "S3 region of s3:// backup buckets (env AWS_REGION, else us-east-1)");
  app.add_option("--s3-part-size-bytes", backup_options.s3.part_size_bytes,
                 "multipart part size of s3:// backup uploads (5 MiB..5 GiB)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("gridmas"));
  config.s3 = backup_options.s3;  // restores open the same s3:// buckets as backups

  for (const std::string& entry : config.binaries) {
    if (Status s = CheckBinary(entry); !s.ok()) {
      spdlog::error("{}", s.message());
      return 2;
    }
  }
  if (config.prefix.empty() || config.prefix.front() != '/') {
    spdlog::error("--prefix \"{}\": must start with '/'", config.prefix);
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.root, ec);
  if (ec) {
    spdlog::error("--root {}: {}", config.root, ec.message());
    return 2;
  }
  std::vector<std::string> endpoint_list = SplitList(endpoints, ',');
  if (endpoint_list.empty()) {
    spdlog::error("--endpoints: empty");
    return 2;
  }

  config.store_endpoints = endpoint_list;
  auto catalog = grid::mas::runtime::VersionCatalog::FromEntries(config.binaries);
  if (!catalog.ok()) {
    spdlog::error("{}", catalog.status().message());
    return 2;
  }
  AddDefaultBinaries(&*catalog);
  config.catalog = *catalog;
  for (const auto& entry : catalog->List()) {
    spdlog::info("binary {}@{} = {}", entry.engine, entry.version, entry.binary);
  }

  // SIGTERM/SIGINT are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  grid::mas::runtime::LocalRuntimeOptions runtime_options;
  runtime_options.root = config.root;
  runtime_options.catalog = std::move(*catalog);
  auto runtime = grid::mas::runtime::LocalRuntime::Open(std::move(runtime_options));
  if (!runtime.ok()) {
    spdlog::error("runtime: {}", runtime.status().ToString());
    return 1;
  }

  grid::client::ClientOptions client_options;
  client_options.dial_timeout = std::chrono::milliseconds(0);  // the store may come up later
  auto client = grid::client::Client::Connect(endpoint_list, client_options);
  if (!client.ok()) {
    spdlog::error("store {}: {}", endpoints, client.status().ToString());
    return 1;
  }
  grid::mas::ResourceStoreOptions store_options;
  store_options.prefix = config.prefix;
  grid::mas::ResourceStore store(client->get(), store_options);

  grid::mas::api::ApiServerOptions api_options;
  grid::client::Client* raw_client = client->get();
  api_options.ready_check = [raw_client] {
    grid::client::Context ctx = grid::client::Context().WithTimeout(std::chrono::seconds(2));
    return raw_client->MemberStatus(ctx).status();
  };
  api_options.extra_metrics = [&metrics] { return metrics.Render(); };
  grid::mas::api::ApiServer api(&store, api_options);

  // Inspection of KVClusters: a scheduler on every replica; the job lock in the store makes
  // each tick run on one replica only.
  grid::mas::inspect::InspectionJobOptions job_options;
  job_options.prefix = config.prefix;
  grid::mas::inspect::InspectionJob inspection(client->get(), &store, job_options);
  grid::mas::inspect::InspectionSchedulerOptions scheduler_options;
  scheduler_options.job_prefix = config.prefix + "/jobs/";
  scheduler_options.replica = config.replica;
  grid::mas::inspect::InspectionScheduler inspections(
      client->get(), &store,
      [&inspection](const std::string& cluster, const grid::mas::inspect::ScheduledRun& run) {
        return inspection.Run(cluster, run).status();
      },
      scheduler_options);

  // ---- Operation routes (e.g. POST .../kvclusters/{name}/scale) are added here with
  // api.AddRoute, before Start. ----
  // POST .../kvclusters/{name}/inspect: inspect now (not a tick); the body is the report.
  if (Status s = api.AddRoute(
          "POST", R"(/apis/grid\.dev/v1/kvclusters/([a-z0-9-]+)/inspect)",
          [&inspection, &inspections](const grid::mas::api::ApiRequest& request) {
            const std::string& name = request.matches.at(0);
            auto report = inspections.RunNow(name, [&] { return inspection.Run(name); });
            if (!report.ok()) return grid::mas::api::ApiResponse::Error(report.status());
            return grid::mas::api::ApiResponse::Json(200, *report);
          });
      !s.ok()) {
    spdlog::error("api route: {}", s.ToString());
    return 1;
  }
  // Backups: a scheduler on every replica (the job lock makes each fire time run once);
  // GET lists a cluster's backups, POST takes one now under the same lock.
  backup_options.prefix = config.prefix;
  backup_options.replica = config.replica;
  backup_options.root = config.root;
  backup_options.metrics = config.metrics;
  grid::mas::BackupService backups(client->get(), &store, backup_options);
  if (Status s = AddBackupRoutes(&api, &backups); !s.ok()) {
    spdlog::error("api route: {}", s.ToString());
    return 1;
  }
  if (Status s = grid::mas::console::RegisterConsole(&api); !s.ok()) {
    spdlog::error("console: {}", s.ToString());
    return 1;
  }
  // Read-only views of the console: a cluster's last inspection report, a fleet's routes
  // and cells from its replicas' admin ports.
  grid::mas::console::ViewOptions view_options;
  view_options.admin_host = (*runtime)->Host();
  view_options.inspection_report = [&inspection](const std::string& cluster) {
    return inspection.LastReport(cluster);
  };
  if (Status s = grid::mas::console::RegisterViews(&api, &store, std::move(view_options));
      !s.ok()) {
    spdlog::error("console views: {}", s.ToString());
    return 1;
  }
  auto bound = api.Start(listen);
  if (!bound.ok()) {
    spdlog::error("api: {}", bound.status().ToString());
    return 1;
  }
  std::cout << "api on " << *bound << std::endl;
  inspections.Start();
  backups.Start();
  spdlog::info("replica {} serving the API on {}; store {} prefix {}", config.replica, *bound,
               endpoints, config.prefix);

  grid::mas::DefaultControllerHost host(client->get(), &store, &config, runtime->get());
  grid::mas::controller::LeadershipOptions leader_options;
  leader_options.election_prefix = config.prefix + "/leader";
  leader_options.identity = config.replica;
  leader_options.on_change = [&host, &config](bool leader,
                                              const grid::mas::controller::Fence& fence) {
    if (leader) {
      spdlog::info("leadership gained by {} (token {})", config.replica, fence.token);
      host.Start(fence);
    } else {
      spdlog::info("leadership lost by {} (token {})", config.replica, fence.token);
      host.Stop();
    }
  };
  auto leadership = grid::mas::controller::Leadership::Start(client->get(), leader_options);
  if (!leadership.ok()) {
    spdlog::error("leadership: {}", leadership.status().ToString());
    api.Stop();
    return 1;
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  api.Stop();
  inspections.Stop();
  backups.Stop();
  (*leadership)->Stop();  // resigns; on_change(false) stops the controllers
  host.Stop();
  if (stop_instances_on_exit) {
    if (Status s = (*runtime)->StopAll(grid::mas::runtime::kDefaultStopGrace); !s.ok()) {
      spdlog::warn("stopping instances: {}", s.ToString());
    }
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  grid::DisableLockOrderChecks();
  InstallExitReporting();
  int code = 0;
  try {
    code = Run(argc, argv);
  } catch (const std::exception& e) {
    WriteStderr((std::string("gridmas: uncaught exception: ") + e.what() + "\n").c_str());
    code = kExitUncaughtException;
  }
  ReportExit(code);
  return code;
}
