// Builds RouteTables from the keys under the table's prefix, and rebuilds them cheaply from a
// watch delta. Layout of the keys (README.md has the JSON):
//
//   <prefix>/router            optional; tenant key sources, unknown tenants, timeouts, retries
//   <prefix>/cells/<cell>      one per cell
//   <prefix>/tenants/<tenant>  one per tenant
//
// Any other key under the prefix is refused. A table is built only from a source in which
// every key is valid and every cross-reference resolves; otherwise the result is an error
// naming the first bad key (in key order) and the field, and the caller keeps serving its
// previous table.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"
#include "router/table/route_table.h"

namespace grid::router::table {

// The keys under a prefix and their JSON values, as a range read of the store returns them.
struct TableSource {
  std::string prefix;  // e.g. "/grid/routes"; not empty, no '/' at the end
  std::map<std::string, std::string, std::less<>> kvs;  // full key -> value
};

// One event of a watch on the prefix.
struct KeyChange {
  enum class Op { kPut, kDelete };
  Op op = Op::kPut;
  std::string key;    // full key
  std::string value;  // kPut only
};

// Builds a table from a whole source. `revision` is the store revision the source was read
// at; the table reports it.
Result<std::shared_ptr<const RouteTable>> BuildTable(const TableSource& kvs, int64_t revision);

// Keeps the source and its parsed keys between builds, so a delta re-parses only the keys it
// touches and the new table shares every unchanged cell (and its balancer state) and, when no
// tenant changed, the tenant index with the previous table.
// Not thread-safe: one thread (the store watcher) drives a builder.
class TableBuilder {
 public:
  // REQUIRES: nothing; an invalid prefix makes every build fail with a message.
  explicit TableBuilder(std::string prefix);

  // Replaces the whole source (after a fresh range read, or when the watch was compacted).
  // Fails without changing anything when source.prefix differs or a key lies outside it.
  Result<std::shared_ptr<const RouteTable>> Reset(const TableSource& source, int64_t revision);

  // Applies a watch delta. The source follows the delta even when the resulting table is
  // invalid (the store has those keys whatever the router thinks of them), so a later delta
  // that repairs the keys yields a table. Fails without changing anything when a key lies
  // outside the prefix.
  Result<std::shared_ptr<const RouteTable>> Apply(std::span<const KeyChange> delta,
                                                  int64_t revision);

  const TableSource& source() const { return source_; }

 private:
  Status CheckInPrefix(const std::string& key) const;
  // Drops what is known of `key`: its error and its parsed entry.
  void Forget(const std::string& key);
  // Drops the parsed entry of `key` (router, cell or tenant), if any.
  void DropParsed(const std::string& key);
  // Records `key`'s parsed entry (replacing the old one), or its error (dropping the old entry).
  // REQUIRES: no error recorded for `key`.
  void Parse(const std::string& key, const std::string& value);
  Result<std::shared_ptr<const RouteTable>> Assemble(int64_t revision);
  std::string CellKey(std::string_view cell) const;
  std::string TenantKey(std::string_view tenant) const;

  TableSource source_;
  Status prefix_status_;
  std::map<std::string, Status, std::less<>> errors_;  // key -> why it is invalid
  std::shared_ptr<const RouterIndex> router_;          // nullptr: no router key
  std::shared_ptr<const RouterIndex> default_router_;
  std::map<std::string, std::shared_ptr<const CellRoute>, std::less<>> cells_;     // by name
  std::map<std::string, std::shared_ptr<const TenantRoute>, std::less<>> tenants_; // by name
  std::shared_ptr<const TenantIndex> tenant_index_;  // nullptr after a tenant changed
};

// The router index for some settings (wildcard lookups per host source).
std::shared_ptr<const RouterIndex> MakeRouterIndex(RouterSettings settings);

}  // namespace grid::router::table
