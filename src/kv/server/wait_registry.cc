#include "kv/server/wait_registry.h"

#include "common/check.h"

namespace grid::kv {

void WaitRegistry::Register(uint64_t id, ApplyCallback done) {
  std::lock_guard lock(mu_);
  bool inserted = proposals_.emplace(id, std::move(done)).second;
  GRID_CHECK(inserted) << "request id " << id << " registered twice";
}

ApplyCallback WaitRegistry::Take(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = proposals_.find(id);
  if (it == proposals_.end()) return nullptr;
  ApplyCallback done = std::move(it->second);
  proposals_.erase(it);
  return done;
}

void WaitRegistry::AddReadWaiter(uint64_t index, ReadyCallback ready) {
  std::lock_guard lock(mu_);
  reads_.emplace(index, std::move(ready));
}

std::vector<ReadyCallback> WaitRegistry::TakeReadWaiters(uint64_t applied_index) {
  std::vector<ReadyCallback> ready;
  std::lock_guard lock(mu_);
  auto end = reads_.upper_bound(applied_index);
  for (auto it = reads_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
  reads_.erase(reads_.begin(), end);
  return ready;
}

void WaitRegistry::TakeAll(std::vector<ApplyCallback>* proposals,
                           std::vector<ReadyCallback>* reads) {
  std::lock_guard lock(mu_);
  for (auto& [id, done] : proposals_) proposals->push_back(std::move(done));
  for (auto& [index, ready] : reads_) reads->push_back(std::move(ready));
  proposals_.clear();
  reads_.clear();
}

size_t WaitRegistry::pending_proposals() const {
  std::lock_guard lock(mu_);
  return proposals_.size();
}

}  // namespace grid::kv
