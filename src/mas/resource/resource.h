// The resource model of gridmas, in the Kubernetes style:
//
//   apiVersion: grid.dev/v1
//   kind: KVCluster | RouterFleet
//   metadata: {name, labels, generation, resourceVersion, creationTimestamp, uid}
//   spec: per kind (spec.h)
//   status: {phase, conditions, observedGeneration, members, operation, history, mirror}
//
// ParseResource reads YAML or JSON strictly (unknown fields refused, every error naming its
// field path); Defaults() fills unset optional spec fields; Validate() checks names, labels,
// spec ranges and status bounds. ToJson gives the API form; StoredValue the form kept in the
// store (without resourceVersion, which is the key's mod revision). Plain values; no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "mas/resource/spec.h"

namespace grid::mas {

inline constexpr char kApiVersion[] = "grid.dev/v1";

// Limits of one resource.
inline constexpr size_t kMaxResourceBytes = size_t{1} << 20;  // stored form and parsed input
inline constexpr size_t kMaxNameBytes = 63;                   // metadata.name, a DNS label
inline constexpr size_t kMaxLabels = 32;
inline constexpr size_t kMaxLabelKeyBytes = 63;
inline constexpr size_t kMaxLabelValueBytes = 63;
inline constexpr size_t kMaxConditions = 16;
inline constexpr size_t kMaxConditionTypeBytes = 64;
inline constexpr size_t kMaxConditionReasonBytes = 128;
inline constexpr size_t kMaxConditionMessageBytes = 1024;
inline constexpr size_t kMaxStatusMembers = kMaxMembers;
// status.history: the finished operations kept (oldest dropped) and the steps kept per entry.
inline constexpr size_t kMaxOperationHistory = 8;
inline constexpr size_t kMaxHistorySteps = 32;

enum class Kind { kKVCluster, kRouterFleet };
inline constexpr Kind kAllKinds[] = {Kind::kKVCluster, Kind::kRouterFleet};
const char* KindName(Kind kind);  // "KVCluster", "RouterFleet"
// InvalidArgument `unknown kind "X" (known: KVCluster, RouterFleet)`.
Result<Kind> ParseKind(std::string_view name);

// The lifecycle phase; kNone (serialised by omission) until a controller observes it.
enum class Phase { kNone, kProvision, kReady, kRun, kUpdate, kRollback, kScale, kDestroy, kFailed };
const char* PhaseName(Phase phase);  // "" for kNone
Result<Phase> ParsePhase(std::string_view name);

enum class ConditionStatus { kUnknown, kTrue, kFalse };
const char* ConditionStatusName(ConditionStatus status);  // "True", "False", "Unknown"

struct Condition {
  std::string type;  // e.g. "Available"; unique within a status
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;                // CamelCase, machine-readable
  std::string message;               // for a person
  std::string last_transition_time;  // RFC 3339, UTC
  bool operator==(const Condition&) const = default;
};

// One member of a KVCluster as the controller last observed it.
struct MemberStatus {
  std::string name;
  std::string id;  // the store's member id, hex
  std::string client_url;
  std::string peer_url;
  std::string version;
  bool healthy = false;
  // The placement zone (a DNS label; "" without spec.placement). Kept by a replacement.
  std::string zone = {};  // (initialisers: aggregates may omit them)
  // RFC 3339: when the member was first seen not running or not answering; "" while it is
  // healthy enough to answer. Persisted so that grace periods survive a control-plane restart.
  std::string down_since = {};
  bool operator==(const MemberStatus&) const = default;
};

// How a finished operation ended.
enum class OperationResult {
  kSucceeded,   // it reached its goal
  kRolledBack,  // it failed and its changes were undone (an upgrade turned into a rollback)
  kFailed,      // it ended with the resource in phase Failed
  kSuperseded,  // another operation replaced it before it finished
};
const char* OperationResultName(OperationResult result);  // "Succeeded", "RolledBack", ...
Result<OperationResult> ParseOperationResult(std::string_view name);

// One step an operation recorded: what it did, when, and "ok" or the error.
struct HistoryStep {
  std::string step;
  std::string time;  // RFC 3339
  std::string result;
  bool operator==(const HistoryStep&) const = default;
};

// A finished operation as kept in status.history.
struct OperationRecord {
  std::string name;  // the operation's name, e.g. "RollingUpgrade"
  OperationResult result = OperationResult::kSucceeded;
  std::string started;   // RFC 3339
  std::string finished;  // RFC 3339
  std::vector<HistoryStep> steps;  // oldest first, at most kMaxHistorySteps
  bool operator==(const OperationRecord&) const = default;
};

struct ResourceStatus {
  Phase phase = Phase::kNone;
  std::vector<Condition> conditions;
  int64_t observed_generation = 0;
  std::vector<MemberStatus> members;  // KVCluster only
  // The running long operation: a JSON object holding at least its name and step (e.g.
  // {"name": "RollingUpgrade", "step": 2, ...}); null when none runs.
  nlohmann::json operation;
  // Finished operations, oldest first, at most kMaxOperationHistory.
  std::vector<OperationRecord> history;
  // KVCluster with spec.standby: the mirror to the standby, its lag and the promotion
  // (switch-over / fail-over) state, written only by the standby controller (mas/standby,
  // whose README documents the fields); other writers keep it as they read it. null when none.
  nlohmann::json mirror = {};
  bool operator==(const ResourceStatus&) const = default;
};

struct ObjectMeta {
  std::string name;
  std::map<std::string, std::string> labels;
  int64_t generation = 0;            // set by the store; bumped on every spec change
  std::string resource_version;      // the key's mod revision, decimal; "" before create
  std::string creation_timestamp;    // RFC 3339, UTC; set by the store
  std::string uid;                   // set by the store at create
  bool operator==(const ObjectMeta&) const = default;
};

using Spec = std::variant<KVClusterSpec, RouterFleetSpec>;

struct Resource {
  ObjectMeta metadata;
  Spec spec;
  ResourceStatus status;

