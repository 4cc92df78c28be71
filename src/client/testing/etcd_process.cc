#include "client/testing/etcd_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "etcd/rpc.grpc.pb.h"

namespace grid::client::testing {
namespace {

constexpr std::chrono::milliseconds kReadyPollInterval{50};
constexpr std::chrono::milliseconds kStatusCallTimeout{500};

std::string FindBinary(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::vector<std::string> SplitWhitespace(const char* s) {
  std::vector<std::string> out;
  if (s == nullptr) return out;
  std::stringstream in(s);
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

Result<std::string> MakeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                        "/grid-etcd-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return ErrnoStatus("mkdtemp " + pattern, errno);
  return pattern;
}

}  // namespace

Result<int> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus("bind 127.0.0.1:0", err);
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

Result<std::unique_ptr<EtcdProcess>> EtcdProcess::Start(EtcdProcessOptions options) {
  std::unique_ptr<EtcdProcess> p(new EtcdProcess());
  std::string wanted = options.binary;
  if (wanted.empty()) {
    const char* env = std::getenv(kEtcdBinaryEnv);
    wanted = env != nullptr && *env != '\0' ? env : "etcd";
  }
  p->binary_ = FindBinary(wanted);
  if (p->binary_.empty()) {
    return FailedPrecondition("etcd test server binary not found: '" + wanted +
                              "' (install etcd 3.4 or set " + kEtcdBinaryEnv + ")");
  }
  GRID_ASSIGN_OR_RETURN(p->temp_dir_, MakeTempDir());
  p->data_dir_ = p->temp_dir_ + "/data";
  p->log_path_ = p->temp_dir_ + "/server.log";
  GRID_ASSIGN_OR_RETURN(int client_port, PickFreePort());
  GRID_ASSIGN_OR_RETURN(int peer_port, PickFreePort());
  p->endpoint_ = "127.0.0.1:" + std::to_string(client_port);
  const std::string client_url = "http://" + p->endpoint_;
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port);
  p->flags_ = {"--name=default",
               "--data-dir=" + p->data_dir_,
               "--listen-client-urls=" + client_url,
               "--advertise-client-urls=" + client_url,
               "--listen-peer-urls=" + peer_url,
               "--initial-advertise-peer-urls=" + peer_url,
               "--initial-cluster=default=" + peer_url};
  for (auto& f : SplitWhitespace(std::getenv(kEtcdFlagsEnv))) p->flags_.push_back(f);
  for (auto& f : options.extra_flags) p->flags_.push_back(f);
  p->options_ = std::move(options);
  GRID_RETURN_IF_ERROR(p->Launch());
  GRID_RETURN_IF_ERROR(p->WaitReady());
  return p;
}

EtcdProcess::~EtcdProcess() {
  Kill();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

Status EtcdProcess::Launch() {
  GRID_CHECK(pid_ <= 0) << "server already running";
  std::vector<std::string> args = {binary_};
  args.insert(args.end(), flags_.begin(), flags_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoStatus("open " + log_path_, errno);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(log_fd);
    return ErrnoStatus("fork", err);
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;
  return Status::Ok();
}

Status EtcdProcess::WaitReady() {
  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Unavailable(binary_ + " exited before becoming ready; log tail:\n" + LogTail());
    }
    // A fresh channel with its own subchannel per attempt: a shared one would sit in
    // reconnect backoff (1 s and growing) after the refusals seen while the server boots.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto stub = etcdserverpb::Maintenance::NewStub(
        grpc::CreateCustomChannel(endpoint_, grpc::InsecureChannelCredentials(), args));
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(std::chrono::system_clock::now() + kStatusCallTimeout);
    etcdserverpb::StatusResponse resp;
    if (stub->Status(&ctx, etcdserverpb::StatusRequest(), &resp).ok()) return Status::Ok();
    std::this_thread::sleep_for(kReadyPollInterval);
  }
  return Unavailable(binary_ + " did not answer Status on " + endpoint_ + " in time; log tail:\n" +
                     LogTail());
}

void EtcdProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

Status EtcdProcess::Restart() {
  Kill();
  GRID_RETURN_IF_ERROR(Launch());
  return WaitReady();
}

std::string EtcdProcess::LogTail(size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

}  // namespace grid::client::testing
