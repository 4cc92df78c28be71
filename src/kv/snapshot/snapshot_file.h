// The snapshot file gridkv streams from Maintenance.Snapshot and restores with
// `gridkv snapshot restore`. It packs a consistent copy (RocksDB checkpoint) of the backend:
//
//   body    := "GRIDSNP1" u32 file_count { u32 name_bytes, name, u64 data_bytes, data }*
//              then zero padding so that body's length is a multiple of 512
//   file    := body, SHA-256(body)   (32 bytes)
//
// Integers are little-endian. The length rule (multiple of 512, plus 32) and the trailing
// SHA-256 are what etcdctl 3.4 checks before it accepts a snapshot stream.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace grid::kv::snapshot {

inline constexpr char kMagic[] = "GRIDSNP1";
inline constexpr size_t kAlignBytes = 512;
inline constexpr size_t kChecksumBytes = 32;
// A name longer than this, or more files than this, is corruption, not a snapshot.
inline constexpr uint32_t kMaxNameBytes = 4096;
inline constexpr uint32_t kMaxFiles = 1'000'000;

// Streams the snapshot of the files in `dir` (regular files, not recursive) to `sink` in
// chunks of at most `chunk_bytes`. `sink` returns false to abort (the client went away).
Status WriteSnapshot(const std::string& dir, size_t chunk_bytes,
                     const std::function<bool(std::string_view chunk)>& sink);

// Checks length and checksum of the snapshot file at `path` and unpacks its files into `dir`
// (created; must not exist). Corruption names the file and the byte offset of the damage.
Status RestoreSnapshot(const std::string& path, const std::string& dir);

}  // namespace grid::kv::snapshot
