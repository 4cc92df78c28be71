// File-system seam for the write-ahead log (LevelDB Env style). Every byte the WAL reads or
// writes, and every directory operation, goes through Env/File so tests can inject faults
// (ENOSPC on write, failed fdatasync) without a real full disk.
//
// Thread-safety: PosixEnv (Env::Default()) is stateless and safe to share. A File is used by
// one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace grid::wal {

// An open file addressed by absolute offsets (no implicit file position).
class File {
 public:
  virtual ~File() = default;

  // Reads up to `n` bytes at `offset` into *out (replacing its contents). Fewer bytes are
  // returned only when the file ends first.
  virtual Status ReadAt(uint64_t offset, size_t n, std::string* out) = 0;
  // Writes all of `data` at `offset` (one pwrite per call when the kernel allows) or fails.
  virtual Status WriteAt(uint64_t offset, std::string_view data) = 0;
  // Reserves disk blocks so the file is at least `size_bytes` long (fallocate; falls back to
  // ftruncate where the file system cannot preallocate). New bytes read as zero.
  virtual Status Allocate(uint64_t size_bytes) = 0;
  virtual Status DataSync() = 0;  // fdatasync
  virtual Status Sync() = 0;      // fsync (data and metadata)
  virtual Result<uint64_t> Size() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX implementation. Never null, never freed.
  static Env* Default();

  // Opens an existing file for reading and writing.
  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path) = 0;
  // Creates `path` (truncating any existing file) for reading and writing.
  virtual Result<std::unique_ptr<File>> CreateFile(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, excluding "." and "..", in no set order.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` (one level) unless it exists.
  virtual Status CreateDirIfMissing(const std::string& dir) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // fsync of the directory itself, making created/renamed/removed names durable.
  virtual Status SyncDir(const std::string& dir) = 0;
};

}  // namespace grid::wal
