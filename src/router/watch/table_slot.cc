#include "router/watch/table_slot.h"

#include <utility>

#include "common/check.h"

namespace grid::router::watch {

void TableSlot::Publish(TablePtr table) {
  GRID_CHECK(table != nullptr) << "publishing no table";
  TablePtr dropped;  // released outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    dropped = std::exchange(retired_, std::exchange(current_, std::move(table)));
    generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
}

TablePtr TableSlot::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

TablePtr TableSlot::CurrentWithGeneration(uint64_t* generation) const {
  std::lock_guard<std::mutex> lock(mu_);
  *generation = generation_.load(std::memory_order_relaxed);
  return current_;
}

}  // namespace grid::router::watch
