// CRC-32C (Castagnoli polynomial, reflected 0x82F63B78), the checksum etcd uses for its hashes.
// Incremental: Update() any number of times, value() at any point. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace grid::mvcc {

class Crc32c {
 public:
  void Update(std::string_view bytes);
  uint32_t value() const { return ~state_; }

 private:
  uint32_t state_ = 0xffffffffu;
};

}  // namespace grid::mvcc
