#include "mas/runtime/local_runtime.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>

#include <spdlog/spdlog.h>

namespace grid::mas::runtime {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

std::string DirName(const std::string& name) {
  std::string dir = name;
  std::replace(dir.begin(), dir.end(), '/', '_');
  return dir;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Ports named in an argument: every ":<1-5 digits>" not followed by another digit.
std::vector<int> PortsIn(const std::string& arg) {
  std::vector<int> ports;
  for (size_t at = arg.find(':'); at != std::string::npos; at = arg.find(':', at + 1)) {
    size_t end = at + 1;
    while (end < arg.size() && end - at <= 6 && arg[end] >= '0' && arg[end] <= '9') ++end;
    const size_t digits = end - at - 1;
    if (digits == 0 || digits > 5) continue;
    const int port = std::stoi(arg.substr(at + 1, digits));
    if (port > 0 && port <= 65535) ports.push_back(port);
  }
  return ports;
}

std::string FormatTime(system_clock::time_point t) {
  const std::time_t secs = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

void AppendLine(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string text = line + "\n";
  [[maybe_unused]] const ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
}

// After a child of ours was reaped, its group may hold stragglers (e.g. a script's children):
// end them too. The pid cannot have been reused yet, since it was reaped only just now.
void KillGroupStragglers(pid_t leader) {
  if (leader > 1) kill(-leader, SIGKILL);
}

bool Permanent(const Status& s) {
  return s.code() == Code::kNotFound || s.code() == Code::kFailedPrecondition;
}

}  // namespace

Result<std::unique_ptr<LocalRuntime>> LocalRuntime::Open(LocalRuntimeOptions options) {
  if (options.root.empty()) return InvalidArgument("runtime root is empty");
  if (options.backoff_initial <= milliseconds(0) || options.backoff_max < options.backoff_initial) {
    return InvalidArgument("restart back-off: want 0 < initial <= max");
  }
  if (options.poll_interval <= milliseconds(0)) return InvalidArgument("poll_interval <= 0");
  std::error_code ec;
  options.root = fs::absolute(options.root, ec).lexically_normal().string();
  if (ec) return IOError("runtime root " + options.root + ": " + ec.message());
  if (options.root.size() > 1 && options.root.back() == '/') options.root.pop_back();
  fs::create_directories(options.root + "/instances", ec);
  if (ec) return IOError("creating " + options.root + "/instances: " + ec.message());

  const bool active = options.active;
  std::unique_ptr<LocalRuntime> runtime(new LocalRuntime(std::move(options)));
  GRID_RETURN_IF_ERROR(runtime->Rescan());
  runtime->active_ = active;
  runtime->supervisor_ = std::thread([r = runtime.get()] { r->SupervisorLoop(); });
  return runtime;
}

LocalRuntime::LocalRuntime(LocalRuntimeOptions options) : options_(std::move(options)) {}

LocalRuntime::~LocalRuntime() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    shutting_down_ = true;
  }
  loop_cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
}

std::string LocalRuntime::InstanceDir(const std::string& name) const {
  return options_.root + "/instances/" + DirName(name);
}
std::string LocalRuntime::DataDir(const std::string& name) const {
  return InstanceDir(name) + "/data";
}
std::string LocalRuntime::LogPath(const std::string& name) const {
  return InstanceDir(name) + "/log";
}

std::vector<std::string> LocalRuntime::SubstitutedArgs(const InstanceSpec& spec) const {
  std::vector<std::string> args;
  args.reserve(spec.args.size());
  for (const std::string& arg : spec.args) {
    args.push_back(ReplaceAll(arg, kDataDirToken, DataDir(spec.name)));
  }
  return args;
}

void LocalRuntime::ReservePortsLocked(const InstanceSpec& spec) {
  for (const std::string& arg : spec.args) {
    for (int port : PortsIn(arg)) ports_.insert(port);
  }
}

