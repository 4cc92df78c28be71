#include "mas/runtime/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

extern char** environ;

namespace grid::mas::runtime {
namespace {

// RAII for the posix_spawn attribute and file-action objects.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

bool SameLiveProcess(const ProcessId& id) {
  std::optional<ProcStat> stat = ReadProcStat(id.pid);
  return stat && stat->start_ticks == id.start_ticks && stat->state != 'Z';
}

}  // namespace

Result<ProcessId> SpawnProcess(const SpawnRequest& request) {
  SpawnSetup setup;
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t all;
  sigfillset(&all);
  int rc = posix_spawnattr_setflags(
      setup.attr(), POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = posix_spawnattr_setsigmask(setup.attr(), &empty);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(setup.attr(), &all);
  if (rc == 0) rc = posix_spawn_file_actions_addopen(setup.actions(), 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) {
    rc = posix_spawn_file_actions_addopen(setup.actions(), 1, request.log_path.c_str(),
                                          O_WRONLY | O_APPEND | O_CREAT, 0644);
  }
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(setup.actions(), 1, 2);
  if (rc == 0) {
    rc = posix_spawn_file_actions_addchdir_np(setup.actions(), request.working_dir.c_str());
  }
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(setup.actions(), 3);
  if (rc != 0) return ErrnoStatus("preparing to start " + request.binary, rc);

  std::vector<char*> argv;
  argv.reserve(request.args.size() + 2);
  argv.push_back(const_cast<char*>(request.binary.c_str()));
  for (const std::string& arg : request.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  pid_t pid = 0;
  rc = posix_spawn(&pid, request.binary.c_str(), setup.actions(), setup.attr(), argv.data(),
                   environ);
  if (rc == ENOENT) return NotFound("binary " + request.binary + " does not exist");
  if (rc == EACCES || rc == ENOEXEC || rc == ENOTDIR) {
    return FailedPrecondition("cannot execute " + request.binary + ": " + strerror(rc));
  }
  if (rc != 0) return ErrnoStatus("starting " + request.binary, rc);
  ProcessId id{pid, 0};
  // The child cannot be reaped by anyone else yet, so its /proc entry exists.
  if (std::optional<ProcStat> stat = ReadProcStat(pid)) id.start_ticks = stat->start_ticks;
  return id;
}

std::optional<ProcStat> ReadProcStat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  // "pid (comm) state ppid ..." — comm may hold spaces and ')', so parse after the last ')'.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  ProcStat stat;
  fields >> stat.state;
  // Fields 4..21 come before the start time (field 22).
  std::string skip;
  for (int field = 4; field <= 21; ++field) fields >> skip;
  fields >> stat.start_ticks;
  if (!fields) return std::nullopt;
  return stat;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* description = sigdescr_np(sig);
    return "signal " + std::to_string(sig) + " (" + (description ? description : "unknown") +
           ")";
  }
  return "wait status " + std::to_string(wait_status);
}

Probe ProbeProcess(const ProcessId& id, bool own_child) {
  int wait_status = 0;
  if (own_child) {
    const pid_t r = waitpid(id.pid, &wait_status, WNOHANG);
    if (r == id.pid) return {true, DescribeWaitStatus(wait_status)};
    if (r == 0) return {false, ""};
    // ECHILD: reaped elsewhere; fall through to /proc.
  }
  std::optional<ProcStat> stat = ReadProcStat(id.pid);
  if (!stat || stat->start_ticks != id.start_ticks) {
    return {true, "exited (status unknown: not a child of this runtime)"};
  }
  if (stat->state != 'Z') return {false, ""};
  // A zombie: if it is a child of this process after all, reaping it gives its status.
  if (waitpid(id.pid, &wait_status, WNOHANG) == id.pid) {
    return {true, DescribeWaitStatus(wait_status)};
  }
  return {true, "exited (status unknown: not a child of this runtime)"};
}

bool SignalGroup(const ProcessId& id, bool own_child, int sig) {
  if (id.pid <= 0) return false;
  if (!own_child && !SameLiveProcess(id)) return false;
  return kill(-id.pid, sig) == 0;
}

bool SignalProcess(const ProcessId& id, bool own_child, int sig) {
  if (id.pid <= 0) return false;
  if (!own_child && !SameLiveProcess(id)) return false;
  return kill(id.pid, sig) == 0;
}

}  // namespace grid::mas::runtime
