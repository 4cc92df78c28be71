// Synthetic etcd v3 snapshot files for tests: `db_bytes` of a fake bbolt database (the bbolt
// magic at offset 16, the rest a pattern from `seed`) followed by their SHA-256.
#pragma once

#include <fstream>
#include <string>

#include "mas/backup/snapshot.h"

namespace grid::mas::backup::testing {

inline std::string FakeDatabase(size_t db_bytes, char seed) {
  std::string db(db_bytes, '\0');
  for (size_t i = 0; i < db.size(); ++i) db[i] = static_cast<char>(seed + i * 7);
  const unsigned char magic[4] = {0xED, 0xDA, 0x0C, 0xED};  // little-endian kBoltMagic
  for (size_t i = 0; i < 4 && kBoltMagicOffset + i < db.size(); ++i) {
    db[kBoltMagicOffset + i] = static_cast<char>(magic[i]);
  }
  return db;
}

inline std::string RawSha256(const std::string& path_of_bytes) {
  auto d = DigestFile(path_of_bytes);
  GRID_CHECK(d.ok()) << d.status().ToString();
  std::string raw;
  for (size_t i = 0; i < d->sha256.size(); i += 2) {
    raw.push_back(static_cast<char>(std::stoi(d->sha256.substr(i, 2), nullptr, 16)));
  }
  return raw;
}

// Writes a snapshot file of `db_bytes` + 32 bytes at `path`.
inline void WriteFakeSnapshot(const std::string& path, size_t db_bytes = 8192, char seed = 1) {
  const std::string db = FakeDatabase(db_bytes, seed);
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << db; }
  const std::string digest = RawSha256(path);
  std::ofstream(path, std::ios::binary | std::ios::app) << digest;
}

// Flips one bit of the byte at `offset` of the file at `path`.
inline void FlipByte(const std::string& path, int64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(offset);
  char c = 0;
  f.get(c);
  f.seekp(offset);
  f.put(static_cast<char>(c ^ 0x10));
}

}  // namespace grid::mas::backup::testing
