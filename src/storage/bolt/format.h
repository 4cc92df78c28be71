// bbolt's on-disk format (version 2), as far as a writer and a reader of whole files need it.
// Every integer is little-endian. A file is an array of pages; page `id` starts at byte
// id * page_bytes. Pages 0 and 1 are meta pages; a node (leaf or branch) larger than one page
// continues on `overflow` following pages.
//
//   page header (16 bytes): u64 id, u16 flags, u16 count, u32 overflow
//   meta (after the header, 64 bytes): u32 magic, u32 version, u32 page_bytes, u32 flags,
//        bucket root {u64 root_pgid, u64 sequence}, u64 freelist_pgid, u64 high_water_pgid,
//        u64 txid, u64 checksum (FNV-1a 64 over the 56 bytes before it)
//   leaf element (16 bytes): u32 flags, u32 pos, u32 key_bytes, u32 value_bytes
//   branch element (16 bytes): u32 pos, u32 key_bytes, u64 child_pgid
//     `pos` is the distance from the element itself to its key; the value follows the key.
//   bucket value: bucket header {u64 root_pgid, u64 sequence}; root_pgid 0 means inline: a
//        leaf page (header + elements + data) follows the header inside the value.
//   freelist page: `count` page ids (u64); count 0xFFFF means the first u64 holds the count.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace grid::bolt {

inline constexpr uint32_t kMagic = 0xED0CDAED;
inline constexpr uint32_t kVersion = 2;
inline constexpr uint32_t kDefaultPageBytes = 4096;
// bbolt's DefaultFillPercent: a page is closed once it holds this fraction of page_bytes.
inline constexpr double kDefaultFillPercent = 0.5;
inline constexpr size_t kMaxKeyBytes = 32768;                 // bbolt's MaxKeySize
inline constexpr uint64_t kMaxValueBytes = (1ull << 31) - 2;  // bbolt's MaxValueSize
// A page holds at most this many elements (page.count is 16 bits).
inline constexpr size_t kMaxElementsPerPage = 0xFFFF - 1;

inline constexpr uint16_t kBranchPageFlag = 0x01;
inline constexpr uint16_t kLeafPageFlag = 0x02;
inline constexpr uint16_t kMetaPageFlag = 0x04;
inline constexpr uint16_t kFreelistPageFlag = 0x10;
inline constexpr uint32_t kBucketLeafFlag = 0x01;  // leaf element flag: the value is a bucket

inline constexpr size_t kPageHeaderBytes = 16;
inline constexpr size_t kElementBytes = 16;  // leaf and branch elements alike
inline constexpr size_t kBucketHeaderBytes = 16;
inline constexpr size_t kMetaBytes = 64;
inline constexpr size_t kMetaChecksumOffset = 56;  // within the meta
inline constexpr uint64_t kNoFreelist = ~0ull;     // meta.freelist when the freelist is not synced

inline void PutLE16(char* p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void PutLE32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void PutLE64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint16_t GetLE16(const char* p) {
  return static_cast<uint16_t>(uint8_t(p[0]) | (uint16_t(uint8_t(p[1])) << 8));
}
inline uint32_t GetLE32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
  return v;
}
inline uint64_t GetLE64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
  return v;
}

// FNV-1a, 64 bits (the meta page checksum).
inline uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 14695981039346656037ull;
  for (char c : data) {
    h ^= uint8_t(c);
    h *= 1099511628211ull;
  }
  return h;
}

// The decoded meta of a meta page.
struct Meta {
  uint32_t magic = kMagic;
  uint32_t version = kVersion;
  uint32_t page_bytes = kDefaultPageBytes;
  uint32_t flags = 0;
  uint64_t root_pgid = 0;
  uint64_t root_sequence = 0;
  uint64_t freelist_pgid = 0;
  uint64_t high_water_pgid = 0;  // pages in use: every page id is below this
  uint64_t txid = 0;
  uint64_t checksum = 0;
};

// Encodes `m` into the 64 bytes at `out`, computing the checksum.
inline void EncodeMeta(const Meta& m, char* out) {
  PutLE32(out + 0, m.magic);
  PutLE32(out + 4, m.version);
  PutLE32(out + 8, m.page_bytes);
  PutLE32(out + 12, m.flags);
  PutLE64(out + 16, m.root_pgid);
  PutLE64(out + 24, m.root_sequence);
  PutLE64(out + 32, m.freelist_pgid);
  PutLE64(out + 40, m.high_water_pgid);
  PutLE64(out + 48, m.txid);
  PutLE64(out + 56, Fnv1a64(std::string_view(out, kMetaChecksumOffset)));
}

inline Meta DecodeMeta(const char* in) {
  Meta m;
  m.magic = GetLE32(in + 0);
  m.version = GetLE32(in + 4);
  m.page_bytes = GetLE32(in + 8);
  m.flags = GetLE32(in + 12);
  m.root_pgid = GetLE64(in + 16);
  m.root_sequence = GetLE64(in + 24);
  m.freelist_pgid = GetLE64(in + 32);
  m.high_water_pgid = GetLE64(in + 40);
  m.txid = GetLE64(in + 48);
  m.checksum = GetLE64(in + 56);
  return m;
}

}  // namespace grid::bolt
