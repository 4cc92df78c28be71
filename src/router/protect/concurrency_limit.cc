#include "router/protect/concurrency_limit.h"

#include <string>
#include <string_view>
#include <utility>

#include "common/check.h"
#include "router/protect/limits.h"

namespace grid::router::protect {

ConcurrencyLimit::ConcurrencyLimit(
    const table::CellCaps& caps, std::shared_ptr<LimitCounters> cell,
    std::vector<std::vector<std::shared_ptr<LimitCounters>>> backends)
    : caps_(caps), cell_(std::move(cell)), backends_(std::move(backends)) {
  GRID_CHECK(caps.max_connections >= 1 && caps.max_connections <= kMaxConcurrencyCap);
  GRID_CHECK(caps.max_connections_per_backend >= 1 &&
             caps.max_connections_per_backend <= kMaxConcurrencyCap);
  GRID_CHECK_LE(caps.max_pending_requests, kMaxConcurrencyCap);
  GRID_CHECK_LE(caps.max_pending_requests_per_backend, kMaxConcurrencyCap);
  GRID_CHECK(cell_ != nullptr);
  for (const auto& group : backends_) {
    for (const auto& b : group) GRID_CHECK(b != nullptr);
  }
}

const std::shared_ptr<LimitCounters>& ConcurrencyLimit::backend_counters(size_t group,
                                                                         size_t backend) const {
  GRID_CHECK_LT(group, backends_.size());
  GRID_CHECK_LT(backend, backends_[group].size());
  return backends_[group][backend];
}

Slot ConcurrencyLimit::TryAcquire(SlotKind kind, size_t group, size_t backend) const {
  LimitCounters& b = *backend_counters(group, backend);
  const bool connection = kind == SlotKind::kConnection;
  std::atomic<uint32_t>& cell_counter = connection ? cell_->connections : cell_->pending;
  std::atomic<uint32_t>& backend_counter = connection ? b.connections : b.pending;
  if (!TryIncrement(cell_counter,
                    connection ? caps_.max_connections : caps_.max_pending_requests)) {
    return Slot(connection ? Refusal::kCellConnections : Refusal::kCellPending);
  }
  if (!TryIncrement(backend_counter, connection ? caps_.max_connections_per_backend
                                                : caps_.max_pending_requests_per_backend)) {
    Slot(&cell_counter, nullptr).Release();  // gives the cell's unit back
    return Slot(connection ? Refusal::kBackendConnections : Refusal::kBackendPending);
  }
  return Slot(&cell_counter, &backend_counter);
}

uint32_t ConcurrencyLimit::cell_connections() const {
  return cell_->connections.load(std::memory_order_relaxed);
}
uint32_t ConcurrencyLimit::cell_pending() const {
  return cell_->pending.load(std::memory_order_relaxed);
}
uint32_t ConcurrencyLimit::connections(size_t group, size_t backend) const {
  return backend_counters(group, backend)->connections.load(std::memory_order_relaxed);
}
uint32_t ConcurrencyLimit::pending(size_t group, size_t backend) const {
  return backend_counters(group, backend)->pending.load(std::memory_order_relaxed);
}

bool ConcurrencyLimit::BackendFull(size_t group, size_t backend, bool needs_connection) const {
  const LimitCounters& b = *backend_counters(group, backend);
  if (b.pending.load(std::memory_order_relaxed) >= caps_.max_pending_requests_per_backend) {
    return true;
  }
  return needs_connection &&
         b.connections.load(std::memory_order_relaxed) >= caps_.max_connections_per_backend;
}

void ConcurrencyLimit::FillConnections(size_t group, std::span<balance::BackendState> out) const {
  GRID_CHECK_LT(group, backends_.size());
  GRID_CHECK_EQ(out.size(), backends_[group].size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].active_connections = backends_[group][i]->connections.load(std::memory_order_relaxed);
  }
}

std::shared_ptr<const ConcurrencyIndex> ConcurrencyIndex::Build(
    std::shared_ptr<const table::RouteTable> table, const ConcurrencyIndex* previous) {
  GRID_CHECK(table != nullptr);
  std::unordered_map<std::string_view, const ConcurrencyLimit*> old_by_name;
  std::unordered_map<std::string_view, const table::CellRoute*> old_cell_by_name;
  if (previous != nullptr) {
    for (const auto& [cell, limits] : previous->by_cell_) {
      old_by_name.emplace(cell->name(), limits.get());
      old_cell_by_name.emplace(cell->name(), cell);
    }
  }
  auto index = std::shared_ptr<ConcurrencyIndex>(new ConcurrencyIndex());
  for (const auto& [name, cell] : table->parts().cells) {
    if (previous != nullptr) {
      auto same = previous->by_cell_.find(cell.get());
      if (same != previous->by_cell_.end()) {
        index->by_cell_.emplace(cell.get(), same->second);
        continue;
      }
    }
    // Counters by address from the previous version of this cell, if any.
    std::shared_ptr<LimitCounters> cell_counters;
    std::unordered_map<std::string_view, std::shared_ptr<LimitCounters>> by_address;
    auto old = old_by_name.find(cell->name());
    if (old != old_by_name.end()) {
      cell_counters = old->second->cell_counters();
      const table::CellRoute& old_cell = *old_cell_by_name.at(cell->name());
      for (size_t g = 0; g < old_cell.group_count(); ++g) {
        const auto backends = old_cell.group(g).backends();
        for (size_t i = 0; i < backends.size(); ++i) {
          by_address.emplace(backends[i].address, old->second->backend_counters(g, i));
        }
      }
    } else {
      cell_counters = std::make_shared<LimitCounters>();
    }
    std::vector<std::vector<std::shared_ptr<LimitCounters>>> backends(cell->group_count());
    for (size_t g = 0; g < cell->group_count(); ++g) {
      for (const auto& spec : cell->group(g).backends()) {
        std::shared_ptr<LimitCounters>& counters = by_address[spec.address];
        if (counters == nullptr) counters = std::make_shared<LimitCounters>();
        backends[g].push_back(counters);
      }
    }
    index->by_cell_.emplace(
        cell.get(), std::make_shared<const ConcurrencyLimit>(
                        cell->config().caps, std::move(cell_counters), std::move(backends)));
  }
  index->table_ = std::move(table);
  return index;
}

const ConcurrencyLimit* ConcurrencyIndex::Find(const table::CellRoute& cell) const {
  auto it = by_cell_.find(&cell);
  return it == by_cell_.end() ? nullptr : it->second.get();
}

}  // namespace grid::router::protect