LocalRuntime::Instance LocalRuntime::FromRecord(const InstanceRecord& record) const {
  Instance inst;
  inst.rec = record;
  inst.backoff = options_.backoff_initial;
  const bool was_running = record.process.pid > 0;
  if (was_running) {
    std::optional<ProcStat> stat = ReadProcStat(record.process.pid);
    if (stat && stat->start_ticks == record.process.start_ticks && stat->state != 'Z') {
      inst.state = InstanceState::kRunning;
      return inst;
    }
    inst.rec.process = {};
    inst.rec.last_exit = "exited while no runtime supervised it";
  }
  if (!record.want_running) {
    inst.state = InstanceState::kStopped;
  } else if (record.spec.restart == RestartPolicy::kNever) {
    inst.state = InstanceState::kStopped;
    inst.rec.want_running = false;
    inst.message = "not running; restart policy Never";
  } else {
    inst.state = InstanceState::kBackoff;
    inst.next_restart = system_clock::now();
    inst.message = "not running; the active runtime restarts it";
  }
  return inst;
}

Status LocalRuntime::Rescan() {
  // Read the records (ordered with this runtime's writes), then merge under mu_.
  std::map<std::string, InstanceRecord> on_disk;
  std::map<std::string, uint64_t> landed;  // this runtime's writes the read reflects
  {
    std::lock_guard<std::mutex> lock(persist_mu_);
    std::error_code ec;
    for (fs::directory_iterator it(options_.root + "/instances", ec), end; !ec && it != end;
         it.increment(ec)) {
      if (!it->is_directory()) continue;
      Result<InstanceRecord> record = ReadInstanceRecord(it->path().string());
      if (record.status().code() == Code::kNotFound) continue;  // data kept after a Remove
      if (!record.ok()) return record.status();
      if (DirName(record->spec.name) != it->path().filename().string()) {
        return Corruption(it->path().string() + "/" + kInstanceRecordFile +
                          " names instance " + record->spec.name);
      }
      on_disk.emplace(record->spec.name, std::move(record).value());
    }
    if (ec) return IOError("reading " + options_.root + "/instances: " + ec.message());
    landed = written_seq_;
  }

  std::lock_guard<std::mutex> lock(mu_);
  // True when this runtime decided something about `name` that the read does not reflect.
  auto newer_here = [&](const std::string& name) {
    auto local = local_seq_.find(name);
    if (local == local_seq_.end()) return false;
    auto disk = landed.find(name);
    return local->second > (disk == landed.end() ? 0 : disk->second);
  };
  for (auto& [name, record] : on_disk) {
    if (newer_here(name)) continue;
    auto it = instances_.find(name);
    if (it != instances_.end()) {
      const Instance& cur = it->second;
      if (!cur.busy.empty()) continue;
      if (cur.state == InstanceState::kRunning &&
          (cur.own_child || cur.rec.process == record.process)) {
        continue;
      }
    }
    Instance inst = FromRecord(record);
    if (it != instances_.end()) {
      const Instance& cur = it->second;
      inst.backoff = cur.backoff;
      if (record.process.pid > 0 && record.process == cur.exited &&
          inst.state == cur.state) {
        // The record predates an exit this runtime saw: keep what it knows of that exit.
        inst.exited = cur.exited;
        inst.rec.last_exit = cur.rec.last_exit;
        inst.message = cur.message;
        inst.next_restart = cur.next_restart;
      }
      it->second = std::move(inst);
    } else {
      instances_.emplace(name, std::move(inst));
    }
    ReservePortsLocked(record.spec);
  }
  for (auto it = instances_.begin(); it != instances_.end();) {
    const Instance& cur = it->second;
    const bool ours = cur.state == InstanceState::kRunning && cur.own_child;
    if (!on_disk.count(it->first) && !ours && cur.busy.empty() && !newer_here(it->first)) {
      it = instances_.erase(it);
    } else {
      ++it;
    }
  }
  return Status::Ok();
}

void LocalRuntime::SetActive(bool active) {
  if (active && !active_) {
    // Adopt what the previous active runtime started since our last look.
    Status s = Rescan();
    if (!s.ok()) spdlog::warn("runtime {}: re-reading records: {}", options_.root, s.ToString());
  }
  active_ = active;
  loop_cv_.notify_all();
}

void LocalRuntime::SupervisorLoop() {
  auto next_rescan = steady_clock::now() + options_.passive_rescan_interval;
  std::unique_lock<std::mutex> loop_lock(loop_mu_);
  while (!shutting_down_) {
    loop_cv_.wait_for(loop_lock, options_.poll_interval);
    if (shutting_down_) break;
    loop_lock.unlock();
    if (!active_ && steady_clock::now() >= next_rescan) {
      Status s = Rescan();
      if (!s.ok()) spdlog::warn("runtime {}: re-reading records: {}", options_.root, s.ToString());
      next_rescan = steady_clock::now() + options_.passive_rescan_interval;
    }
    std::vector<PendingWrite> writes;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writes = TickLocked();
    }
    Flush(std::move(writes));
    loop_lock.lock();
  }
}

