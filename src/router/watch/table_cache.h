// The bootstrap cache: the source of the last good table written to a file, so a router that
// starts while the store is down can serve what it served before.
//
// File format (binary-safe, byte counts instead of escaping):
//
//   grid-route-table-cache 1\n
//   prefix <bytes>\n<prefix>\n
//   revision <revision>\n
//   keys <count>\n
//   then per key:  <key bytes> <value bytes>\n<key><value>\n
//   end <FNV-1a 64 of everything before this line, 16 hex digits>\n
//
// Writes go to "<path>.tmp", are fsynced, then renamed over <path> (and the directory is
// fsynced), so a crash leaves the old file or the new one, never a mix.
//
// Thread-safety: free functions; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "router/table/table_builder.h"
#include "router/watch/limits.h"

namespace grid::router::watch {

struct CachedSource {
  table::TableSource source;
  int64_t revision = 0;
};

std::string EncodeCache(const table::TableSource& source, int64_t revision);
// Corruption naming what is wrong when the text is not a whole, intact cache file.
Result<CachedSource> DecodeCache(std::string_view text);

// ResourceExhausted (nothing written) when the encoded file would exceed max_file_bytes.
Status WriteCacheFile(const std::string& path, const table::TableSource& source, int64_t revision,
                      size_t max_file_bytes = kMaxCacheFileBytes);
// NotFound when the file does not exist; ResourceExhausted when it is larger than
// max_file_bytes; Corruption when it does not decode.
Result<CachedSource> ReadCacheFile(const std::string& path,
                                   size_t max_file_bytes = kMaxCacheFileBytes);

}  // namespace grid::router::watch
