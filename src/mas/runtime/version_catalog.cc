#include "mas/runtime/version_catalog.h"

namespace grid::mas::runtime {
namespace {

bool EngineChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

bool VersionChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '+' || c == '_' || c == '-';
}

std::string CheckName(const std::string& what, const std::string& value, bool (*ok)(char)) {
  if (value.empty()) return what + " is empty";
  if (value.size() > kMaxCatalogNameBytes) {
    return what + " is longer than " + std::to_string(kMaxCatalogNameBytes) + " bytes";
  }
  for (char c : value) {
    if (!ok(c)) return what + " \"" + value + "\" has a character outside the allowed set";
  }
  return "";
}

}  // namespace

Result<VersionCatalog> VersionCatalog::FromEntries(const std::vector<std::string>& entries) {
  VersionCatalog catalog;
  for (const std::string& entry : entries) GRID_RETURN_IF_ERROR(catalog.Parse(entry));
  return catalog;
}

Status VersionCatalog::Add(const std::string& engine, const std::string& version,
                           const std::string& binary) {
  if (std::string e = CheckName("engine", engine, EngineChar); !e.empty()) {
    return InvalidArgument(e);
  }
  if (std::string e = CheckName("version", version, VersionChar); !e.empty()) {
    return InvalidArgument(e);
  }
  if (binary.empty() || binary[0] != '/') {
    return InvalidArgument("binary path \"" + binary + "\" is not absolute");
  }
  if (binary.size() > kMaxCatalogPathBytes) {
    return InvalidArgument("binary path is longer than " + std::to_string(kMaxCatalogPathBytes) +
                           " bytes");
  }
  auto key = std::make_pair(engine, version);
  auto it = binaries_.find(key);
  if (it != binaries_.end()) {
    if (it->second == binary) return Status::Ok();
    return InvalidArgument(engine + "@" + version + " is already " + it->second);
  }
  if (binaries_.size() >= kMaxCatalogEntries) {
    return ResourceExhausted("more than " + std::to_string(kMaxCatalogEntries) +
                             " catalog entries");
  }
  binaries_.emplace(std::move(key), binary);
  return Status::Ok();
}

Status VersionCatalog::Parse(const std::string& entry) {
  const size_t at = entry.find('@');
  const size_t eq = entry.find('=');
  if (at == std::string::npos || eq == std::string::npos || eq < at) {
    return InvalidArgument("binary entry \"" + entry + "\": want engine@version=/path");
  }
  Status s = Add(entry.substr(0, at), entry.substr(at + 1, eq - at - 1), entry.substr(eq + 1));
  if (!s.ok()) return s.WithContext("binary entry \"" + entry + "\"");
  return s;
}

Result<std::string> VersionCatalog::Lookup(const std::string& engine,
                                           const std::string& version) const {
  auto it = binaries_.find({engine, version});
  if (it != binaries_.end()) return it->second;
  std::string known;
  for (const auto& [key, path] : binaries_) {
    if (!known.empty()) known += ", ";
    known += key.first + "@" + key.second;
  }
  return NotFound("no binary for " + engine + "@" + version + " (known: " +
                  (known.empty() ? "none" : known) + ")");
}

std::vector<VersionCatalog::Entry> VersionCatalog::List() const {
  std::vector<Entry> out;
  out.reserve(binaries_.size());
  for (const auto& [key, path] : binaries_) out.push_back({key.first, key.second, path});
  return out;
}

}  // namespace grid::mas::runtime
