// LocalDirBucket: a Bucket whose objects are files under one directory ("<root>/<key>").
// The embedded default, for a single machine or a shared file system.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mas/bucket/bucket.h"

namespace grid::mas::bucket {

struct LocalDirOptions {
  size_t max_listed_objects = kMaxListedObjects;
  // For tests: before each write(2) of an object, called with the bytes written so far; a
  // non-zero return is taken as that write's errno (ENOSPC, EDQUOT, EIO, ...).
  std::function<int(int64_t)> write_fault;
};

// Objects become visible by rename from a temporary file in the same directory (fsync'd
// first, then the directory); temporary files start with kReservedSegmentPrefix and are never
// listed. Directories are made as keys need them and left in place when empty. A key cannot
// be both an object and the directory of other objects ("a/b" and "a/b/c"): the second put
// is FailedPrecondition. Every call is safe from several threads and processes.
class LocalDirBucket : public Bucket {
 public:
  // `root` is an absolute path; it is created when missing.
  [[nodiscard]] static Result<std::unique_ptr<LocalDirBucket>> Open(const std::string& root,
                                                                    LocalDirOptions options = {});

  Status PutFile(const std::string& key, const std::string& local_path) override;
  Status GetFile(const std::string& key, const std::string& local_path) override;
  Status PutBytes(const std::string& key, std::string_view bytes) override;
  Result<std::string> GetBytes(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return "dir:" + root_; }

  // The extended attribute holding an object's hex SHA-256 (its etag); objects without it
  // (put by other tools) are hashed when listed.
  static constexpr char kDigestXattr[] = "user.grid.sha256";

 private:
  LocalDirBucket(std::string root, LocalDirOptions options)
      : root_(std::move(root)), options_(std::move(options)) {}

  // Writes an object from `read` (fills the buffer, returns bytes read, 0 at the end).
  Status WriteObject(const std::string& key,
                     const std::function<Result<size_t>(char*, size_t)>& read);
  Status MakeParents(const std::string& key);
  Status Full(const Status& status) const;

  const std::string root_;
  const LocalDirOptions options_;
};

}  // namespace grid::mas::bucket