std::vector<LocalRuntime::PendingWrite> LocalRuntime::TickLocked() {
  std::vector<PendingWrite> writes;
  const auto now = system_clock::now();
  for (auto& [name, inst] : instances_) {
    if (!inst.busy.empty()) continue;
    if (inst.state == InstanceState::kRunning) {
      Probe probe = ProbeProcess(inst.rec.process, inst.own_child);
      if (probe.exited) HandleExitLocked(inst, probe.exit, &writes);
    } else if (inst.state == InstanceState::kBackoff && active_ && now >= inst.next_restart) {
      RestartLocked(inst, &writes);
    }
  }
  return writes;
}

void LocalRuntime::HandleExitLocked(Instance& inst, const std::string& exit,
                                    std::vector<PendingWrite>* writes) {
  const auto now = system_clock::now();
  if (inst.own_child) KillGroupStragglers(inst.rec.process.pid);
  inst.exited = inst.rec.process;
  inst.rec.process = {};
  inst.own_child = false;
  inst.rec.last_exit = exit;
  if (!inst.rec.want_running) {  // e.g. outlived a Stop that gave up
    inst.state = InstanceState::kStopped;
    inst.message = "exited (" + exit + ")";
  } else if (inst.rec.spec.restart == RestartPolicy::kNever) {
    inst.state = InstanceState::kStopped;
    inst.rec.want_running = false;
    inst.message = "exited (" + exit + "); restart policy Never";
  } else {
    if (now - inst.rec.started_at >= options_.backoff_reset_after_run) {
      inst.backoff = options_.backoff_initial;
    }
    inst.backoff = std::clamp(inst.backoff, options_.backoff_initial, options_.backoff_max);
    inst.state = InstanceState::kBackoff;
    inst.next_restart = now + inst.backoff;
    inst.backoff = std::min(inst.backoff * 2, options_.backoff_max);
    inst.message = "exited (" + exit + "); " +
                   (active_ ? "restarts at " + FormatTime(inst.next_restart)
                            : std::string("only the active runtime restarts it"));
  }
  spdlog::info("instance {} exited: {}", inst.rec.spec.name, exit);
  if (active_) writes->push_back(SnapshotLocked(inst));
}

void LocalRuntime::RestartLocked(Instance& inst, std::vector<PendingWrite>* writes) {
  const std::string& name = inst.rec.spec.name;
  if (inst.rec.spec.restart == RestartPolicy::kReplace) {
    std::error_code ec;
    fs::remove_all(DataDir(name), ec);
    if (ec) {
      inst.state = InstanceState::kFailed;
      inst.message = "wiping " + DataDir(name) + ": " + ec.message();
      writes->push_back(SnapshotLocked(inst));
      return;
    }
    ++inst.rec.incarnation;
  }
  Status s = LaunchLocked(inst);
  if (s.ok()) {
    ++inst.rec.restarts;
    spdlog::info("instance {} restarted (restart {}, incarnation {})", name, inst.rec.restarts,
                 inst.rec.incarnation);
  } else if (Permanent(s)) {
    inst.state = InstanceState::kFailed;
    inst.message = s.ToString();
  } else {
    inst.next_restart = system_clock::now() + inst.backoff;
    inst.backoff = std::min(inst.backoff * 2, options_.backoff_max);
    inst.message = "restart failed: " + s.ToString();
  }
  writes->push_back(SnapshotLocked(inst));
}

