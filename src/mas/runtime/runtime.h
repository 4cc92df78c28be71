// Runtime: where the control plane's instances run. An instance is one supervised server
// process (a store member, a router, an L4 front) with its own data directory, log file and
// version; the runtime starts, stops, reloads and removes instances and keeps them running
// by its restart policy. Controllers act only through this interface, so a decision can be
// tested against a fake runtime and run against the local one (local_runtime.h) unchanged.
//
// Names: 1..kMaxInstanceNameBytes of [a-z0-9-], '.' and '/' (e.g. "kv/demo/m1"); no "..",
// no leading or trailing '/'. A name is an identity: its data directory outlives the process.
//
// Thread-safety: every method of an implementation is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace grid::mas::runtime {

inline constexpr size_t kMaxInstanceNameBytes = 200;
inline constexpr size_t kMaxInstanceArgs = 128;
inline constexpr size_t kMaxInstanceLabels = 16;
inline constexpr size_t kMaxInstanceLabelBytes = 256;  // a label's key, and its value
inline constexpr std::chrono::milliseconds kDefaultStopGrace{10000};

// What happens when an instance's process exits without being asked to.
enum class RestartPolicy {
  kInPlace,  // a stateful member ("pet"): restarted on the same data dir with back-off
  kReplace,  // a stateless instance ("cattle"): data dir wiped, a new incarnation started
  kNever,    // left stopped; its state says why
};

struct InstanceSpec {
  std::string name;
  std::string engine;   // "gridkv" | "etcd" | "gridrouter"; resolved with version to a binary
  std::string version;  // a version names a binary (see VersionCatalog)
  // Arguments after the binary. The token "{data_dir}" anywhere in an argument is replaced by
  // DataDir(name). At most kMaxInstanceArgs.
  std::vector<std::string> args;
  RestartPolicy restart = RestartPolicy::kInPlace;
  // What the instance is for (e.g. "grid.dev/zone" -> "a"); recorded with it, not passed to
  // the process. At most kMaxInstanceLabels, each key and value <= kMaxInstanceLabelBytes.
  std::map<std::string, std::string> labels = {};
  bool operator==(const InstanceSpec&) const = default;
};

enum class InstanceState {
  kRunning,  // a live process
  kBackoff,  // exited unexpectedly; restarts at next_restart
  kStopped,  // stopped on request (Stop) or by policy kNever
  kFailed,   // cannot start (unknown version, missing binary); `message` says why
};
const char* InstanceStateName(InstanceState state);  // "Running", "Backoff", ...

struct InstanceStatus {
  InstanceSpec spec;
  InstanceState state = InstanceState::kStopped;
  int pid = 0;                 // > 0 while running
  int64_t incarnation = 0;     // + 1 per replacement (kReplace) or wipe
  int64_t restarts = 0;        // unexpected exits followed by a restart
  std::string last_exit;       // "exit status 1", "signal 9 (Killed)", "" if none yet
  std::string message;         // why kFailed / kBackoff, for a person
  std::chrono::system_clock::time_point started_at{};
  std::chrono::system_clock::time_point next_restart{};  // kBackoff only
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  // Starts `spec` if no process of that name runs. Idempotent: OK when an instance with an
  // equal spec already runs (or is in back-off). FailedPrecondition when one of that name runs
  // with another spec (stop it first); InvalidArgument for a bad name or args; NotFound when
  // (engine, version) names no binary.
  [[nodiscard]] virtual Status Start(const InstanceSpec& spec) = 0;
  // SIGTERM, then SIGKILL after `grace`; waits until the process is gone. The data dir and
  // the record stay (state kStopped). OK when already stopped; NotFound when unknown.
  [[nodiscard]] virtual Status Stop(const std::string& name,
                                    std::chrono::milliseconds grace = kDefaultStopGrace) = 0;
  // Sends SIGHUP (a configuration reload). FailedPrecondition when not running.
  [[nodiscard]] virtual Status Reload(const std::string& name) = 0;
  // Stops the instance and forgets it; removes its data dir when `wipe_data`.
  // OK when unknown.
  [[nodiscard]] virtual Status Remove(const std::string& name, bool wipe_data) = 0;
  // Empties the data dir of a stopped instance (its next Start begins with no data).
  // FailedPrecondition when running.
  [[nodiscard]] virtual Status WipeData(const std::string& name) = 0;

  // NotFound when unknown.
  [[nodiscard]] virtual Result<InstanceStatus> Get(const std::string& name) const = 0;
  // Every known instance whose name starts with `prefix`, in name order.
  virtual std::vector<InstanceStatus> List(const std::string& prefix = "") const = 0;

  // Where the instance keeps its data and its log (the directories may not exist yet).
  virtual std::string DataDir(const std::string& name) const = 0;
  virtual std::string LogPath(const std::string& name) const = 0;
  // A TCP port on 127.0.0.1 free now and not handed out before by this runtime.
  [[nodiscard]] virtual Result<int> AllocatePort() = 0;
  // The host instances are reached at ("127.0.0.1" for the local runtime).
  virtual std::string Host() const = 0;

  // Only an active runtime restarts or replaces exited instances (the leader's); a passive
  // one observes. Start/Stop/Remove work in both.
  virtual void SetActive(bool active) = 0;
};

// "" when valid, else the problem (for InvalidArgument messages).
std::string InstanceNameError(const std::string& name);

}  // namespace grid::mas::runtime
