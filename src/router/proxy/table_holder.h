// The current route table, shared by every loop. Set() publishes a new table (the reload or
// the store watcher); each loop keeps its own reference and checks a generation counter per
// request, so the hot path costs one relaxed atomic load, not a shared_ptr copy under a lock.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "router/table/route_table.h"

namespace grid::router::proxy {

class TableHolder {
 public:
  void Set(std::shared_ptr<const table::RouteTable> table) {
    std::lock_guard<std::mutex> lock(mu_);
    table_ = std::move(table);
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const table::RouteTable> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return table_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const table::RouteTable> table_;  // guarded by mu_
  std::atomic<uint64_t> generation_{0};
};

// One loop's view of a TableHolder: refreshes its reference when the generation moved.
class TableCache {
 public:
  explicit TableCache(const TableHolder* holder) : holder_(holder) {}
  // nullptr until a table was set.
  const std::shared_ptr<const table::RouteTable>& Current() {
    const uint64_t g = holder_->generation();
    if (g != generation_) {
      table_ = holder_->Get();
      generation_ = g;
    }
    return table_;
  }

 private:
  const TableHolder* holder_;
  uint64_t generation_ = 0;
  std::shared_ptr<const table::RouteTable> table_;
};

}  // namespace grid::router::proxy
