// Which directory under member/ holds the store. A new member's store is member/kv. A follower
// that installs a snapshot from the leader builds a new store beside it (member/kv-<index>-<n>)
// and switches to it by rewriting member/kv.current, which names the store in use; the switch
// is one atomic rename, so a crash leaves either the old store or the new one in use, never a
// mix. Directories not in use are removed at the next start (or once the old store closes).
#pragma once

#include <string>

#include "common/status.h"

namespace grid::kv {

// The store directory named when kv.current does not exist.
inline constexpr char kInitialStoreDir[] = "kv";
inline constexpr char kCurrentStoreFile[] = "kv.current";
// A directory being built from a received snapshot ends in this.
inline constexpr char kIncomingSuffix[] = ".incoming";

// The name (not path) of the store directory in use under `member_dir`. Corruption when
// kv.current exists but does not name a store directory of the form above.
[[nodiscard]] Result<std::string> ActiveStoreDirName(const std::string& member_dir);

// Makes `name` the store in use: writes kv.current through a synced temporary file and a
// rename, then syncs `member_dir`.
[[nodiscard]] Status SetActiveStoreDir(const std::string& member_dir, const std::string& name);

// Removes every store directory under `member_dir` other than `active` (older stores, and
// snapshots half built when the member stopped). Failures are logged, not returned.
void RemoveInactiveStoreDirs(const std::string& member_dir, const std::string& active);

// True for names of the forms kInitialStoreDir and kv-<digits>-<digits>, optionally followed by
// kIncomingSuffix and then ".importing" (a snapshot import in progress).
bool IsStoreDirName(const std::string& name);

}  // namespace grid::kv
