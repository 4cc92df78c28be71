#include "mas/kvcluster/testing/fake_runtime.h"

namespace grid::mas::kvcluster::testing {

using runtime::InstanceState;

Status FakeRuntime::Start(const runtime::InstanceSpec& spec) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!start_error_.ok()) return start_error_;
  auto it = instances_.find(spec.name);
  if (it != instances_.end() && (it->second.state == InstanceState::kRunning ||
                                 it->second.state == InstanceState::kBackoff)) {
    if (it->second.spec == spec) return Status::Ok();
    return FailedPrecondition("instance " + spec.name + " runs with another spec");
  }
  runtime::InstanceStatus& st = instances_[spec.name];
  st.spec = spec;
  st.state = InstanceState::kRunning;
  st.pid = next_pid_++;
  with_data_.insert(spec.name);
  log_.push_back("Start " + spec.name + " " + spec.version);
  return Status::Ok();
}

Status FakeRuntime::Stop(const std::string& name, std::chrono::milliseconds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return NotFound("instance " + name + " not found");
  it->second.state = InstanceState::kStopped;
  it->second.pid = 0;
  log_.push_back("Stop " + name);
  return Status::Ok();
}

Status FakeRuntime::Reload(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end() || it->second.state != InstanceState::kRunning) {
    return FailedPrecondition("instance " + name + " is not running");
  }
  return Status::Ok();
}

Status FakeRuntime::Remove(const std::string& name, bool wipe_data) {
  std::lock_guard<std::mutex> lock(mu_);
  instances_.erase(name);
  if (wipe_data) with_data_.erase(name);
  log_.push_back("Remove " + name + (wipe_data ? " wipe" : ""));
  return Status::Ok();
}

Status FakeRuntime::WipeData(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it != instances_.end() && it->second.state == InstanceState::kRunning) {
    return FailedPrecondition("instance " + name + " is running");
  }
  with_data_.erase(name);
  log_.push_back("WipeData " + name);
  return Status::Ok();
}

Result<runtime::InstanceStatus> FakeRuntime::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return NotFound("instance " + name + " not found");
  return it->second;
}

std::vector<runtime::InstanceStatus> FakeRuntime::List(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<runtime::InstanceStatus> out;
  for (const auto& [name, st] : instances_) {
    if (name.rfind(prefix, 0) == 0) out.push_back(st);
  }
  return out;
}

Result<int> FakeRuntime::AllocatePort() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_port_++;
}

void FakeRuntime::FailStarts(Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  start_error_ = std::move(error);
}

void FakeRuntime::Crash(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return;
  it->second.state = InstanceState::kBackoff;
  it->second.pid = 0;
  ++it->second.restarts;
}

void FakeRuntime::LoseData(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  with_data_.erase(name);
  auto it = instances_.find(name);
  if (it == instances_.end()) return;
  it->second.state = InstanceState::kBackoff;
  it->second.pid = 0;
}

bool FakeRuntime::DataDirEmpty(const std::string& data_dir) const {
  const std::string prefix = "/fake/data/";
  return !HasData(data_dir.substr(prefix.size()));
}

bool FakeRuntime::HasData(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return with_data_.count(name) > 0;
}

std::vector<std::string> FakeRuntime::Log() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

std::string FakeRuntime::Arg(const runtime::InstanceSpec& spec, const std::string& flag) {
  for (size_t i = 0; i + 1 < spec.args.size(); ++i) {
    if (spec.args[i] == flag) return spec.args[i + 1];
  }
  return "";
}

}  // namespace grid::mas::kvcluster::testing