Status LocalRuntime::LaunchLocked(Instance& inst) {
  const InstanceSpec& spec = inst.rec.spec;
  GRID_ASSIGN_OR_RETURN(std::string binary, options_.catalog.Lookup(spec.engine, spec.version));
  std::error_code ec;
  fs::create_directories(DataDir(spec.name), ec);
  if (ec) return IOError("creating " + DataDir(spec.name) + ": " + ec.message());
  const std::string log = LogPath(spec.name);
  if (std::error_code size_ec; fs::file_size(log, size_ec) > options_.max_log_bytes && !size_ec) {
    fs::rename(log, log + ".1", ec);  // best effort: a failure only lets the log grow
  }
  const auto now = system_clock::now();
  AppendLine(LogPath(spec.name), "--- " + FormatTime(now) + " starting " + spec.engine + "@" +
                                     spec.version + " (incarnation " +
                                     std::to_string(inst.rec.incarnation) + ", restarts " +
                                     std::to_string(inst.rec.restarts) + ")");
  GRID_ASSIGN_OR_RETURN(ProcessId id, SpawnProcess({binary, SubstitutedArgs(spec),
                                                    LogPath(spec.name), InstanceDir(spec.name)}));
  inst.rec.process = id;
  inst.rec.started_at = now;
  inst.rec.want_running = true;
  inst.own_child = true;
  inst.state = InstanceState::kRunning;
  inst.message.clear();
  inst.next_restart = {};
  return Status::Ok();
}

LocalRuntime::PendingWrite LocalRuntime::SnapshotLocked(const Instance& inst) {
  const uint64_t seq = ++write_seq_;
  local_seq_[inst.rec.spec.name] = seq;
  return PendingWrite{inst.rec.spec.name, seq, inst.rec};
}

void LocalRuntime::Flush(std::vector<PendingWrite> writes) {
  if (writes.empty()) return;
  std::lock_guard<std::mutex> lock(persist_mu_);
  for (PendingWrite& w : writes) {
    uint64_t& written = written_seq_[w.name];
    if (w.seq <= written) continue;  // a later write (or the removal) already landed
    written = w.seq;
    const std::string dir = InstanceDir(w.name);
    if (w.record) {
      Status s = WriteInstanceRecord(dir, *w.record);
      if (!s.ok()) spdlog::error("instance {}: writing its record: {}", w.name, s.ToString());
    } else {
      ::unlink((dir + "/" + kInstanceRecordFile).c_str());
    }
  }
}

InstanceStatus LocalRuntime::StatusOf(const Instance& inst) const {
  InstanceStatus status;
  status.spec = inst.rec.spec;
  status.state = inst.state;
  status.pid = inst.state == InstanceState::kRunning ? inst.rec.process.pid : 0;
  status.incarnation = inst.rec.incarnation;
  status.restarts = inst.rec.restarts;
  status.last_exit = inst.rec.last_exit;
  status.message = inst.message;
  status.started_at = inst.rec.started_at;
  if (inst.state == InstanceState::kBackoff) status.next_restart = inst.next_restart;
  return status;
}

Status LocalRuntime::Start(const InstanceSpec& spec) {
  if (std::string e = InstanceNameError(spec.name); !e.empty()) return InvalidArgument(e);
  if (spec.args.size() > kMaxInstanceArgs) {
    return InvalidArgument("instance " + spec.name + ": " + std::to_string(spec.args.size()) +
                           " args, more than " + std::to_string(kMaxInstanceArgs));
  }
  if (spec.labels.size() > kMaxInstanceLabels) {
    return InvalidArgument("instance " + spec.name + ": " + std::to_string(spec.labels.size()) +
                           " labels, more than " + std::to_string(kMaxInstanceLabels));
  }
  for (const auto& [key, value] : spec.labels) {
    if (key.empty() || key.size() > kMaxInstanceLabelBytes ||
        value.size() > kMaxInstanceLabelBytes) {
      return InvalidArgument("instance " + spec.name + ": label \"" + key.substr(0, 64) +
                             "\": key must be 1.." + std::to_string(kMaxInstanceLabelBytes) +
                             " bytes and value at most " +
                             std::to_string(kMaxInstanceLabelBytes));
    }
  }
  for (const std::string& arg : SubstitutedArgs(spec)) {
    if (arg.size() > kMaxInstanceArgBytes) {
      return InvalidArgument("instance " + spec.name + ": an argument is longer than " +
                             std::to_string(kMaxInstanceArgBytes) + " bytes");
    }
  }
  GRID_RETURN_IF_ERROR(options_.catalog.Lookup(spec.engine, spec.version).status());

  std::vector<PendingWrite> writes;
  Status result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = instances_.find(spec.name);
    if (it == instances_.end()) {
      if (instances_.size() >= options_.max_instances) {
        return ResourceExhausted("more than " + std::to_string(options_.max_instances) +
                                 " instances");
      }
      Instance inst;
      inst.rec.spec = spec;
      inst.backoff = options_.backoff_initial;
      it = instances_.emplace(spec.name, std::move(inst)).first;
    } else {
      Instance& cur = it->second;
      if (!cur.busy.empty()) {
        return FailedPrecondition("instance " + spec.name + " is busy (" + cur.busy + ")");
      }
      if (cur.state == InstanceState::kRunning || cur.state == InstanceState::kBackoff) {
        if (cur.rec.spec == spec) return Status::Ok();
        return FailedPrecondition("instance " + spec.name +
                                  " runs with another spec; stop it first");
      }
      cur.rec.spec = spec;
      cur.backoff = options_.backoff_initial;
    }
    Instance& inst = it->second;
    ReservePortsLocked(spec);
    result = LaunchLocked(inst);
    if (!result.ok()) {
      inst.state = InstanceState::kFailed;
      inst.message = result.ToString();
    }
    writes.push_back(SnapshotLocked(inst));
  }
  Flush(std::move(writes));
  return result;
}

