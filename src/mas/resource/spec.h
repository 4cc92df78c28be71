// The specs of the resource kinds: KVCluster (a store cluster: gridkv or etcd) and
// RouterFleet (gridrouter replicas). Each spec has a strict decoder (types, unknown fields),
// a Defaults() step that fills unset optional fields, and a Validate() step that checks
// ranges. Errors name the field path, e.g. "spec.members: must be 1..7 (odd recommended),
// got 0". Plain values; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mas/resource/fields.h"

namespace grid::mas {

// KVCluster limits and defaults.
inline constexpr int64_t kMaxMembers = 7;
inline constexpr int64_t kDefaultMembers = 3;
inline constexpr size_t kMaxZones = 16;
inline constexpr size_t kMaxVersionBytes = 64;
inline constexpr int64_t kMinQuotaBackendBytes = int64_t{16} << 20;    // 16 MiB
inline constexpr int64_t kMaxQuotaBackendBytes = int64_t{8} << 30;     // 8 GiB (etcd's advice)
inline constexpr int64_t kDefaultQuotaBackendBytes = int64_t{2} << 30; // 2 GiB (etcd's default)
inline constexpr int64_t kMinInspectionIntervalSeconds = 10;
inline constexpr int64_t kMaxInspectionIntervalSeconds = 7 * 24 * 3600;
inline constexpr int64_t kDefaultInspectionIntervalSeconds = 3600;
// How long a provision (or a scale-out member) may take to become healthy before it fails.
inline constexpr int64_t kMinProvisionTimeoutSeconds = 10;
inline constexpr int64_t kMaxProvisionTimeoutSeconds = 3600;
inline constexpr int64_t kDefaultProvisionTimeoutSeconds = 300;
// spec.backup: the bucket URL's length (a dir path or s3://bucket/prefix).
inline constexpr size_t kMaxBackupBucketBytes = 1024;
inline constexpr int64_t kMinAutoRestoreAfterSeconds = 30;
inline constexpr int64_t kMaxAutoRestoreAfterSeconds = 7 * 24 * 3600;
inline constexpr char kEngineGridkv[] = "gridkv";
inline constexpr char kEngineEtcd[] = "etcd";

// RouterFleet limits and defaults.
inline constexpr int64_t kMaxRouterReplicas = 64;
inline constexpr int64_t kDefaultRouterReplicas = 1;
inline constexpr size_t kMaxKeyPrefixBytes = 256;
inline constexpr size_t kMaxListenBytes = 128;
inline constexpr size_t kMaxStoreEndpoints = 16;
// spec.rollout (the blue-green upgrade): green weight percents, the hold per step, the
// readiness gate of the green fleet. The defaults are the rollout of a spec without it.
inline constexpr size_t kMaxRolloutSteps = 16;
inline constexpr int64_t kMinRolloutStepPercent = 1;
inline constexpr int64_t kMaxRolloutStepPercent = 100;  // the last step must be this
inline constexpr int64_t kDefaultRolloutSteps[] = {10, 50, 100};
inline constexpr int64_t kMinRolloutHoldSeconds = 0;
inline constexpr int64_t kMaxRolloutHoldSeconds = 3600;
inline constexpr int64_t kDefaultRolloutHoldSeconds = 10;
inline constexpr int64_t kMinRolloutReadyTimeoutSeconds = 1;
inline constexpr int64_t kMaxRolloutReadyTimeoutSeconds = 3600;
inline constexpr int64_t kDefaultRolloutReadyTimeoutSeconds = 60;

// A DNS label (RFC 1123): 1..63 of [a-z0-9-], starting and ending with [a-z0-9]. Returns
// the problem ("" when valid).
std::string DnsLabelError(std::string_view name);

struct Placement {
  std::vector<std::string> zones;
  bool operator==(const Placement&) const = default;
};

struct Inspection {
  std::optional<int64_t> interval_seconds;
  bool operator==(const Inspection&) const = default;
};

// spec.backup.retention: mas/backup/retention.h's RetentionPolicy (ranges checked with
// ValidateRetention). Defaults: no section = RetentionPolicy's defaults (keepLast 7, hourly
// 0, daily 7, weekly 4); in a given section an unset keepLast is 7 and an unset tier 0 (so
// {keepLast: 2} keeps exactly the 2 newest).
struct BackupRetention {
  std::optional<int64_t> keep_last;
  std::optional<int64_t> hourly;
  std::optional<int64_t> daily;
  std::optional<int64_t> weekly;
  bool operator==(const BackupRetention&) const = default;
};

// spec.backup: scheduled and on-demand backups of the cluster (mas/backup).
struct BackupSpec {
  // Five-field cron in UTC (mas/backup/schedule.h); "" = on-demand backups only.
  std::string schedule;
  // Where backups go: "/abs/dir", "dir:///abs/dir" or "s3://bucket[/prefix]" (S3
  // credentials and endpoint come from gridmas's environment and flags, never the spec).
  // Required, at most kMaxBackupBucketBytes.
  std::string bucket;
  std::optional<BackupRetention> retention;
  // When set, a cluster whose quorum has been lost for this long restores its newest verified
  // backup by itself (the controller starts the Restore operation of "latest" once per quorum
  // loss, with condition AutoRestore saying why); absent = only on request.
  // kMinAutoRestoreAfterSeconds..kMaxAutoRestoreAfterSeconds.
  std::optional<int64_t> auto_restore_after_seconds = {};
  bool operator==(const BackupSpec&) const = default;
};

// spec.restoreFrom: restore the cluster's data from a backup in spec.backup.bucket (the
// KVCluster controller's Restore operation). Runs once per distinct request: a restore is done
// when status holds a Restored condition for the same (backup, requested) pair.
inline constexpr char kRestoreLatest[] = "latest";
inline constexpr size_t kMaxRestoreBackupBytes = 128;
inline constexpr size_t kMaxRestoreRequestedBytes = 64;
struct RestoreFrom {
  // "latest" (the newest verified backup of the cluster) or a backup name
  // "<cluster>-<yyyymmddThhmmssZ>"; required, [A-Za-z0-9-], at most kMaxRestoreBackupBytes.
  std::string backup;
  // Free text making a repeated request distinct (`gridctl restore` writes the RFC 3339 time);
  // at most kMaxRestoreRequestedBytes, no control characters.
  std::string requested;
  bool operator==(const RestoreFrom&) const = default;
};

// spec.standby: another KVCluster (the standby, normally in another zone) kept equal to this
// one by mirroring the named key prefixes (mas/standby), and the request to promote it.
inline constexpr size_t kMaxStandbyPrefixes = 16;
inline constexpr char kPromoteSwitchover[] = "switchover";
inline constexpr char kPromoteFailover[] = "failover";
inline constexpr size_t kMaxPromoteRequestedBytes = 64;
// The request to make the standby the primary. Runs once per distinct (mode, requested) pair:
// done when status.mirror.promotion holds the same pair.
struct PromoteRequest {
  // "switchover": planned; writes to this cluster are stopped and the standby catches up to
  // lag 0 before it is promoted. "failover": this cluster is lost; the standby is promoted at
  // once and the revisions it may miss are reported. Required.
  std::string mode;
  // Free text making a repeated request distinct (`gridctl` writes the RFC 3339 time); at most
  // kMaxPromoteRequestedBytes, no control characters.
  std::string requested;
  bool operator==(const PromoteRequest&) const = default;
};
struct StandbySpec {
  std::string cluster;  // the standby KVCluster's name: a DNS label, not this cluster; required
  // Key prefixes mirrored, each at most kMaxKeyPrefixBytes, at most kMaxStandbyPrefixes;
  // empty = every key (the mirror's own keys excepted).
  std::vector<std::string> prefixes;
  std::optional<PromoteRequest> promote = {};
  bool operator==(const StandbySpec&) const = default;
};

struct KVClusterSpec {
  std::string engine;   // "gridkv" | "etcd"; "" = unset (default gridkv)
  std::string version;  // the binary version to run, e.g. "3.4.23"; required
  std::optional<int64_t> members;
  std::optional<Placement> placement;
  std::optional<int64_t> quota_backend_bytes;
  std::optional<Inspection> inspection;
  std::optional<int64_t> provision_timeout_seconds;
  // Absent = no backups (and the spec's JSON is as before the field existed).
  std::optional<BackupSpec> backup = {};
  // Absent = no restore requested. Requires `backup` (its bucket is read).
  std::optional<RestoreFrom> restore_from = {};
  // Absent = no standby.
  std::optional<StandbySpec> standby = {};
  bool operator==(const KVClusterSpec&) const = default;
};

struct L4Front {
  std::string name;    // a DNS label
  std::string listen;  // "host:port"
  bool operator==(const L4Front&) const = default;
};

// How a RouterFleet moves traffic to a new version (blue-green through the L4 front).
struct Rollout {
  // The green share of the front's weight at each step, in percent: strictly increasing,
  // each kMinRolloutStepPercent..kMaxRolloutStepPercent, the last one 100,
  // 1..kMaxRolloutSteps entries.
  std::optional<std::vector<int64_t>> steps;
  std::optional<int64_t> hold_seconds;           // how long each step is watched
  std::optional<int64_t> ready_timeout_seconds;  // the green fleet's time to get ready
  bool operator==(const Rollout&) const = default;
};

// The rollout a fleet runs: `rollout` with every unset field at its default (all defaults
// when absent).
Rollout EffectiveRollout(const std::optional<Rollout>& rollout);

struct RouterFleetSpec {
  std::optional<int64_t> replicas;
  std::string version;         // required
  std::string routes_prefix;   // the store key prefix the routers read routes from; required
  std::optional<L4Front> l4_front;
  // The store endpoints ("host:port", <= kMaxStoreEndpoints) the routers read their table
  // from; empty = the store the control plane itself uses (the fleet controller's default).
  std::vector<std::string> store = {};  // (initialiser: aggregates may omit it)
  // The KVCluster whose members serve the routing table (their client URLs when a router
  // starts); a DNS label; exclusive with `store`. A switch-over of that cluster points it at
  // the promoted standby.
  std::string store_cluster = {};
  // Absent = the default rollout (kept absent by Defaults, so a spec written before the
  // field existed keeps its generation).
  std::optional<Rollout> rollout = {};
  bool operator==(const RouterFleetSpec&) const = default;
};

// spec.standby's pieces (standby_spec.cc).
StandbySpec DecodeStandby(const nlohmann::json& j, const std::string& path, FieldErrors* errors);
nlohmann::json ToJson(const StandbySpec& standby);
// `cluster_name` is the KVCluster's own name ("" when not known; then only the shape is checked).
void Validate(const StandbySpec& standby, const std::string& cluster_name,
              const std::string& path, FieldErrors* errors);

// Decoders add type and unknown-field errors under `path` (normally "spec").
KVClusterSpec DecodeKVClusterSpec(const nlohmann::json& j, const std::string& path,
                                  FieldErrors* errors);
RouterFleetSpec DecodeRouterFleetSpec(const nlohmann::json& j, const std::string& path,
                                      FieldErrors* errors);

nlohmann::json ToJson(const KVClusterSpec& spec);
nlohmann::json ToJson(const RouterFleetSpec& spec);

void Defaults(KVClusterSpec* spec);
void Defaults(RouterFleetSpec* spec);

// Range checks; unset optional fields are not checked (run Defaults first).
void Validate(const KVClusterSpec& spec, const std::string& path, FieldErrors* errors);
void Validate(const RouterFleetSpec& spec, const std::string& path, FieldErrors* errors);

}  // namespace grid::mas
