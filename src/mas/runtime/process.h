// Process primitives of the local runtime: start a detached server process, tell whether a
// (pid, start time) pair is still the same live process, signal its process group, describe
// how it ended. Linux only (/proc).
//
// A process is identified by its pid AND its start time (field 22 of /proc/<pid>/stat, clock
// ticks since boot), so a reused pid is never mistaken for the process recorded earlier.
//
// Thread-safety: all functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace grid::mas::runtime {

struct SpawnRequest {
  std::string binary;             // absolute path
  std::vector<std::string> args;  // after argv[0] (= binary)
  std::string log_path;           // stdout and stderr are appended here (created 0644)
  std::string working_dir;        // must exist
};

struct ProcessId {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  bool operator==(const ProcessId&) const = default;
};

// Starts the binary in a new session (it leads its own process group, pgid == pid), so it
// survives the caller and receives no terminal or parent signals; no parent-death signal is
// set. stdin is /dev/null; descriptors >= 3 are closed; the signal mask and dispositions
// are the defaults; the environment is the caller's. The caller must reap it (waitpid).
// NotFound when the binary does not exist, FailedPrecondition when it cannot be executed,
// IOError for other failures; each names the binary.
[[nodiscard]] Result<ProcessId> SpawnProcess(const SpawnRequest& request);

struct ProcStat {
  uint64_t start_ticks = 0;
  char state = '?';  // 'R', 'S', 'Z' (exited, not yet reaped), ...
};
// nullopt when no process has that pid (or /proc cannot be read).
std::optional<ProcStat> ReadProcStat(pid_t pid);

// "exit status N" or "signal N (Description)" for a waitpid status.
std::string DescribeWaitStatus(int wait_status);

struct Probe {
  bool exited = false;
  std::string exit;  // how it ended, when exited
};
// Whether `id` still runs. A child of this process (`own_child`) is reaped with waitpid;
// another one is watched through /proc (exited when the pid is gone, reused or a zombie; a
// zombie that turns out to be a child is reaped, which gives its exit status).
Probe ProbeProcess(const ProcessId& id, bool own_child);

// Sends `sig` to the process group led by `id` if `id` is still that process (for a child:
// until reaped). Returns whether a signal was sent.
bool SignalGroup(const ProcessId& id, bool own_child, int sig);
// Sends `sig` to the process `id` only (not its group), with the same identity check.
bool SignalProcess(const ProcessId& id, bool own_child, int sig);

}  // namespace grid::mas::runtime