Result<std::optional<LocalRuntime::StopTarget>> LocalRuntime::BeginStop(const std::string& name) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return NotFound("no instance " + name);
  Instance& inst = it->second;
  if (inst.state != InstanceState::kRunning) {
    if (inst.state == InstanceState::kStopped && !inst.rec.want_running) {
      return std::optional<StopTarget>();
    }
    if (!inst.busy.empty()) {
      return FailedPrecondition("instance " + name + " is busy (" + inst.busy + ")");
    }
    // In back-off (or failed): cancel the pending restart.
    inst.state = InstanceState::kStopped;
    inst.rec.want_running = false;
    inst.message = "stopped on request";
    std::vector<PendingWrite> writes{SnapshotLocked(inst)};
    lock.unlock();
    Flush(std::move(writes));
    return std::optional<StopTarget>();
  }
  if (inst.busy.empty()) inst.busy = "stopping";
  inst.rec.want_running = false;
  StopTarget target{inst.rec.process, inst.own_child};
  SignalGroup(target.id, target.own_child, SIGTERM);
  return std::optional<StopTarget>(target);
}

Status LocalRuntime::FinishStop(const std::string& name, const StopTarget& target,
                                steady_clock::time_point term_deadline) {
  std::optional<steady_clock::time_point> kill_deadline;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto it = instances_.find(name);
      if (it == instances_.end()) return Status::Ok();
      Instance& inst = it->second;
      if (inst.state != InstanceState::kRunning || !(inst.rec.process == target.id)) {
        return Status::Ok();  // a concurrent Stop saw it go
      }
      Probe probe = ProbeProcess(target.id, target.own_child);
      if (probe.exited) {
        if (target.own_child) KillGroupStragglers(target.id.pid);
        inst.rec.process = {};
        inst.own_child = false;
        inst.rec.last_exit = probe.exit;
        inst.state = InstanceState::kStopped;
        inst.message = "stopped on request";
        inst.busy.clear();
        std::vector<PendingWrite> writes{SnapshotLocked(inst)};
        lock.unlock();
        Flush(std::move(writes));
        return Status::Ok();
      }
    }
    const auto now = steady_clock::now();
    if (!kill_deadline && now >= term_deadline) {
      SignalGroup(target.id, target.own_child, SIGKILL);
      kill_deadline = now + kStopKillWait;
    } else if (kill_deadline && now >= *kill_deadline) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = instances_.find(name);
      if (it != instances_.end() && it->second.busy == "stopping") it->second.busy.clear();
      return Unavailable("instance " + name + " (pid " + std::to_string(target.id.pid) +
                         ") still runs after SIGKILL");
    }
    std::this_thread::sleep_for(kStopPollInterval);
  }
}

Status LocalRuntime::Stop(const std::string& name, std::chrono::milliseconds grace) {
  const auto term_deadline = steady_clock::now() + grace;
  GRID_ASSIGN_OR_RETURN(std::optional<StopTarget> target, BeginStop(name));
  if (!target) return Status::Ok();
  return FinishStop(name, *target, term_deadline);
}

