// Caps on upstream concurrency per cell and per backend (the cell's `limits`): open connections
// and pending requests (requests waiting for a connection to a backend). A request or
// connection takes a Slot before it starts; an empty Slot is a refusal, answered with 503.
// A slot counts against both the cell's cap and the backend's; a refusal takes nothing.
//
// Counters are atomics shared by every loop thread; taking a slot is a compare-and-swap per
// counter (never above the cap: exactly at the cap is allowed, one more is refused), releasing
// is a decrement. No locks, no allocation. Under contention a refusal can be caused by a unit
// another thread is about to give back (it took the cell's unit, then found the backend full).
//
// Counters outlive configuration changes: ConcurrencyIndex::Build gives a changed cell the same
// counters by cell name and, per backend, by address (a backend listed in both groups of a cell
// has one counter), so slots taken under an older table still count and are released into the
// same counters. Caps are those of the table the caller routes with.
//
// Lifetime: a Slot points into counters that its ConcurrencyLimit (and any later one sharing
// them) keeps alive; hold the index (or the limit's shared_ptr) as long as the slot.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "router/balance/balancer.h"
#include "router/protect/limits.h"
#include "router/protect/slot.h"
#include "router/table/config.h"
#include "router/table/route_table.h"

namespace grid::router::protect {

enum class SlotKind : uint8_t { kConnection, kPendingRequest };

// The counts of one cell or one backend of a cell.
struct alignas(64) LimitCounters {
  std::atomic<uint32_t> connections{0};
  std::atomic<uint32_t> pending{0};
};

// The concurrency caps of one cell, over its counters. Any thread.
class ConcurrencyLimit {
 public:
  // `backends[g][i]`: the counters of backend i of group g.
  // REQUIRES: caps within kMaxConcurrencyCap; connections caps >= 1; no null counters.
  ConcurrencyLimit(const table::CellCaps& caps, std::shared_ptr<LimitCounters> cell,
                   std::vector<std::vector<std::shared_ptr<LimitCounters>>> backends);

  // Takes a connection or pending-request slot on backend `backend` of group `group`.
  Slot TryAcquire(SlotKind kind, size_t group, size_t backend) const;

  uint32_t cell_connections() const;
  uint32_t cell_pending() const;
  uint32_t connections(size_t group, size_t backend) const;
  uint32_t pending(size_t group, size_t backend) const;

  // Backend `backend` of group `group` is at its pending-request cap, or at its connection cap
  // when `needs_connection` (no idle pooled connection to it): a request sent there now would
  // be refused.
  bool BackendFull(size_t group, size_t backend, bool needs_connection) const;

  // out[i].active_connections = connections(group, i), for least_conn and p2c picks.
  // REQUIRES: out.size() == the group's backend count.
  void FillConnections(size_t group, std::span<balance::BackendState> out) const;

  const table::CellCaps& caps() const { return caps_; }
  const std::shared_ptr<LimitCounters>& cell_counters() const { return cell_; }
  const std::shared_ptr<LimitCounters>& backend_counters(size_t group, size_t backend) const;

 private:
  const table::CellCaps caps_;
  const std::shared_ptr<LimitCounters> cell_;
  const std::vector<std::vector<std::shared_ptr<LimitCounters>>> backends_;
};

// The ConcurrencyLimit of every cell of one RouteTable. Immutable once built; Find from any
// thread.
class ConcurrencyIndex {
 public:
  // Reuses the previous ConcurrencyLimit for the same CellRoute object, and the counters by cell
  // name and backend address for a changed cell. REQUIRES: table != nullptr.
  static std::shared_ptr<const ConcurrencyIndex> Build(
      std::shared_ptr<const table::RouteTable> table, const ConcurrencyIndex* previous);

  // nullptr when the cell is not part of this index's table.
  const ConcurrencyLimit* Find(const table::CellRoute& cell) const;
  size_t size() const { return by_cell_.size(); }

 private:
  ConcurrencyIndex() = default;
  // Holds the table so the CellRoute addresses used as keys stay unique.
  std::shared_ptr<const table::RouteTable> table_;
  std::unordered_map<const table::CellRoute*, std::shared_ptr<const ConcurrencyLimit>> by_cell_;
};

}  // namespace grid::router::protect
