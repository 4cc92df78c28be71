// gridkv: a member of a grid store, started with etcd's flags.
//
//   gridkv [etcd flags]                                  serve
//   gridkv snapshot restore FILE --data-dir DIR [...]    make a data dir from a snapshot
#include <signal.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "kv/server/kv_server.h"

// jemalloc's options, read when it starts (before main):
// - one arena per CPU instead of its default of four per CPU, each thread allocating from the
//   arena of the CPU it runs on. Fewer arenas hold fewer freed-but-kept pages: after etcd's
//   put benchmark (150,000 puts) the member's RSS was about 3 MiB lower at the same CPU per
//   put.
// - freed pages go back to the system within about a second (default: ten), by a background
//   thread rather than by the threads that free: after 80,000 puts the member's RSS was
//   5 MiB lower (60 → 55 MiB) at the same CPU per put. Returning them at once (decay 0)
//   cost about a quarter of the put throughput.
// MALLOC_CONF still overrides.
extern "C" {
const char* malloc_conf = "percpu_arena:percpu,background_thread:true,dirty_decay_ms:1000";
}

namespace {

using grid::kv::ServerConfig;

constexpr char kVersion[] = "3.4.23";

struct ListFlags {
  std::string listen_client_urls = "http://localhost:2379";
  std::string advertise_client_urls = "http://localhost:2379";
  std::string listen_peer_urls = "http://localhost:2380";
  std::string initial_advertise_peer_urls = "http://localhost:2380";
};

// Declares etcd's flags on `app`, each also read from its ETCD_* environment variable.
void AddServerFlags(CLI::App& app, ServerConfig& c, ListFlags& l) {
  auto flag = [&](const char* name, auto& value, const char* env, const char* help) {
    app.add_option(name, value, help)->envname(env)->capture_default_str();
  };
  flag("--name", c.name, "ETCD_NAME", "human-readable name of this member");
  flag("--data-dir", c.data_dir, "ETCD_DATA_DIR", "path to the data directory (default <name>.etcd)");
  flag("--listen-client-urls", l.listen_client_urls, "ETCD_LISTEN_CLIENT_URLS",
       "URLs to listen on for client traffic (comma-separated)");
  flag("--advertise-client-urls", l.advertise_client_urls, "ETCD_ADVERTISE_CLIENT_URLS",
       "client URLs advertised to the cluster");
  flag("--listen-peer-urls", l.listen_peer_urls, "ETCD_LISTEN_PEER_URLS",
       "URLs to listen on for peer traffic");
  flag("--initial-advertise-peer-urls", l.initial_advertise_peer_urls,
       "ETCD_INITIAL_ADVERTISE_PEER_URLS", "peer URLs advertised to the cluster");
  flag("--initial-cluster", c.initial_cluster, "ETCD_INITIAL_CLUSTER",
       "initial cluster configuration for bootstrapping");
  flag("--initial-cluster-state", c.initial_cluster_state, "ETCD_INITIAL_CLUSTER_STATE",
       "new or existing");
  flag("--initial-cluster-token", c.initial_cluster_token, "ETCD_INITIAL_CLUSTER_TOKEN",
       "initial cluster token");
  flag("--quota-backend-bytes", c.quota_backend_bytes, "ETCD_QUOTA_BACKEND_BYTES",
       "backend size at which writes are refused with NOSPACE (0: 2 GiB)");
  flag("--max-request-bytes", c.max_request_bytes, "ETCD_MAX_REQUEST_BYTES",
       "largest client request accepted");
  flag("--max-txn-ops", c.max_txn_ops, "ETCD_MAX_TXN_OPS", "most operations in one txn");
  flag("--auto-compaction-mode", c.auto_compaction_mode, "ETCD_AUTO_COMPACTION_MODE",
       "periodic or revision");
  flag("--auto-compaction-retention", c.auto_compaction_retention,
       "ETCD_AUTO_COMPACTION_RETENTION", "history kept by auto compaction (0: off)");
  flag("--snapshot-count", c.snapshot_count, "ETCD_SNAPSHOT_COUNT",
       "committed entries between snapshots");
  flag("--experimental-snapshot-catchup-entries", c.snapshot_catchup_entries,
       "ETCD_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES",
       "entries kept after a snapshot for slow followers to catch up from (beyond them a "
       "follower gets the whole store)");
  flag("--heartbeat-interval", c.heartbeat_interval_ms, "ETCD_HEARTBEAT_INTERVAL",
       "heartbeat interval in ms");
  flag("--election-timeout", c.election_timeout_ms, "ETCD_ELECTION_TIMEOUT",
       "election timeout in ms");
  flag("--log-level", c.log_level, "ETCD_LOG_LEVEL", "debug, info, warn, error");
  flag("--peer-cert-file", c.peer_cert_file, "ETCD_PEER_CERT_FILE", "peer TLS certificate");
  flag("--peer-key-file", c.peer_key_file, "ETCD_PEER_KEY_FILE", "peer TLS key");
  flag("--peer-trusted-ca-file", c.peer_trusted_ca_file, "ETCD_PEER_TRUSTED_CA_FILE",
       "CA that signs peer certificates");
  auto bool_flag = [&](const char* name, bool& value, const char* env, const char* help) {
    app.add_flag(name, value, help)->envname(env);
  };
  bool_flag("--peer-client-cert-auth", c.peer_client_cert_auth, "ETCD_PEER_CLIENT_CERT_AUTH",
            "require and verify peers' client certificates");
  bool_flag("--peer-auto-tls", c.peer_auto_tls, "ETCD_PEER_AUTO_TLS",
            "peer TLS with generated self-signed certificates");
  bool_flag("--strict-reconfig-check", c.strict_reconfig_check, "ETCD_STRICT_RECONFIG_CHECK",
            "refuse membership changes that could cost the cluster its quorum (default true; "
            "--strict-reconfig-check=false turns it off)");
}

void Finish(ServerConfig& c, const ListFlags& l) {
  using grid::kv::SplitList;
  c.listen_client_urls = SplitList(l.listen_client_urls);
  c.advertise_client_urls = SplitList(l.advertise_client_urls);
  c.listen_peer_urls = SplitList(l.listen_peer_urls);
  c.initial_advertise_peer_urls = SplitList(l.initial_advertise_peer_urls);
}

int Serve(const ServerConfig& config) {
  // SIGINT/SIGTERM are taken by a thread of ours: blocked here, before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = grid::kv::KvServer::Start(config);
  if (!server.ok()) {
    spdlog::critical("gridkv cannot start: {}", server.status().ToString());
    return 1;
  }
  std::thread([&signals, s = server->get()] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("received signal {}, shutting down", sig);
    s->Shutdown();
  }).detach();
  (*server)->Wait();
  (*server)->Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gridkv: a grid store member speaking the etcd v3 API"};
  app.allow_extras();
  app.set_version_flag("--version", std::string("gridkv (etcd API ") + kVersion + ")");
  ServerConfig config;
  ListFlags lists;
  AddServerFlags(app, config, lists);

