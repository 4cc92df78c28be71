// Receiving side of a snapshot: the data goes to a temporary file that becomes the final file
// only when its size and SHA-256 match what the sender announced.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace grid::transport {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const char* data, size_t n);
  // 32 raw bytes. The object is finished afterwards.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SnapshotFileWriter {
 public:
  // Creates <dir>/<name_prefix>.XXXXXX.part. `expected_bytes` is the announced size.
  static Result<std::unique_ptr<SnapshotFileWriter>> Create(const std::string& dir,
                                                            const std::string& name_prefix,
                                                            uint64_t expected_bytes);
  // Removes the temporary file unless Commit() succeeded.
  ~SnapshotFileWriter();

  // OutOfRange when the data would exceed the announced size.
  Status Append(const std::string& data);
  // Checks size and checksum (Corruption on mismatch), syncs, and renames the file to
  // <name_prefix>.XXXXXX.snap; returns that path.
  Result<std::string> Commit(const std::string& sha256);

  uint64_t written_bytes() const { return written_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  SnapshotFileWriter(int fd, std::string temp_path, uint64_t expected_bytes);

  int fd_;
  std::string temp_path_;
  uint64_t expected_;
  uint64_t written_ = 0;
  Sha256 sha_;
  bool committed_ = false;
};

}  // namespace grid::transport
