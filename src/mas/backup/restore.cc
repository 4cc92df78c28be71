#include "mas/backup/restore.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

#include <grpcpp/client_context.h>

#include "client/client.h"
#include "common/grpc_status.h"
#include "etcd/rpc.grpc.pb.h"
#include "mas/backup/catalog.h"

extern char** environ;

namespace grid::mas::backup {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Polling period while waiting for a tool that closed its output to exit.
constexpr std::chrono::milliseconds kExitPollPeriod{10};

Status DeadlineExceeded(std::string m) { return Status(Code::kDeadlineExceeded, std::move(m)); }

std::string Seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

// "host:port" from "http://host:port" (gRPC targets take no scheme).
std::string GrpcTarget(const std::string& endpoint) {
  for (const char* scheme : {"http://", "https://"}) {
    if (endpoint.rfind(scheme, 0) == 0) return endpoint.substr(std::strlen(scheme));
  }
  return endpoint;
}

// The binary as given when it has a '/', else the first executable match in $PATH (resolved
// before fork: the child only calls async-signal-safe functions).
Result<std::string> ResolveBinary(const std::string& binary) {
  if (binary.empty()) return InvalidArgument("empty binary");
  if (binary.find('/') != std::string::npos) return binary;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = dirs.substr(start, end - start);
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + binary;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return NotFound(binary + " is not in $PATH");
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    return "signal " + std::to_string(WTERMSIG(wait_status)) + " (" +
           ::strsignal(WTERMSIG(wait_status)) + ")";
  }
  return "wait status " + std::to_string(wait_status);
}

void KeepTail(std::string* out, const char* data, size_t n) {
  out->append(data, n);
  if (out->size() > 2 * kMaxToolOutputBytes) out->erase(0, out->size() - kMaxToolOutputBytes);
}

Status SyncPath(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path.string(), errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync " + path.string(), err);
  return Status::Ok();
}

// fsyncs every file and directory under `root`, then `root`.
Status SyncTree(const fs::path& root) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_regular_file(st) || fs::is_directory(st)) {
      GRID_RETURN_IF_ERROR(SyncPath(it->path(), fs::is_directory(st)));
    }
  }
  if (ec) return IOError("walk " + root.string() + ": " + ec.message());
  return SyncPath(root, true);
}

// The member names of "n1=url,n2=url".
std::vector<std::string> InitialClusterNames(const std::string& initial_cluster) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= initial_cluster.size()) {
    const size_t end = std::min(initial_cluster.find(',', start), initial_cluster.size());
    const std::string item = initial_cluster.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq != std::string::npos) names.push_back(item.substr(0, eq));
    start = end + 1;
  }
  return names;
}

Status ValidateTarget(const std::string& engine, const RestoreTarget& t) {
  if (engine != "etcd" && engine != "gridkv") {
    return InvalidArgument("engine \"" + engine + "\" is neither etcd nor gridkv");
  }
  const std::pair<const char*, const std::string*> required[] = {
      {"name", &t.name},
      {"data_dir", &t.data_dir},
      {"initial_cluster", &t.initial_cluster},
      {"initial_advertise_peer_urls", &t.initial_advertise_peer_urls},
      {"initial_cluster_token", &t.initial_cluster_token},
  };
  for (const auto& [field, value] : required) {
    if (value->empty()) return InvalidArgument(std::string("restore target: empty ") + field);
  }
  const auto names = InitialClusterNames(t.initial_cluster);
  if (std::find(names.begin(), names.end(), t.name) == names.end()) {
    return InvalidArgument("restore target: name \"" + t.name + "\" is not in initial_cluster \"" +
                           t.initial_cluster + "\"");
  }
  return Status::Ok();
}

// The downloaded file against its record: the snapshot checks, then size and sha256.
Result<SnapshotFileInfo> CheckAgainstRecord(const std::string& path, const BackupRecord& record) {
  GRID_ASSIGN_OR_RETURN(SnapshotFileInfo info, VerifySnapshotFile(path));
  if (info.size_bytes != record.size_bytes) {
    return Corruption("snapshot " + path + ": offset " +
                      std::to_string(std::min(info.size_bytes, record.size_bytes)) + ": size " +
                      std::to_string(info.size_bytes) + " bytes, the record says " +
                      std::to_string(record.size_bytes));
  }
  if (info.sha256 != record.sha256) {
    return Corruption("snapshot " + path + ": offset 0: sha256 " + info.sha256 +
                      " of the whole file, the record says " + record.sha256);
  }
  return info;
}

}  // namespace