  CLI::App* snapshot = app.add_subcommand("snapshot", "snapshot files");
  CLI::App* restore = snapshot->add_subcommand("restore", "create a data dir from a snapshot file");
  std::string snapshot_file;
  restore->add_option("file", snapshot_file, "snapshot file")->required();
  restore->allow_extras();
  ServerConfig restore_config;
  ListFlags restore_lists;
  AddServerFlags(*restore, restore_config, restore_lists);
  snapshot->require_subcommand(1);

  CLI11_PARSE(app, argc, argv);

  ServerConfig& active = restore->parsed() ? restore_config : config;
  spdlog::set_level(spdlog::level::from_str(active.log_level));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  if (!app.remaining().empty() || !restore->remaining().empty()) {
    std::string ignored;
    for (const auto& s : app.remaining()) ignored += " " + s;
    for (const auto& s : restore->remaining()) ignored += " " + s;
    spdlog::warn("ignoring etcd options gridkv does not implement:{}", ignored);
  }

  if (restore->parsed()) {
    Finish(restore_config, restore_lists);
    grid::Status s = grid::kv::RestoreFromSnapshot(snapshot_file, restore_config);
    if (!s.ok()) {
      std::cerr << "gridkv snapshot restore: " << s.ToString() << std::endl;
      return 1;
    }
    return 0;
  }
  Finish(config, lists);
  return Serve(config);
}
