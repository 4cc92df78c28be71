// TableSlot: the one place the serving RouteTable lives. The watcher thread publishes a new
// table; the proxy's threads read it.
//
//   Current()       copies the shared_ptr under a mutex: about one uncontended lock and one
//                   atomic increment of the table's reference count (tens of ns; the count's
//                   cache line is shared by every thread that holds the same table).
//   TableReader     one per proxy thread: Get() costs one acquire load of the slot's
//                   generation counter (a line written only at a swap, so it stays in every
//                   reader's cache) and returns the reader's cached pointer; the mutex is
//                   taken once per swap per reader. No write to shared memory per request.
//
// New requests see a new table as soon as Publish() returns; a request that started with the
// previous table keeps it for as long as it holds the shared_ptr (copy it out of the reader
// when the request outlives the reader's next Get()).
//
// The slot keeps the previous table until the next Publish(), so the last reference to a
// retired table is usually dropped by the publishing thread rather than by a proxy thread
// in the middle of a request (a reader idle across two swaps still drops its own).
//
// Thread-safety: Publish() from one thread at a time; Current(), generation() and readers
// from any thread. A TableReader is used by one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "router/table/route_table.h"

namespace grid::router::watch {

using TablePtr = std::shared_ptr<const table::RouteTable>;

class TableSlot {
 public:
  TableSlot() = default;
  TableSlot(const TableSlot&) = delete;
  TableSlot& operator=(const TableSlot&) = delete;

  // Makes `table` the serving one. REQUIRES: table != nullptr.
  void Publish(TablePtr table);
  // The serving table; nullptr before the first Publish().
  TablePtr Current() const;
  // Incremented by every Publish(); 0 before the first.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  friend class TableReader;
  // The table and the generation it was published as, read together.
  TablePtr CurrentWithGeneration(uint64_t* generation) const;

  mutable std::mutex mu_;
  TablePtr current_;  // guarded by mu_
  TablePtr retired_;  // guarded by mu_: the previous table, dropped at the next Publish
  std::atomic<uint64_t> generation_{0};  // written under mu_
};

class TableReader {
 public:
  // REQUIRES: `slot` outlives the reader.
  explicit TableReader(const TableSlot& slot) : slot_(&slot) {}

  // The serving table (nullptr before the first Publish). The reference is valid until the
  // next Get() on this reader.
  const TablePtr& Get() {
    if (slot_->generation() != generation_) cached_ = slot_->CurrentWithGeneration(&generation_);
    return cached_;
  }

 private:
  const TableSlot* slot_;
  uint64_t generation_ = 0;
  TablePtr cached_;
};

}  // namespace grid::router::watch