Status RunTool(const std::string& what, const std::string& binary,
               const std::vector<std::string>& args, const std::vector<std::string>& env,
               std::chrono::milliseconds timeout) {
  GRID_ASSIGN_OR_RETURN(const std::string path, ResolveBinary(binary));
  // argv and envp are built before fork.
  std::vector<std::string> argv_s = {path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(env.begin(), env.end(), [&](const std::string& x) {
      return x.substr(0, x.find('=')) == name;
    });
    if (!replaced) env_s.push_back(entry);
  }
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out[2];
  int exec_error[2];  // the child writes errno here when exec fails; closed by a good exec
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus("pipe", errno);
  if (::pipe2(exec_error, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(out[0]);
    ::close(out[1]);
    return ErrnoStatus("pipe", err);
  }
  const auto deadline = Clock::now() + timeout;
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {out[0], out[1], exec_error[0], exec_error[1]}) ::close(fd);
    return ErrnoStatus("fork for " + what, err);
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::execve(path.c_str(), argv.data(), envp.data());
    const int err = errno;
    (void)!::write(exec_error[1], &err, sizeof err);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no window where the group does not exist yet
  ::close(out[1]);
  ::close(exec_error[1]);
  int exec_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(exec_error[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  ::close(exec_error[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    ::close(out[0]);
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    return NotFound(what + ": cannot execute " + path + ": " + std::strerror(exec_errno));
  }

  std::string output;
  bool eof = false;
  int wait_status = 0;
  bool exited = false;
  char buf[4096];
  while (!exited) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    if (!eof) {
      pollfd p{out[0], POLLIN, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      if (rc > 0) {
        const ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n > 0) KeepTail(&output, buf, static_cast<size_t>(n));
        if (n == 0) eof = true;
      }
    } else {
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(left, kExitPollPeriod));
    }
    if (::waitpid(pid, &wait_status, WNOHANG) == pid) exited = true;
  }
  if (!exited) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &wait_status, 0);
    ::close(out[0]);
    return DeadlineExceeded(what + ": " + path + " did not finish within the tool_timeout of " +
                            Seconds(timeout) + " (killed)");
  }
  // What it wrote just before exiting (descendants holding the pipe are not waited for).
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  for (;;) {
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    KeepTail(&output, buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return Status::Ok();
  if (output.size() > kMaxToolOutputBytes) output.erase(0, output.size() - kMaxToolOutputBytes);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return FailedPrecondition(what + ": " + path + " failed with " + DescribeExit(wait_status) +
                            ": " + output);
}

Status RestoreMemberDataDir(const std::string& engine, const std::string& snapshot_path,
                            const RestoreTarget& target, const RestoreOptions& options) {
  GRID_RETURN_IF_ERROR(ValidateTarget(engine, target));
  const fs::path data_dir(target.data_dir);
  std::error_code ec;
  if (fs::exists(fs::symlink_status(data_dir, ec))) {
    return Status(Code::kAlreadyExists, "restore: data dir " + target.data_dir + " exists");
  }
  const fs::path parent =
      data_dir.parent_path().empty() ? fs::path(".") : data_dir.parent_path();
  if (!fs::is_directory(parent, ec)) {
    return FailedPrecondition("restore: the parent of data dir " + target.data_dir +
                              " is not a directory");
  }
  GRID_ASSIGN_OR_RETURN(SnapshotFileInfo info, VerifySnapshotFile(snapshot_path));
  if (!options.expected_sha256.empty() && info.sha256 != options.expected_sha256) {
    return Corruption("snapshot " + snapshot_path + ": offset 0: sha256 " + info.sha256 +
                      " of the whole file, expected " + options.expected_sha256);
  }

  const fs::path temp(target.data_dir + kRestoringSuffix);
  fs::remove_all(temp, ec);  // a leftover of an interrupted restore
  if (ec) return IOError("remove " + temp.string() + ": " + ec.message());
  std::vector<std::string> args = {
      "snapshot", "restore", snapshot_path,
      "--name", target.name,
      "--data-dir", temp.string(),
      "--initial-cluster", target.initial_cluster,
      "--initial-cluster-token", target.initial_cluster_token,
      "--initial-advertise-peer-urls", target.initial_advertise_peer_urls,
  };
  const bool etcd = engine == "etcd";
  const std::string& binary = etcd ? target.binaries.etcdctl : target.binaries.gridkv;
  const std::string what = std::string(etcd ? "etcdctl" : "gridkv") +
                           " snapshot restore of member " + target.name;
  auto cleanup = [&](const Status& s) {
    std::error_code ignored;
    fs::remove_all(temp, ignored);
    return s;
  };
  Status ran = RunTool(what, binary, args, etcd ? std::vector<std::string>{"ETCDCTL_API=3"}
                                                : std::vector<std::string>{},
                       options.tool_timeout);
  if (!ran.ok()) return cleanup(ran);
  if (!fs::is_directory(temp / "member", ec)) {
    return cleanup(Internal(what + ": succeeded but wrote no " + (temp / "member").string()));
  }
  Status synced = SyncTree(temp);
  if (!synced.ok()) return cleanup(synced.WithContext(what));
  fs::rename(temp, data_dir, ec);
  if (ec) return cleanup(IOError("rename " + temp.string() + " to " + target.data_dir + ": " +
                                 ec.message()));
  Status parent_synced = SyncPath(parent, true);
  if (!parent_synced.ok()) {
    fs::remove_all(data_dir, ec);
    return parent_synced.WithContext(what);
  }
  return Status::Ok();
}

Result<FetchedBackup> FetchBackup(bucket::Bucket* bucket, const std::string& cluster,
                                  const std::string& name, const std::string& local_path) {
  GRID_RETURN_IF_ERROR(ValidateClusterName(cluster));
  std::vector<std::string> skipped;
  GRID_ASSIGN_OR_RETURN(std::vector<BackupRecord> backups,
                        ListBackups(bucket, cluster, &skipped));
  const BackupRecord* chosen = nullptr;
  if (name == kLatestBackup) {
    if (!backups.empty()) chosen = &backups.front();
  } else {
    for (const BackupRecord& r : backups) {
      if (r.name == name) chosen = &r;
    }
  }
  if (chosen == nullptr) {
    std::string message = "cluster " + cluster + " has no verified backup " +
                          (name == kLatestBackup ? std::string("at all") : name) + " in " +
                          bucket->Describe();
    for (const std::string& s : skipped) message += "; skipped: " + s;
    return NotFound(message);
  }
  FetchedBackup out;
  out.record = *chosen;
  const std::string key = SnapshotKey(cluster, out.record.name);
  GRID_RETURN_IF_ERROR(bucket->GetFile(key, local_path).WithContext("download " + key));
  auto checked = CheckAgainstRecord(local_path, out.record);
  if (!checked.ok()) {
    std::error_code ec;
    fs::remove(local_path, ec);
    return checked.status().WithContext("backup " + key);
  }
  out.file = *checked;
  return out;
}

Result<std::vector<MemberHash>> VerifyRestored(const std::vector<std::string>& endpoints,
                                               const BackupRecord& record,
                                               const VerifyRestoredOptions& options) {
  if (endpoints.empty()) return FailedPrecondition("verify restore: no endpoints");
  if (!record.hash_kv.has_value()) {
    return FailedPrecondition("verify restore: backup " + record.name +
                              " has no hashKv to compare with");
  }
  client::ClientOptions copts;
  copts.dial_timeout = options.dial_timeout;
  copts.call_timeout = options.call_timeout;
  std::vector<MemberHash> members;
  std::string failures;
  Code code = Code::kOk;
  // The most telling code wins: a hash that differs over a member that is behind or silent.
  auto fail = [&](Code c, const std::string& line) {
    failures += (failures.empty() ? "" : "; ") + line;
    auto rank = [](Code x) {
      return x == Code::kCorruption ? 3 : x == Code::kOutOfRange ? 2 : x == Code::kOk ? 0 : 1;
    };
    if (rank(c) > rank(code)) code = c;
  };
  for (const std::string& endpoint : endpoints) {
    auto c = client::Client::Connect({GrpcTarget(endpoint)}, copts);
    if (!c.ok()) {
      fail(Code::kUnavailable, endpoint + ": " + c.status().ToString());
      continue;
    }
    auto status = (*c)->MemberStatus();
    if (!status.ok()) {
      fail(Code::kUnavailable, endpoint + ": Status: " + status.status().ToString());
      continue;
    }
    MemberHash m;
    m.endpoint = endpoint;
    m.member_id = status->header().member_id();
    m.current_revision = status->header().revision();
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(m.member_id));
    const std::string who = endpoint + " (member " + id + ")";
    if (m.current_revision < record.revision) {
      fail(Code::kOutOfRange, who + ": current revision " + std::to_string(m.current_revision) +
                                  " is before the backup's revision " +
                                  std::to_string(record.revision));
      continue;
    }
    auto stub = etcdserverpb::Maintenance::NewStub((*c)->channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options.call_timeout);
    etcdserverpb::HashKVRequest req;
    req.set_revision(record.revision);
    etcdserverpb::HashKVResponse resp;
    const grpc::Status s = stub->HashKV(&ctx, req, &resp);
    if (!s.ok()) {
      fail(Code::kUnavailable, who + ": HashKV at revision " + std::to_string(record.revision) +
                                   ": " + FromGrpc(s).ToString());
      continue;
    }
    m.hash_kv = resp.hash();
    if (m.hash_kv != *record.hash_kv) {
      fail(Code::kCorruption, who + ": HashKV at revision " + std::to_string(record.revision) +
                                  " is " + std::to_string(m.hash_kv) + ", the backup's is " +
                                  std::to_string(*record.hash_kv));
      continue;
    }
    members.push_back(m);
  }
  if (code != Code::kOk) {
    return Status(code, "restored cluster does not match backup " + record.name + ": " + failures);
  }
  return members;
}

}  // namespace grid::mas::backup
