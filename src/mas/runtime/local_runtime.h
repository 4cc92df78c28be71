// LocalRuntime: the embedded runtime of gridmas. Instances are processes on this host, each
// in its own session (process group), started from the binary the VersionCatalog names for
// (engine, version). They are meant to outlive gridmas: no parent-death signal is set and
// the destructor does not stop them.
//
// On disk, under `root`:
//   instances/<dir>/data/          the instance's data dir ("{data_dir}" in args)
//   instances/<dir>/log            stdout + stderr of every incarnation, appended
//   instances/<dir>/log.1          the previous log, once `log` outgrew max_log_bytes
//   instances/<dir>/instance.json  spec, pid + process start time, counters (InstanceRecord)
// where <dir> is the instance name with '/' replaced by '_' (unambiguous: names have no '_').
//
// Open() reads every instance.json and adopts the processes still running (same pid AND same
// start time). Adopted processes are not children, so their exit is seen by polling /proc.
// This lets a restarted gridmas, or a newly elected replica on the same host, go on
// supervising what its predecessor started.
//
// Supervision: one thread polls every `poll_interval`. An unexpected exit is recorded
// (last_exit); with policy kInPlace the process is restarted on the same data dir after a
// back-off (initial, doubling up to the cap; reset once a process ran `backoff_reset_after_run`),
// kReplace wipes the data dir and starts a new incarnation, kNever leaves it stopped. Only an
// active runtime (SetActive(true)) restarts; a passive one observes, writes no records of its
// own accord, and re-reads the records every `passive_rescan_interval` to follow the active
// one. Becoming active re-reads them too, so processes started meanwhile are adopted rather
// than started twice.
//
// Thread-safety: thread-safe. The instance table lock is held across posix_spawn (returns once
// the child has exec'd) and small directory operations, never across record writes
// (ordered by a sequence number), waits, or removal of a data dir on request.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "mas/runtime/instance_record.h"
#include "mas/runtime/process.h"
#include "mas/runtime/runtime.h"
#include "mas/runtime/version_catalog.h"

namespace grid::mas::runtime {

inline constexpr std::chrono::milliseconds kRestartBackoffInitial{200};
inline constexpr std::chrono::milliseconds kRestartBackoffMax{10000};
// A process that ran at least this long starts the back-off over at the initial delay.
inline constexpr std::chrono::milliseconds kRestartBackoffResetAfterRun{30000};
inline constexpr std::chrono::milliseconds kSupervisionPollInterval{100};
inline constexpr std::chrono::milliseconds kPassiveRescanInterval{1000};
// How often Stop checks whether the process is gone.
inline constexpr std::chrono::milliseconds kStopPollInterval{10};
// After SIGKILL, Stop gives up (Unavailable) if the process is still there after this long.
inline constexpr std::chrono::milliseconds kStopKillWait{5000};
// At a (re)start, a log larger than this is renamed to log.1 (replacing the previous one).
inline constexpr uint64_t kMaxLogBytes = 64ull << 20;
inline constexpr size_t kMaxInstanceArgBytes = 4096;  // per argument, after substitution
inline constexpr size_t kMaxInstances = 1024;
inline constexpr int kMaxPortAttempts = 64;
inline constexpr char kDataDirToken[] = "{data_dir}";

struct LocalRuntimeOptions {
  std::string root;  // created if missing; made absolute
  VersionCatalog catalog;
  std::chrono::milliseconds backoff_initial = kRestartBackoffInitial;
  std::chrono::milliseconds backoff_max = kRestartBackoffMax;
  std::chrono::milliseconds backoff_reset_after_run = kRestartBackoffResetAfterRun;
  std::chrono::milliseconds stop_grace = kDefaultStopGrace;  // for Remove
  uint64_t max_log_bytes = kMaxLogBytes;
  size_t max_instances = kMaxInstances;
  std::chrono::milliseconds poll_interval = kSupervisionPollInterval;
  std::chrono::milliseconds passive_rescan_interval = kPassiveRescanInterval;
  bool active = false;  // initial SetActive
};

class LocalRuntime : public Runtime {
 public:
  // Creates <root>/instances, reads every record there, adopts live processes and starts
  // the supervisor. Corruption (naming the file) for an unreadable record.
  static Result<std::unique_ptr<LocalRuntime>> Open(LocalRuntimeOptions options);
  // Stops supervising; the instances keep running.
  ~LocalRuntime() override;
  LocalRuntime(const LocalRuntime&) = delete;
  LocalRuntime& operator=(const LocalRuntime&) = delete;

