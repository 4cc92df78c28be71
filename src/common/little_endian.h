// Fixed-width little-endian integers in byte strings: the on-disk and on-wire encoding of the
// WAL's records (storage/wal) and the peer message streams (transport). Byte by byte, so the
// result does not depend on the host's byte order or on alignment.
#pragma once

#include <cstdint>
#include <string>

namespace grid {

inline void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 4);
}

inline void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 8);
}

// REQUIRES: p points at 4 (GetU32) or 8 (GetU64) readable bytes.
inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace grid
