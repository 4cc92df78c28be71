// The standby controller's status.mirror object and MirrorInSync condition, from what one
// KVCluster's mirror reports. Pure; no I/O. The fields are documented in this folder's
// README ("status.mirror").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mas/mirror/mirror.h"
#include "mas/resource/resource.h"

namespace grid::mas::standby {

inline constexpr char kStateWaiting[] = "WaitingForClusters";
inline constexpr char kStateCopying[] = "Copying";
inline constexpr char kStateWatching[] = "Watching";
inline constexpr char kStateReconnecting[] = "Reconnecting";
inline constexpr char kStatePromoted[] = "Promoted";

inline constexpr char kCondMirrorInSync[] = "MirrorInSync";
// In sync: watching, at most this many seconds behind, and no foreign write within
// kForeignWriteWindow.
inline constexpr double kInSyncMaxLagSeconds = 5;
inline constexpr std::chrono::seconds kForeignWriteWindow{60};
// Bytes kept of lastError and lastForeignKey.
inline constexpr size_t kMaxStatusTextBytes = 512;

// What status.mirror says, before encoding.
struct MirrorView {
  std::string standby;
  std::vector<std::string> prefixes;  // as in the spec (empty = every key)
  // The running mirror's counters; nullopt when no mirror runs.
  std::optional<mirror::MirrorStats> stats;
  std::string waiting_reason;  // why no mirror runs ("" when one runs or after a promotion)
  bool promoted = false;       // the standby was promoted (no mirror runs any more)
  std::string promoted_to;     // status.mirror.promotedTo
  bool write_fenced = false;
  nlohmann::json operation;  // null when none
  nlohmann::json promotion;  // null when none
  // The previous status.mirror's primaryRevision (kept while no mirror runs).
  int64_t last_primary_revision = 0;
};

// The state: Promoted, WaitingForClusters (no mirror), Watching, Reconnecting (a session
// failed and no watch runs since), Copying.
std::string MirrorState(const MirrorView& view);

// status.mirror without "updated" (the caller stamps it when it writes).
nlohmann::json MirrorStatusJson(const MirrorView& view);

// True when `next` differs from `prev` in what must be written at once: state, operation
// step, promotion, writeFenced, promotedTo, fullCopies, foreignWrites, standby, prefixes.
bool UrgentChange(const nlohmann::json& prev, const nlohmann::json& next);
// True when they differ in anything but "updated".
bool AnyChange(const nlohmann::json& prev, const nlohmann::json& next);

// MirrorInSync from the view; `foreign_write_recent`: foreign writes were counted within
// kForeignWriteWindow.
Condition InSyncCondition(const MirrorView& view, bool foreign_write_recent);

// The prefixes a mirror copies: the spec's, or {""} (every key) when it names none.
std::vector<std::string> MirrorPrefixes(const std::vector<std::string>& spec_prefixes);
// The mirror's own key prefix on the standby of `cluster`.
std::string OwnPrefix(const std::string& cluster);

}  // namespace grid::mas::standby