  Status Start(const InstanceSpec& spec) override;
  Status Stop(const std::string& name, std::chrono::milliseconds grace = kDefaultStopGrace) override;
  Status Reload(const std::string& name) override;
  Status Remove(const std::string& name, bool wipe_data) override;
  Status WipeData(const std::string& name) override;
  Result<InstanceStatus> Get(const std::string& name) const override;
  std::vector<InstanceStatus> List(const std::string& prefix = "") const override;
  std::string DataDir(const std::string& name) const override;
  std::string LogPath(const std::string& name) const override;
  Result<int> AllocatePort() override;
  std::string Host() const override { return "127.0.0.1"; }
  void SetActive(bool active) override;

  // Stops every instance (for shutdown paths and tests that want no process left).
  // Returns the first error; tries all.
  [[nodiscard]] Status StopAll(std::chrono::milliseconds grace = kDefaultStopGrace);
  // <root>/instances/<dir> of an instance.
  std::string InstanceDir(const std::string& name) const;
  const std::string& root() const { return options_.root; }

 private:
  struct Instance {
    InstanceRecord rec;
    InstanceState state = InstanceState::kStopped;
    bool own_child = false;  // rec.process is a child of this process (reap with waitpid)
    std::string message;
    std::chrono::system_clock::time_point next_restart{};
    std::chrono::milliseconds backoff{0};  // delay before the next restart
    ProcessId exited;  // the last process seen to exit (its exit is in rec.last_exit)
    // Non-empty while Stop/WipeData/Remove works on it outside the lock: Start refuses, the
    // supervisor leaves it alone.
    std::string busy;
  };
  // A record write (or deletion, when !record) ordered by `seq` per name.
  struct PendingWrite {
    std::string name;
    uint64_t seq = 0;
    std::optional<InstanceRecord> record;
  };

  struct StopTarget {
    ProcessId id;
    bool own_child = false;
  };

  explicit LocalRuntime(LocalRuntimeOptions options);

  // Stop in two halves, so StopAll can signal everything before waiting. BeginStop marks the
  // instance stopping and sends SIGTERM; nullopt when there is no process to wait for.
  Result<std::optional<StopTarget>> BeginStop(const std::string& name);
  // Polls until the process is gone, escalating to SIGKILL at `term_deadline`.
  Status FinishStop(const std::string& name, const StopTarget& target,
                    std::chrono::steady_clock::time_point term_deadline);

  // Reads the records under root and merges them into the table (see the header comment).
  Status Rescan();
  Instance FromRecord(const InstanceRecord& record) const;

  void SupervisorLoop();
  // One supervision pass; returns the record writes to do after unlocking.
  std::vector<PendingWrite> TickLocked();
  void HandleExitLocked(Instance& inst, const std::string& exit,
                        std::vector<PendingWrite>* writes);
  void RestartLocked(Instance& inst, std::vector<PendingWrite>* writes);
  // Spawns the instance's process; on success it is Running.
  Status LaunchLocked(Instance& inst);
  std::vector<std::string> SubstitutedArgs(const InstanceSpec& spec) const;
  void ReservePortsLocked(const InstanceSpec& spec);

  PendingWrite SnapshotLocked(const Instance& inst);
  void Flush(std::vector<PendingWrite> writes);
  InstanceStatus StatusOf(const Instance& inst) const;

  const LocalRuntimeOptions options_;

  mutable std::mutex mu_;
  std::map<std::string, Instance> instances_;  // guarded by mu_
  std::set<int> ports_;                        // guarded by mu_: handed out or seen in args
  uint64_t write_seq_ = 0;                     // guarded by mu_
  // Per name, the seq of this runtime's last record write or removal (kept after removal),
  // so a rescan never merges a record older than what this runtime last decided.
  std::map<std::string, uint64_t> local_seq_;  // guarded by mu_
  std::atomic<bool> active_{false};

  // Serialises record writes and rescans' reads. Never held together with mu_.
  std::mutex persist_mu_;
  std::map<std::string, uint64_t> written_seq_;  // guarded by persist_mu_: landed seq per name

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool shutting_down_ = false;  // guarded by loop_mu_
  std::thread supervisor_;
};

}  // namespace grid::mas::runtime