  Kind kind() const { return static_cast<Kind>(spec.index()); }
  // `KVCluster "a"`, for messages.
  std::string Describe() const;
  bool operator==(const Resource&) const = default;
};

// Parses one resource from YAML or JSON text (JSON when the first non-blank byte is '{').
// Type errors, unknown fields, a wrong apiVersion or an unknown kind are InvalidArgument
// naming the field path; input over kMaxResourceBytes is ResourceExhausted.
Result<Resource> ParseResource(std::string_view text);
Result<Resource> ResourceFromJson(const nlohmann::json& j);

// The API form (with resourceVersion when set).
nlohmann::json ToJson(const Resource& resource);
nlohmann::json ToJson(const ResourceStatus& status);
// The stored form: compact JSON without metadata.resourceVersion.
std::string StoredValue(const Resource& resource);
// Decodes a stored value and sets metadata.resourceVersion from `mod_revision`.
Result<Resource> DecodeStored(std::string_view value, int64_t mod_revision);

// Fills unset optional spec fields.
void Defaults(Resource* resource);
// Checks metadata (name, labels), the spec's ranges and the status' bounds. InvalidArgument
// with every problem, each naming its field path, joined by "; ".
Status Validate(const Resource& resource);
Status ValidateStatus(const ResourceStatus& status);

// True when the specs differ after Defaults (what bumps metadata.generation).
bool SpecChanged(const Spec& before, const Spec& after);

// RFC 3339 in UTC with second precision: "2026-01-02T03:04:05Z".
std::string FormatTimestamp(std::chrono::system_clock::time_point t);

// Appends `record` to status.history, keeping its last kMaxHistorySteps steps and the last
// kMaxOperationHistory records.
void AppendHistory(ResourceStatus* status, OperationRecord record);

// Sets or replaces the condition of the same type. last_transition_time becomes `now`
// only when the condition is new or its status changed; otherwise the old time is kept.
void SetCondition(ResourceStatus* status, Condition condition, std::string_view now);
// The condition of `type`, or nullptr.
const Condition* FindCondition(const ResourceStatus& status, std::string_view type);

}  // namespace grid::mas
