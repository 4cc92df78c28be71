// EtcdProcess: a test fixture that runs a real etcd-compatible server as a child process on
// 127.0.0.1 with picked free ports and a temp data dir, waits for it to answer, and kills
// it on destruction (removing the data dir).
//
// The binary is $GRID_TEST_ETCD_BINARY, else "etcd" from $PATH; extra flags come from
// $GRID_TEST_ETCD_FLAGS (split on whitespace), so the same tests can run against gridkv.
// The standard flags passed are etcd's: --name, --data-dir, --listen-client-urls,
// --advertise-client-urls, --listen-peer-urls, --initial-advertise-peer-urls,
// --initial-cluster.
//
// Thread-safety: not thread-safe; owned by one test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace grid::client::testing {

inline constexpr char kEtcdBinaryEnv[] = "GRID_TEST_ETCD_BINARY";
inline constexpr char kEtcdFlagsEnv[] = "GRID_TEST_ETCD_FLAGS";

struct EtcdProcessOptions {
  std::string binary;                    // empty: $GRID_TEST_ETCD_BINARY or "etcd" on $PATH
  std::vector<std::string> extra_flags;  // appended after $GRID_TEST_ETCD_FLAGS
  std::chrono::milliseconds ready_timeout{30000};
};

class EtcdProcess {
 public:
  // Picks ports, creates the data dir, starts the server and waits until it answers.
  // Fails with a message naming the binary (and the tail of its log) when it cannot.
  static Result<std::unique_ptr<EtcdProcess>> Start(EtcdProcessOptions options = {});
  ~EtcdProcess();  // Kill(), then removes the temp dir
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // "127.0.0.1:PORT", for Client::Connect.
  const std::string& endpoint() const { return endpoint_; }
  // "http://127.0.0.1:PORT", for etcdctl --endpoints.
  std::string client_url() const { return "http://" + endpoint_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& binary() const { return binary_; }
  bool running() const { return pid_ > 0; }

  // SIGKILLs the server and reaps it. No-op when not running.
  void Kill();
  // Starts the server again on the same data dir and ports and waits until it answers.
  Status Restart();
  // The last `max_bytes` of the server's combined stdout/stderr.
  std::string LogTail(size_t max_bytes = 4096) const;

 private:
  EtcdProcess() = default;
  Status Launch();
  Status WaitReady();

  EtcdProcessOptions options_;
  std::string binary_;
  std::vector<std::string> flags_;
  std::string temp_dir_;
  std::string data_dir_;
  std::string log_path_;
  std::string endpoint_;
  pid_t pid_ = -1;
};

// Picks a free TCP port on 127.0.0.1 (bind to port 0, read it back, close).
Result<int> PickFreePort();

}  // namespace grid::client::testing
