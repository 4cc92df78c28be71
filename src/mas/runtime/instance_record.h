// InstanceRecord: what the local runtime keeps on disk per instance (instance.json), so a
// later runtime on the same root (a restarted gridmas, a newly elected replica) can adopt the
// processes it finds still running and resume supervising them.
//
// The file is replaced atomically (temp file, fsync, rename, fsync of the directory): a
// reader sees the old record or the new one, never a mix.
//
// Thread-safety: functions are thread-safe; concurrent writers of one directory must be
// serialised by the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "mas/runtime/process.h"
#include "mas/runtime/runtime.h"

namespace grid::mas::runtime {

inline constexpr char kInstanceRecordFile[] = "instance.json";
inline constexpr int kInstanceRecordFormat = 1;
// A record larger than this is refused as corrupt (args are bounded, so real ones are small).
inline constexpr size_t kMaxInstanceRecordBytes = 1 << 20;

struct InstanceRecord {
  InstanceSpec spec;
  bool want_running = false;  // false after Stop or a kNever exit
  ProcessId process;          // pid 0 when no process was running at the last write
  int64_t incarnation = 0;
  int64_t restarts = 0;
  std::string last_exit;
  std::chrono::system_clock::time_point started_at{};
  bool operator==(const InstanceRecord&) const = default;
};

const char* RestartPolicyName(RestartPolicy policy);  // "InPlace", "Replace", "Never"

std::string EncodeInstanceRecord(const InstanceRecord& record);
// Corruption naming the problem for malformed text.
[[nodiscard]] Result<InstanceRecord> DecodeInstanceRecord(const std::string& text);

// Writes <dir>/instance.json atomically. `dir` must exist.
[[nodiscard]] Status WriteInstanceRecord(const std::string& dir, const InstanceRecord& record);
// Reads <dir>/instance.json: NotFound when absent, Corruption (naming the file) when bad.
[[nodiscard]] Result<InstanceRecord> ReadInstanceRecord(const std::string& dir);

}  // namespace grid::mas::runtime