Status LocalRuntime::Reload(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return NotFound("no instance " + name);
  const Instance& inst = it->second;
  if (inst.state != InstanceState::kRunning ||
      !SignalProcess(inst.rec.process, inst.own_child, SIGHUP)) {
    return FailedPrecondition("instance " + name + " is not running");
  }
  return Status::Ok();
}

Status LocalRuntime::Remove(const std::string& name, bool wipe_data) {
  if (std::string e = InstanceNameError(name); !e.empty()) return InvalidArgument(e);
  Status stopped = Stop(name, options_.stop_grace);
  if (!stopped.ok() && stopped.code() != Code::kNotFound) return stopped;
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = instances_.find(name);
    if (it != instances_.end()) {
      const Instance& inst = it->second;
      if (!inst.busy.empty()) {
        return FailedPrecondition("instance " + name + " is busy (" + inst.busy + ")");
      }
      if (inst.state == InstanceState::kRunning || inst.state == InstanceState::kBackoff) {
        return FailedPrecondition("instance " + name + " was started again while removed");
      }
      instances_.erase(it);
    }
    seq = ++write_seq_;
    local_seq_[name] = seq;
  }
  std::lock_guard<std::mutex> lock(persist_mu_);
  written_seq_[name] = std::max(written_seq_[name], seq);
  std::error_code ec;
  if (wipe_data) {
    fs::remove_all(InstanceDir(name), ec);
    if (ec) return IOError("removing " + InstanceDir(name) + ": " + ec.message());
  } else {
    fs::remove(InstanceDir(name) + "/" + kInstanceRecordFile, ec);
    if (ec) return IOError("removing the record of " + name + ": " + ec.message());
  }
  return Status::Ok();
}

Status LocalRuntime::WipeData(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = instances_.find(name);
    if (it == instances_.end()) return NotFound("no instance " + name);
    Instance& inst = it->second;
    if (!inst.busy.empty()) {
      return FailedPrecondition("instance " + name + " is busy (" + inst.busy + ")");
    }
    if (inst.state == InstanceState::kRunning || inst.state == InstanceState::kBackoff) {
      return FailedPrecondition("instance " + name + " is running; stop it first");
    }
    inst.busy = "wiping";
  }
  std::error_code ec;
  fs::remove_all(DataDir(name), ec);
  if (!ec) fs::create_directories(DataDir(name), ec);
  std::vector<PendingWrite> writes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Instance& inst = instances_.at(name);  // busy: nobody removed it
    inst.busy.clear();
    if (ec) return IOError("wiping " + DataDir(name) + ": " + ec.message());
    ++inst.rec.incarnation;
    writes.push_back(SnapshotLocked(inst));
  }
  Flush(std::move(writes));
  return Status::Ok();
}

Result<InstanceStatus> LocalRuntime::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return NotFound("no instance " + name);
  return StatusOf(it->second);
}

std::vector<InstanceStatus> LocalRuntime::List(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InstanceStatus> out;
  for (auto it = instances_.lower_bound(prefix);
       it != instances_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back(StatusOf(it->second));
  }
  return out;
}

Result<int> LocalRuntime::AllocatePort() {
  for (int attempt = 0; attempt < kMaxPortAttempts; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ErrnoStatus("socket", errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus("binding 127.0.0.1:0", err);
    }
    ::close(fd);
    const int port = ntohs(addr.sin_port);
    std::lock_guard<std::mutex> lock(mu_);
    if (ports_.insert(port).second) return port;
  }
  return ResourceExhausted("no fresh port after " + std::to_string(kMaxPortAttempts) +
                           " attempts");
}

Status LocalRuntime::StopAll(std::chrono::milliseconds grace) {
  const auto term_deadline = steady_clock::now() + grace;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, inst] : instances_) names.push_back(name);
  }
  // SIGTERM to all first, so they share one grace period.
  Status first;
  std::vector<std::pair<std::string, StopTarget>> waiting;
  for (const std::string& name : names) {
    Result<std::optional<StopTarget>> target = BeginStop(name);
    if (!target.ok()) {
      if (target.status().code() != Code::kNotFound && first.ok()) first = target.status();
    } else if (*target) {
      waiting.emplace_back(name, **target);
    }
  }
  for (const auto& [name, target] : waiting) {
    Status s = FinishStop(name, target, term_deadline);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

}  // namespace grid::mas::runtime
