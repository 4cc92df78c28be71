#include "mas/fleet/testing/fakes.h"

#include <filesystem>

#include "mas/resource/store.h"

namespace grid::mas::fleet::testing {

using runtime::InstanceState;
using runtime::InstanceStatus;

namespace {

// The runtime's naming rule (runtime.h), checked here so the fake refuses what the real
// runtime refuses.
std::string NameError(const std::string& name) {
  if (name.empty() || name.size() > runtime::kMaxInstanceNameBytes) return "bad length";
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '/';
    if (!ok) return "bad character";
  }
  if (name.front() == '/' || name.back() == '/' || name.find("..") != std::string::npos) {
    return "bad path";
  }
  return "";
}

}  // namespace

Status FakeRuntime::Start(const runtime::InstanceSpec& spec) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string e = NameError(spec.name);
  if (!e.empty()) return InvalidArgument("instance name " + spec.name + ": " + e);
  if (!missing_version_.empty() && spec.version == missing_version_) {
    return NotFound("no binary for " + spec.engine + "@" + spec.version);
  }
  auto it = instances_.find(spec.name);
  if (it != instances_.end() && (it->second.state == InstanceState::kRunning ||
                                 it->second.state == InstanceState::kBackoff)) {
    if (it->second.spec == spec) return Status();
    return FailedPrecondition(spec.name + " runs with another spec");
  }
  InstanceStatus& st = instances_[spec.name];
  st.spec = spec;
  st.state = InstanceState::kRunning;
  st.pid = next_pid_++;
  calls_.push_back("Start " + spec.name);
  return Status();
}

Status FakeRuntime::Stop(const std::string& name, std::chrono::milliseconds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return NotFound(name);
  it->second.state = InstanceState::kStopped;
  it->second.pid = 0;
  calls_.push_back("Stop " + name);
  return Status();
}

Status FakeRuntime::Reload(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end() || it->second.state != InstanceState::kRunning) {
    return FailedPrecondition(name + " is not running");
  }
  ++reloads_[name];
  calls_.push_back("Reload " + name);
  return Status();
}

Status FakeRuntime::Remove(const std::string& name, bool wipe_data) {
  std::lock_guard<std::mutex> lock(mu_);
  instances_.erase(name);
  if (wipe_data) {
    std::error_code ec;
    std::filesystem::remove_all(root_ + "/" + name, ec);
  }
  calls_.push_back("Remove " + name);
  return Status();
}

Status FakeRuntime::WipeData(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  std::filesystem::remove_all(root_ + "/" + name, ec);
  return Status();
}

Result<InstanceStatus> FakeRuntime::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return NotFound(name);
  return it->second;
}

std::vector<InstanceStatus> FakeRuntime::List(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InstanceStatus> out;
  for (const auto& [name, st] : instances_) {
    if (name.rfind(prefix, 0) == 0) out.push_back(st);
  }
  return out;
}

Result<int> FakeRuntime::AllocatePort() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_port_++;
}

void FakeRuntime::SetMissingVersion(std::string version) {
  std::lock_guard<std::mutex> lock(mu_);
  missing_version_ = std::move(version);
}

void FakeRuntime::Crash(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return;
  it->second.state = InstanceState::kBackoff;
  it->second.pid = 0;
  ++it->second.restarts;
}

int FakeRuntime::reloads(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = reloads_.find(name);
  return it == reloads_.end() ? 0 : it->second;
}

std::vector<std::string> FakeRuntime::Names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, st] : instances_) out.push_back(name);
  return out;
}

std::vector<std::string> FakeRuntime::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

Result<Resource> FakeFleetStore::Get(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return NotFound("RouterFleet \"" + name + "\" not found");
  return it->second;
}

Result<Resource> FakeFleetStore::UpdateStatus(const std::string& name, const ResourceStatus& status,
                                              const std::string& resource_version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return NotFound("RouterFleet \"" + name + "\" not found");
  Resource& r = it->second;
  if (conflict_ || r.metadata.resource_version != resource_version) {
    conflict_ = false;
    return ConflictError(r.Describe(), resource_version, r.metadata.resource_version);
  }
  GRID_RETURN_IF_ERROR(ValidateStatus(status));
  if (r.status == status) return r;
  r.status = status;
  r.metadata.resource_version = std::to_string(++revision_);
  return r;
}

void FakeFleetStore::Put(Resource resource) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(resource.metadata.name);
  if (it == objects_.end()) {
    resource.metadata.generation = 1;
    resource.status = ResourceStatus{};
  } else {
    resource.metadata.generation =
        it->second.metadata.generation + (SpecChanged(it->second.spec, resource.spec) ? 1 : 0);
    resource.status = it->second.status;
  }
  resource.metadata.resource_version = std::to_string(++revision_);
  objects_[resource.metadata.name] = std::move(resource);
}

void FakeFleetStore::Erase(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  objects_.erase(name);
}

void FakeFleetStore::InjectConflict() {
  std::lock_guard<std::mutex> lock(mu_);
  conflict_ = true;
}

Resource FakeFleetStore::Current(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.at(name);
}

}  // namespace grid::mas::fleet::testing
