// Retention of backups: which backups to delete, as a pure function of the list, the policy
// and the time.
//
// The rule (restic's `forget --keep-last/--keep-hourly/--keep-daily/--keep-weekly`, and
// borg's `prune`, which agree on it):
//   - Only verified backups take part; unverified ones are never returned for deletion
//     (a backup that is not complete is not this function's business).
//   - Backups created after `now` (a clock that ran ahead) are kept and count for nothing.
//   - The others are walked newest first (by `created`, then by name, descending).
//   - keepLast N keeps the N newest.
//   - hourly H keeps the newest backup of each of the H most recent UTC hours THAT HOLD A
//     BACKUP; daily D the same with UTC calendar days; weekly W with ISO 8601 weeks (Monday
//     to Sunday, UTC). Periods without a backup do not count, so a paused schedule never
//     makes old backups expire.
//   - A backup kept by any rule is kept; each rule is applied to the whole list on its own
//     (a backup kept by keepLast also counts as its hour's backup for hourly).
//   - The newest verified backup is always kept.
// Everything else is returned, oldest first.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace grid::mas::backup {

// Bounds of each count in a policy.
inline constexpr int kMinKeepLast = 1;
inline constexpr int kMaxRetentionCount = 1000;

struct RetentionPolicy {
  int keep_last = 7;
  int hourly = 0;
  int daily = 7;
  int weekly = 4;
};

// InvalidArgument with every out-of-range count, each named with `field_prefix` and the
// field's spec name, joined by "; ": "spec.backup.retention.keepLast: must be 1..1000, got 0".
[[nodiscard]] Status ValidateRetention(const RetentionPolicy& policy,
                                       const std::string& field_prefix = "retention");

// What retention sees of one backup.
struct RetainedBackup {
  std::string name;
  std::chrono::system_clock::time_point created;
  bool verified = false;
};

// Why a backup is kept, for messages and tests: any of "last", "hourly", "daily", "weekly",
// "newest", "future".
struct RetentionDecision {
  std::vector<std::string> delete_names;  // oldest first
  std::vector<std::pair<std::string, std::vector<std::string>>> kept;  // newest first, reasons
};

// REQUIRES: ValidateRetention(policy) is OK.
RetentionDecision ApplyRetention(const std::vector<RetainedBackup>& backups,
                                 const RetentionPolicy& policy,
                                 std::chrono::system_clock::time_point now);

}  // namespace grid::mas::backup
