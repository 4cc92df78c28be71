// MemStore: KVCluster resources in memory with the store's compare-and-swap on
// resourceVersion, for reconciler tests; MemStoreAccess is the reconciler's view of it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "mas/kvcluster/reconciler.h"
#include "mas/resource/store.h"

namespace grid::mas::kvcluster::testing {

// KVCluster resources in memory, with the store's CAS on resourceVersion.
class MemStore {
 public:
  void Put(Resource r) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(r.metadata.name);
    r.metadata.generation = it == objects_.end() ? 1 : it->second.metadata.generation + 1;
    if (it != objects_.end()) r.status = it->second.status;
    r.metadata.resource_version = std::to_string(++revision_);
    objects_[r.metadata.name] = std::move(r);
  }
  void Erase(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    objects_.erase(name);
  }
  void InjectConflicts(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    conflicts_ = n;
  }
  Result<Resource> Get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return NotFound("KVCluster \"" + name + "\" not found");
    return it->second;
  }
  Result<Resource> UpdateStatus(const std::string& name, const ResourceStatus& status,
                                const std::string& rv) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return NotFound("KVCluster \"" + name + "\" not found");
    if (conflicts_ > 0 || it->second.metadata.resource_version != rv) {
      if (conflicts_ > 0) --conflicts_;
      return ConflictError(it->second.Describe(), rv, it->second.metadata.resource_version);
    }
    GRID_RETURN_IF_ERROR(ValidateStatus(status));
    if (it->second.status == status) return it->second;  // as the store: no change, no write
    it->second.status = status;
    it->second.metadata.resource_version = std::to_string(++revision_);
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Resource> objects_;
  int64_t revision_ = 0;
  int conflicts_ = 0;
};

class MemStoreAccess final : public KVClusterStore {
 public:
  explicit MemStoreAccess(MemStore* s) : s_(s) {}
  Result<Resource> Get(const std::string& name) override { return s_->Get(name); }
  Result<Resource> UpdateStatus(const std::string& name, const ResourceStatus& status,
                                const std::string& rv) override {
    return s_->UpdateStatus(name, status, rv);
  }

 private:
  MemStore* const s_;
};

}  // namespace grid::mas::kvcluster::testing
