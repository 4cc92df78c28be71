// FakeRuntime: an in-memory runtime::Runtime for controller tests. Instances have no process:
// Start marks them running (and their data dir non-empty), Stop marks them stopped. Tests
// inject failures: Crash (the process keeps exiting: Backoff) and LoseData (the data dir is
// emptied and the process crashes). Every mutating call is logged ("Start kv/c/c-0 3.4.0").
//
// Thread-safety: thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "mas/runtime/runtime.h"

namespace grid::mas::kvcluster::testing {

class FakeRuntime final : public runtime::Runtime {
 public:
  Status Start(const runtime::InstanceSpec& spec) override;
  Status Stop(const std::string& name, std::chrono::milliseconds grace) override;
  Status Reload(const std::string& name) override;
  Status Remove(const std::string& name, bool wipe_data) override;
  Status WipeData(const std::string& name) override;
  Result<runtime::InstanceStatus> Get(const std::string& name) const override;
  std::vector<runtime::InstanceStatus> List(const std::string& prefix) const override;
  std::string DataDir(const std::string& name) const override { return "/fake/data/" + name; }
  std::string LogPath(const std::string& name) const override { return "/fake/log/" + name; }
  Result<int> AllocatePort() override;
  std::string Host() const override { return "127.0.0.1"; }
  void SetActive(bool) override {}

  // Every Start fails with `error` until FailStarts(Status::Ok()).
  void FailStarts(Status error);
  // The process of `name` exits and keeps exiting (state Backoff) until the next Start after
  // a Stop or Remove.
  void Crash(const std::string& name);
  // Empties the data dir of `name`; its process crashes.
  void LoseData(const std::string& name);
  // For KVClusterOptions::data_dir_empty.
  bool DataDirEmpty(const std::string& data_dir) const;
  bool HasData(const std::string& name) const;
  std::vector<std::string> Log() const;

  // The value of `flag` in the instance's args ("" when absent).
  static std::string Arg(const runtime::InstanceSpec& spec, const std::string& flag);

 private:
  mutable std::mutex mu_;
  std::map<std::string, runtime::InstanceStatus> instances_;  // guarded by mu_
  std::set<std::string> with_data_;                           // guarded by mu_
  std::vector<std::string> log_;                              // guarded by mu_
  int next_port_ = 40000;                                     // guarded by mu_
  int next_pid_ = 100;                                        // guarded by mu_
  Status start_error_;                                        // guarded by mu_
};

}  // namespace grid::mas::kvcluster::testing
