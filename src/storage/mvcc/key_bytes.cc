#include "storage/mvcc/key_bytes.h"

#include "common/check.h"

namespace grid::mvcc {

KeyBytes::KeyBytes(std::string_view key) {
  if (key.size() <= kInlineBytes) {
    if (!key.empty()) std::memcpy(bytes_, key.data(), key.size());
    SetInlineSize(key.size());
    return;
  }
  GRID_CHECK_LE(key.size(), kMaxBytes) << "key of " << key.size() << " bytes";
  char* p = new char[key.size()];
  std::memcpy(p, key.data(), key.size());
  const auto n = static_cast<uint32_t>(key.size());
  std::memcpy(bytes_, &p, sizeof(p));
  std::memcpy(bytes_ + sizeof(p), &n, sizeof(n));
  bytes_[kTagByte] = static_cast<char>(kHeapTag);
}

}  // namespace grid::mvcc
