// VersionCatalog: which binary runs a given (engine, version). A version is only a name; the
// catalog makes it an absolute path. Filled from entries "engine@version=/abs/path/to/binary"
// (gridmas --binary, repeatable) or by Add.
//
// Engine: 1..kMaxCatalogNameBytes of [a-z0-9-]. Version: 1..kMaxCatalogNameBytes of
// [A-Za-z0-9.+_-]. Path: absolute, at most kMaxCatalogPathBytes. At most kMaxCatalogEntries.
// The catalog does not check that a binary exists: a missing one shows when an instance
// starts.
//
// Thread-safety: const methods may run concurrently; Add/Parse need exclusive access.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace grid::mas::runtime {

inline constexpr size_t kMaxCatalogEntries = 256;
inline constexpr size_t kMaxCatalogNameBytes = 64;
inline constexpr size_t kMaxCatalogPathBytes = 4096;

class VersionCatalog {
 public:
  struct Entry {
    std::string engine;
    std::string version;
    std::string binary;
    bool operator==(const Entry&) const = default;
  };

  // Builds a catalog from entries "engine@version=/path"; the first bad entry fails it.
  static Result<VersionCatalog> FromEntries(const std::vector<std::string>& entries);

  // InvalidArgument for a bad engine, version or path, or when (engine, version) is already
  // registered with another path (an equal entry is OK); ResourceExhausted past
  // kMaxCatalogEntries.
  [[nodiscard]] Status Add(const std::string& engine, const std::string& version,
                           const std::string& binary);
  // Adds one entry "engine@version=/path". Errors name the entry.
  [[nodiscard]] Status Parse(const std::string& entry);

  // The binary of (engine, version); NotFound "no binary for gridkv@1.2 (known: ...)".
  [[nodiscard]] Result<std::string> Lookup(const std::string& engine,
                                           const std::string& version) const;
  // Every entry, ordered by engine then version (string order).
  std::vector<Entry> List() const;
  size_t size() const { return binaries_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, std::string> binaries_;
};

}  // namespace grid::mas::runtime
