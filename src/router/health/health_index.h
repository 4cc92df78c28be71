// The health state of every backend group of one RouteTable, and how it carries over when the
// table changes. The proxy publishes the index next to the table it was built from; loops look
// a group up per request (Find) and read or report through its GroupHealth.
//
// Carry-over (HealthIndex::Build with the previous index):
// - a group of a cell the previous table had as the very same CellRoute object (TableBuilder
//   keeps unchanged cells) keeps its GroupHealth object: nothing is reset;
// - a group of a changed cell that has the same cell and group name gets new state, copied per
//   backend address from the old group: the active bit when both configurations check actively,
//   the ejection (its end and count) when both detect outliers. Consecutive counts restart;
// - anything else starts healthy and not ejected.
//
// Threading: an index is immutable once built; Find and everything a GroupHealth offers may be
// called from any thread. Build runs on one thread (the one that swaps tables).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "router/balance/balancer.h"
#include "router/health/health_table.h"
#include "router/health/outlier_detector.h"
#include "router/table/route_table.h"

namespace grid::router::health {

// One group's state: the table every loop reads and the detector every loop reports to.
class GroupHealth {
 public:
  GroupHealth(size_t backends, const table::OutlierConfig& outlier);
  GroupHealth(const GroupHealth&) = delete;
  GroupHealth& operator=(const GroupHealth&) = delete;

  // Sets out[i].healthy for a pick; see HealthTable::Fill.
  void Fill(std::span<balance::BackendState> out, TimePoint now) const { table_->Fill(out, now); }
  // Reports a request's outcome; true when it ejected the backend. See OutlierDetector.
  bool Record(size_t backend, PassiveOutcome outcome, TimePoint now) {
    return outlier_.Record(backend, outcome, now);
  }

  HealthTable& table() { return *table_; }
  const HealthTable& table() const { return *table_; }
  const std::shared_ptr<HealthTable>& shared_table() const { return table_; }
  OutlierDetector& outlier() { return outlier_; }
  const OutlierDetector& outlier() const { return outlier_; }

 private:
  std::shared_ptr<HealthTable> table_;  // shared with the group's checker
  OutlierDetector outlier_;
};

class HealthIndex {
 public:
  struct Entry {
    const table::CellRoute* cell = nullptr;
    size_t group_index = 0;
    std::shared_ptr<GroupHealth> health;
    bool reused = false;  // the same GroupHealth object as in the previous index
  };

  // REQUIRES: table != nullptr. `previous` may be null (the first table).
  static std::shared_ptr<const HealthIndex> Build(std::shared_ptr<const table::RouteTable> table,
                                                  const HealthIndex* previous);

  // The group's state; nullptr when the group is not part of this index's table.
  GroupHealth* Find(const table::BackendGroup& group) const;

  const std::vector<Entry>& entries() const { return entries_; }
  const table::RouteTable& route_table() const { return *table_; }

 private:
  HealthIndex() = default;

  // Holds the table so the CellRoute and BackendGroup addresses used as keys stay unique.
  std::shared_ptr<const table::RouteTable> table_;
  std::vector<Entry> entries_;
  std::unordered_map<const table::BackendGroup*, size_t> by_group_;  // into entries_
};

}  // namespace grid::router::health
