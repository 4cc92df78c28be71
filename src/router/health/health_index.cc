#include "router/health/health_index.h"

#include <string>
#include <string_view>
#include <utility>

#include "common/check.h"

namespace grid::router::health {
namespace {

bool ChecksActively(const table::CellConfig& config) {
  return config.health_check.type != table::HealthCheckType::kNone;
}

// Copies each backend's state from `old` (the same group of the cell's previous config) by
// address.
void CarryOver(const table::CellRoute& old_cell, const table::BackendGroup& old_group,
               const GroupHealth& old_health, const table::CellRoute& cell,
               const table::BackendGroup& group, GroupHealth& health) {
  const bool active = ChecksActively(old_cell.config()) && ChecksActively(cell.config());
  const bool outlier = old_cell.config().outlier.enabled && cell.config().outlier.enabled;
  if (!active && !outlier) return;
  std::unordered_map<std::string_view, size_t> old_index;
  for (size_t j = 0; j < old_group.backends().size(); ++j) {
    old_index.emplace(old_group.backends()[j].address, j);
  }
  for (size_t i = 0; i < group.backends().size(); ++i) {
    auto it = old_index.find(group.backends()[i].address);
    if (it == old_index.end()) continue;
    if (active) health.table().SetActiveHealthy(i, old_health.table().ActiveHealthy(it->second));
    if (outlier) health.outlier().Restore(i, old_health.outlier().history(it->second));
  }
}

}  // namespace

GroupHealth::GroupHealth(size_t backends, const table::OutlierConfig& outlier)
    : table_(std::make_shared<HealthTable>(backends)), outlier_(outlier, *table_) {}

std::shared_ptr<const HealthIndex> HealthIndex::Build(
    std::shared_ptr<const table::RouteTable> table, const HealthIndex* previous) {
  GRID_CHECK(table != nullptr);
  // The previous entries by cell object, and by "cell\0group" name.
  std::unordered_map<const table::CellRoute*, std::vector<const Entry*>> old_by_cell;
  std::unordered_map<std::string, const Entry*> old_by_name;
  if (previous != nullptr) {
    for (const Entry& e : previous->entries_) {
      old_by_cell[e.cell].push_back(&e);
      old_by_name.emplace(e.cell->name() + '\0' + e.cell->group(e.group_index).name(), &e);
    }
  }

  auto index = std::shared_ptr<HealthIndex>(new HealthIndex());
  for (const auto& [name, cell] : table->parts().cells) {
    auto same_cell = old_by_cell.find(cell.get());
    for (size_t g = 0; g < cell->group_count(); ++g) {
      const table::BackendGroup& group = cell->group(g);
      Entry entry{cell.get(), g, nullptr, false};
      if (same_cell != old_by_cell.end()) {
        for (const Entry* old : same_cell->second) {
          if (old->group_index == g) entry.health = old->health;
        }
        GRID_CHECK(entry.health != nullptr) << "cell " << name << " lost group " << g;
        entry.reused = true;
      } else {
        entry.health =
            std::make_shared<GroupHealth>(group.backends().size(), cell->config().outlier);
        auto old = old_by_name.find(cell->name() + '\0' + group.name());
        if (old != old_by_name.end()) {
          const Entry& o = *old->second;
          CarryOver(*o.cell, o.cell->group(o.group_index), *o.health, *cell, group, *entry.health);
        }
      }
      index->by_group_.emplace(&group, index->entries_.size());
      index->entries_.push_back(std::move(entry));
    }
  }
  index->table_ = std::move(table);
  return index;
}

GroupHealth* HealthIndex::Find(const table::BackendGroup& group) const {
  auto it = by_group_.find(&group);
  return it == by_group_.end() ? nullptr : entries_[it->second].health.get();
}

}  // namespace grid::router::health
