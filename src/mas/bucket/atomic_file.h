// A file written under a temporary name in the directory of its final path and renamed into
// place on Commit, so readers see the whole file or none of it. Not committed -> removed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace grid::mas::bucket {

class AtomicFile {
 public:
  // Creates "<dir of final_path>/<kReservedSegmentPrefix><unique>" (mode 0600). The directory
  // must exist.
  [[nodiscard]] static Result<std::unique_ptr<AtomicFile>> Create(const std::string& final_path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // For tests: called before each write(2) with the bytes written so far; a non-zero return
  // is taken as that write's errno.
  void set_write_fault(std::function<int(int64_t)> fault) { write_fault_ = std::move(fault); }

  // Errors: ResourceExhausted for ENOSPC/EDQUOT, IOError otherwise.
  [[nodiscard]] Status Append(std::string_view data);
  // Best effort: a file system without user xattrs simply has none.
  void SetXattr(const std::string& name, const std::string& value);
  // fsync, close, rename over final_path, fsync the directory.
  [[nodiscard]] Status Commit();

  const std::string& temp_path() const { return temp_path_; }
  int64_t bytes_written() const { return bytes_written_; }

 private:
  AtomicFile(int fd, std::string temp_path, std::string final_path)
      : fd_(fd), temp_path_(std::move(temp_path)), final_path_(std::move(final_path)) {}

  int fd_;
  std::string temp_path_;
  std::string final_path_;
  int64_t bytes_written_ = 0;
  bool committed_ = false;
  std::function<int(int64_t)> write_fault_;
};

// Status for a failed write-side system call: ResourceExhausted for ENOSPC/EDQUOT (a full
// disk or quota), else ErrnoStatus.
Status WriteErrnoStatus(const std::string& what, int err);
// fsync of a directory (after a rename or mkdir in it).
[[nodiscard]] Status SyncDir(const std::string& dir);
// Reads the whole file at `path` into `out`, refusing files over `max_bytes`
// (ResourceExhausted). NotFound when absent.
[[nodiscard]] Status ReadSmallFile(const std::string& path, int64_t max_bytes, std::string* out);

}  // namespace grid::mas::bucket
