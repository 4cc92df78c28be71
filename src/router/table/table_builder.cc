#include "router/table/table_builder.h"

#include "router/table/limits.h"
#include "router/table/names.h"

namespace grid::router::table {
namespace {

constexpr std::string_view kRouterKey = "router";
constexpr std::string_view kCellsDir = "cells/";
constexpr std::string_view kTenantsDir = "tenants/";
constexpr size_t kKeyShownBytes = 80;  // a long key is cut in messages

std::string ShowKey(std::string_view key) {
  if (key.size() <= kKeyShownBytes) return std::string(key);
  return std::string(key.substr(0, kKeyShownBytes)) + "...";
}

Status KeyError(std::string_view key, std::string_view message) {
  return InvalidArgument(ShowKey(key) + ": " + std::string(message));
}

Status CheckPrefix(const std::string& prefix) {
  if (prefix.empty() || prefix.back() == '/') {
    return InvalidArgument("table prefix \"" + prefix + "\" must be non-empty without a '/' at the end");
  }
  return Status::Ok();
}

}  // namespace

std::shared_ptr<const RouterIndex> MakeRouterIndex(RouterSettings settings) {
  auto index = std::make_shared<RouterIndex>();
  for (const TenantKeySource& s : settings.sources) {
    index->wildcard_suffixes.emplace_back(s.wildcard_suffixes.begin(), s.wildcard_suffixes.end());
  }
  index->settings = std::move(settings);
  return index;
}

Result<std::shared_ptr<const RouteTable>> BuildTable(const TableSource& kvs, int64_t revision) {
  TableBuilder builder(kvs.prefix);
  return builder.Reset(kvs, revision);
}

TableBuilder::TableBuilder(std::string prefix)
    : prefix_status_(CheckPrefix(prefix)), default_router_(MakeRouterIndex(DefaultRouterSettings())) {
  source_.prefix = std::move(prefix);
}

std::string TableBuilder::CellKey(std::string_view cell) const {
  return source_.prefix + "/" + std::string(kCellsDir) + std::string(cell);
}

std::string TableBuilder::TenantKey(std::string_view tenant) const {
  return source_.prefix + "/" + std::string(kTenantsDir) + std::string(tenant);
}

Status TableBuilder::CheckInPrefix(const std::string& key) const {
  GRID_RETURN_IF_ERROR(prefix_status_);
  if (key.size() <= source_.prefix.size() || !key.starts_with(source_.prefix) ||
      key[source_.prefix.size()] != '/') {
    return InvalidArgument("key \"" + ShowKey(key) + "\" is outside the table prefix \"" +
                           source_.prefix + "/\"");
  }
  return Status::Ok();
}

Result<std::shared_ptr<const RouteTable>> TableBuilder::Reset(const TableSource& source,
                                                              int64_t revision) {
  GRID_RETURN_IF_ERROR(prefix_status_);
  if (source.prefix != source_.prefix) {
    return InvalidArgument("source prefix \"" + source.prefix + "\" differs from the table's \"" +
                           source_.prefix + "\"");
  }
  for (const auto& [key, value] : source.kvs) GRID_RETURN_IF_ERROR(CheckInPrefix(key));
  errors_.clear();
  router_.reset();
  cells_.clear();
  tenants_.clear();
  tenant_index_.reset();
  source_.kvs = source.kvs;
  for (const auto& [key, value] : source_.kvs) Parse(key, value);
  return Assemble(revision);
}

Result<std::shared_ptr<const RouteTable>> TableBuilder::Apply(std::span<const KeyChange> delta,
                                                              int64_t revision) {
  for (const KeyChange& c : delta) GRID_RETURN_IF_ERROR(CheckInPrefix(c.key));
  // One map lookup per key and table (a move of 10,000 tenants is 10,000 changes).
  for (const KeyChange& c : delta) {
    auto it = source_.kvs.lower_bound(c.key);
    const bool exists = it != source_.kvs.end() && it->first == c.key;
    if (c.op == KeyChange::Op::kDelete) {
      if (!exists) continue;
      source_.kvs.erase(it);
      Forget(c.key);
      continue;
    }
    if (exists) {
      if (it->second == c.value) continue;  // nothing changed
      it->second = c.value;
    } else {
      source_.kvs.emplace_hint(it, c.key, c.value);
    }
    if (!errors_.empty()) errors_.erase(c.key);
    Parse(c.key, c.value);
  }
  return Assemble(revision);
}

void TableBuilder::Forget(const std::string& key) {
  if (!errors_.empty()) errors_.erase(key);
  DropParsed(key);
}

void TableBuilder::DropParsed(const std::string& key) {
  const std::string_view rest = std::string_view(key).substr(source_.prefix.size() + 1);
  if (rest == kRouterKey) {
    router_.reset();
  } else if (rest.starts_with(kCellsDir)) {
    if (auto it = cells_.find(rest.substr(kCellsDir.size())); it != cells_.end()) cells_.erase(it);
  } else if (rest.starts_with(kTenantsDir)) {
    if (auto it = tenants_.find(rest.substr(kTenantsDir.size())); it != tenants_.end()) {
      tenants_.erase(it);
      tenant_index_.reset();
    }
  }
}

// Records the parsed key in router_, cells_ or tenants_, or its error in errors_.
void TableBuilder::Parse(const std::string& key, const std::string& value) {
  auto fail = [&](const Status& s) {
    errors_.insert_or_assign(key, s.WithContext(ShowKey(key)));
    DropParsed(key);
  };
  if (key.size() > kMaxKeyBytes) {
    fail(InvalidArgument("key is " + std::to_string(key.size()) + " bytes, limit " +
                         std::to_string(kMaxKeyBytes)));
    return;
  }
  if (value.size() > kMaxValueBytes) {
    fail(InvalidArgument("value is " + std::to_string(value.size()) + " bytes, limit " +
                         std::to_string(kMaxValueBytes)));
    return;
  }
  const std::string_view rest = std::string_view(key).substr(source_.prefix.size() + 1);
  enum { kRouter, kCell, kTenant } kind;
  std::string_view name;
  if (rest == kRouterKey) {
    kind = kRouter;
  } else if (rest.starts_with(kCellsDir)) {
    kind = kCell;
    name = rest.substr(kCellsDir.size());
  } else if (rest.starts_with(kTenantsDir)) {
    kind = kTenant;
    name = rest.substr(kTenantsDir.size());
  } else {
    fail(InvalidArgument("unknown key (expected router, cells/<cell> or tenants/<tenant> under " +
                         source_.prefix + "/)"));
    return;
  }
  if (kind != kRouter && !IsName(name)) {
    fail(InvalidArgument(std::string(kind == kCell ? "cell" : "tenant") + " name \"" +
                         ShowKey(name) + "\" must be a lowercase DNS label (a-z, 0-9, '-', 1.." +
                         std::to_string(kMaxNameBytes) + " bytes)"));
    return;
  }
  Result<Json> json = ParseJson(value);
  if (!json.ok()) {
    fail(json.status());
    return;
  }
  switch (kind) {
    case kRouter: {
      Result<RouterSettings> settings = ParseRouterSettings(*json);
      if (!settings.ok()) return fail(settings.status());
      router_ = MakeRouterIndex(std::move(settings).value());
      return;
    }
    case kCell: {
      Result<CellConfig> cell = ParseCellConfig(*json);
      if (!cell.ok()) return fail(cell.status());
      auto route = std::make_shared<const CellRoute>(std::string(name), std::move(cell).value());
      if (auto it = cells_.lower_bound(name); it != cells_.end() && it->first == name) {
        it->second = std::move(route);
      } else {
        cells_.emplace_hint(it, std::string(name), std::move(route));
      }
      return;
    }
    case kTenant: {
      Result<TenantConfig> tenant = ParseTenantConfig(*json);
      if (!tenant.ok()) return fail(tenant.status());
      auto route = std::make_shared<TenantRoute>();
      route->name = std::string(name);
      route->config = std::move(tenant).value();
      if (auto it = tenants_.lower_bound(name); it != tenants_.end() && it->first == name) {
        it->second = std::move(route);
      } else {
        tenants_.emplace_hint(it, std::string(name), std::move(route));
      }
      tenant_index_.reset();
      return;
    }
  }
}

Result<std::shared_ptr<const RouteTable>> TableBuilder::Assemble(int64_t revision) {
  GRID_RETURN_IF_ERROR(prefix_status_);
  if (!errors_.empty()) {
    Status first = errors_.begin()->second;
    if (errors_.size() == 1) return first;
    return Status(first.code(), first.message() + " (and " + std::to_string(errors_.size() - 1) +
                                    " more keys with errors)");
  }
  if (cells_.size() > kMaxCells) {
    return KeyError(source_.prefix + "/cells", std::to_string(cells_.size()) +
                                                   " cells, limit " + std::to_string(kMaxCells));
  }
  if (tenants_.size() > kMaxTenants) {
    return KeyError(source_.prefix + "/tenants", std::to_string(tenants_.size()) +
                                                     " tenants, limit " + std::to_string(kMaxTenants));
  }

  // Cross-references.
  std::shared_ptr<const RouterIndex> router = router_ ? router_ : default_router_;
  const std::string& default_cell = router->settings.unknown_tenant.cell;
  if (!default_cell.empty() && !cells_.contains(default_cell)) {
    return KeyError(source_.prefix + "/router",
                    "unknown_tenant.cell: cell \"" + default_cell + "\" does not exist");
  }
  for (const auto& [name, cell] : cells_) {
    const std::string& fallback = cell->config().fallback.cell;
    if (fallback.empty()) continue;
    if (fallback == name) return KeyError(CellKey(name), "fallback.cell: must name another cell");
    if (!cells_.contains(fallback)) {
      return KeyError(CellKey(name), "fallback.cell: cell \"" + fallback + "\" does not exist");
    }
  }
  bool host_source = false;
  for (const TenantKeySource& s : router->settings.sources) {
    host_source = host_source || s.type == KeySourceType::kHost;
  }
  for (const auto& [name, tenant] : tenants_) {
    if (!cells_.contains(tenant->config.cell)) {
      return KeyError(TenantKey(name), "cell: cell \"" + tenant->config.cell + "\" does not exist");
    }
    if (!tenant->config.hosts.empty() && !host_source) {
      return KeyError(TenantKey(name), "hosts: the router has no host tenant key source");
    }
  }
  if (tenant_index_ == nullptr) {
    auto index = std::make_shared<TenantIndex>();
    index->by_name.reserve(tenants_.size());
    for (const auto& [name, tenant] : tenants_) {
      index->by_name.emplace(name, tenant);
      for (size_t i = 0; i < tenant->config.hosts.size(); ++i) {
        auto [it, inserted] = index->by_host.emplace(tenant->config.hosts[i], tenant.get());
        if (!inserted) {
          return KeyError(TenantKey(name), IndexPath("hosts", i) + ": \"" + it->first +
                                               "\" already names tenant \"" + it->second->name + "\"");
        }
      }
    }
    tenant_index_ = std::move(index);
  }

  RouteTable::Parts parts;
  parts.revision = revision;
  parts.router = std::move(router);
  parts.tenants = tenant_index_;
  parts.cells.reserve(cells_.size());
  for (const auto& [name, cell] : cells_) parts.cells.emplace(name, cell);
  return std::shared_ptr<const RouteTable>(std::make_shared<const RouteTable>(std::move(parts)));
}

}  // namespace grid::router::table
