// gridkv's configuration: etcd's flags for what gridkv implements, with etcd's defaults.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace grid::kv {

struct ServerConfig {
  std::string name = "default";
  std::string data_dir;  // default: "<name>.etcd", as etcd
  std::vector<std::string> listen_client_urls = {"http://localhost:2379"};
  std::vector<std::string> advertise_client_urls = {"http://localhost:2379"};
  std::vector<std::string> listen_peer_urls = {"http://localhost:2380"};
  std::vector<std::string> initial_advertise_peer_urls = {"http://localhost:2380"};
  std::string initial_cluster;  // default: "<name>=<first initial advertise peer url>"
  std::string initial_cluster_state = "new";
  std::string initial_cluster_token = "etcd-cluster";
  int64_t quota_backend_bytes = 0;  // 0: etcd's default, 2 GiB
  int64_t max_request_bytes = 1536 * 1024;
  int64_t max_txn_ops = 128;
  std::string auto_compaction_mode = "periodic";
  std::string auto_compaction_retention = "0";  // "0": off
  uint64_t snapshot_count = 100000;
  // Entries the log keeps in memory behind a snapshot for followers that lag (etcd's
  // SnapshotCatchUpEntries; its 3.5 flag --experimental-snapshot-catchup-entries).
  uint64_t snapshot_catchup_entries = 5000;
  int64_t heartbeat_interval_ms = 100;
  int64_t election_timeout_ms = 1000;
  std::string log_level = "info";
  // Peer TLS (etcd's --peer-* flags); used when peer URLs are https://.
  std::string peer_cert_file;
  std::string peer_key_file;
  std::string peer_trusted_ca_file;
  bool peer_client_cert_auth = false;
  bool peer_auto_tls = false;
  // etcd's --strict-reconfig-check (kv/server/reconfig_check.h).
  bool strict_reconfig_check = true;
};

// A client or peer URL split for listening: "http://host:port" → "host:port".
// InvalidArgument for other schemes (TLS is not served yet) or a missing port.
Result<std::string> ListenAddressOf(const std::string& url);

// Splits a comma-separated list, dropping empty items.
std::vector<std::string> SplitList(const std::string& s);

}  // namespace grid::kv
