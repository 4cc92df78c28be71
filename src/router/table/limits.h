// Named limits of the routing table. Each has a test at the limit (limits_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace grid::router::table {

// Counts.
inline constexpr size_t kMaxCells = 1000;
inline constexpr size_t kMaxTenants = 100000;
inline constexpr size_t kMaxBackendsPerCell = 256;  // summed over the cell's groups
inline constexpr size_t kMaxGroupsPerCell = 2;
inline constexpr size_t kMaxTenantKeySources = 8;
inline constexpr size_t kMaxHostWildcards = 64;      // per host source
inline constexpr size_t kMaxPathPrefixes = 16;       // per path source
inline constexpr size_t kMaxHostsPerTenant = 16;

// Sizes, in bytes.
inline constexpr size_t kMaxKeyBytes = 512;
inline constexpr size_t kMaxValueBytes = 64 * 1024;
inline constexpr size_t kMaxNameBytes = 63;          // cell, tenant and group names (a DNS label)
inline constexpr size_t kMaxHostBytes = 253;         // a DNS name
inline constexpr size_t kMaxFieldNameBytes = 64;     // header and cookie names
inline constexpr size_t kMaxPathPrefixBytes = 256;
inline constexpr size_t kMaxHealthPathBytes = 1024;
inline constexpr size_t kMaxRejectBodyBytes = 1024;
inline constexpr size_t kMaxJsonDepth = 8;           // nesting of objects and arrays in a value
inline constexpr size_t kMaxYamlFileBytes = 32 * 1024 * 1024;

}  // namespace grid::router::table
