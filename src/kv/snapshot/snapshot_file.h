// The framing of an etcd v3 snapshot file: the backend database (a bbolt file) followed by the
// 32-byte SHA-256 of the database bytes. Maintenance.Snapshot streams exactly this, with the
// checksum as the last message; `etcdctl snapshot save` accepts a stream only if its length is
// a multiple of 512 plus 32, and `snapshot restore` checks the checksum.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace grid::kv::snapshot {

inline constexpr size_t kSha256Bytes = 32;
// etcdctl's rule for "has a checksum": size % kAlignBytes == kSha256Bytes.
inline constexpr size_t kAlignBytes = 512;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // The 32-byte digest. REQUIRES: called once.
  std::string Final();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string HexOf(std::string_view bytes);

// Calls `sink` with the file at `db_path` in chunks of at most `chunk_bytes`, then with its
// SHA-256 as a final chunk of 32 bytes. `remaining_bytes` is what follows the chunk. `sink`
// returns false to stop (Cancelled). REQUIRES: the file does not change meanwhile.
Status StreamWithSha256(
    const std::string& db_path, size_t chunk_bytes,
    const std::function<bool(std::string_view chunk, uint64_t remaining_bytes)>& sink);

// Checks that the snapshot file at `path` ends in the SHA-256 of the bytes before it and
// returns the length of the database part. Corruption (naming the file and the offset of the
// checksum) when the size cannot hold a checksum or the checksum differs (etcd's "expected
// sha256 ..., got ...").
Result<uint64_t> VerifySha256(const std::string& path);

}  // namespace grid::kv::snapshot
