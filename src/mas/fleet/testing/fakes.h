// Test doubles for the RouterFleet reconciler: an in-memory Runtime (instances are records,
// no processes; data dirs are real directories under a root so the front's l4.yaml can be
// written and read back), a FleetStore over a map with compare-and-swap, and a readiness
// probe driven by a predicate.
//
// Thread-safety: every method takes the object's mutex.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mas/fleet/reconciler.h"
#include "mas/runtime/runtime.h"

namespace grid::mas::fleet::testing {

class FakeRuntime final : public runtime::Runtime {
 public:
  // `root`: the directory under which DataDir(name) = root/name.
  explicit FakeRuntime(std::string root) : root_(std::move(root)) {}

  Status Start(const runtime::InstanceSpec& spec) override;
  Status Stop(const std::string& name, std::chrono::milliseconds grace) override;
  Status Reload(const std::string& name) override;
  Status Remove(const std::string& name, bool wipe_data) override;
  Status WipeData(const std::string& name) override;
  Result<runtime::InstanceStatus> Get(const std::string& name) const override;
  std::vector<runtime::InstanceStatus> List(const std::string& prefix) const override;
  std::string DataDir(const std::string& name) const override { return root_ + "/" + name; }
  std::string LogPath(const std::string& name) const override { return DataDir(name) + ".log"; }
  Result<int> AllocatePort() override;
  std::string Host() const override { return "127.0.0.1"; }
  void SetActive(bool) override {}

  // Test controls and records.
  void Crash(const std::string& name);  // → kBackoff, as if the process died
  // Start of an instance at `version` fails with NotFound (no binary for it).
  void SetMissingVersion(std::string version);
  int reloads(const std::string& name) const;
  std::vector<std::string> Names() const;  // every known instance, in name order
  std::vector<std::string> calls() const;  // "Start rf/f/blue-0", "Reload ...", ...

 private:
  const std::string root_;
  mutable std::mutex mu_;
  std::map<std::string, runtime::InstanceStatus> instances_;
  std::map<std::string, int> reloads_;
  std::vector<std::string> calls_;
  std::string missing_version_;
  int next_port_ = 41000;
  int next_pid_ = 100;
};

// Resources by name; resourceVersion counts writes; UpdateStatus is compare-and-swap and
// skips a write that changes nothing (as ResourceStore does).
class FakeFleetStore final : public FleetStore {
 public:
  Result<Resource> Get(const std::string& name) override;
  Result<Resource> UpdateStatus(const std::string& name, const ResourceStatus& status,
                                const std::string& resource_version) override;

  // Creates or replaces the spec (generation + 1 when it changed), keeping the status.
  void Put(Resource resource);
  void Erase(const std::string& name);
  // The next UpdateStatus fails with a conflict (another writer won).
  void InjectConflict();
  Resource Current(const std::string& name);

 private:
  std::mutex mu_;
  std::map<std::string, Resource> objects_;
  int64_t revision_ = 1;
  bool conflict_ = false;
};

class FakeReadiness final : public ReadinessProbe {
 public:
  // `ready(admin_port)`; default: every port ready.
  explicit FakeReadiness(std::function<bool(int)> ready = nullptr) : ready_(std::move(ready)) {}
  bool Ready(const std::string&, int admin_port) override {
    std::lock_guard<std::mutex> lock(mu_);
    return !ready_ || ready_(admin_port);
  }
  void Set(std::function<bool(int)> ready) {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = std::move(ready);
  }

 private:
  std::mutex mu_;
  std::function<bool(int)> ready_;
};

}  // namespace grid::mas::fleet::testing
