// Reads a bbolt database file: validates the meta pages and walks the top-level buckets and
// their keys in order (inline buckets and overflow pages included). Every structural problem is
// Corruption naming the file and the byte offset of the damaged page or field.
//
// Reads with pread one node at a time; memory holds one root-to-leaf path of pages.
// Thread-safety: const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/bolt/format.h"

namespace grid::bolt {

struct ReaderOptions {
  // Bytes of the file that belong to the database (0: the whole file). A snapshot file carries
  // a trailing checksum that is not part of the database.
  uint64_t db_bytes = 0;
  // true: both meta pages must be valid (a snapshot is written whole, so a bad meta page is
  // damage). false: as bbolt, use the valid meta page with the higher txid.
  bool require_both_metas = true;
  // Deeper trees are corruption (a cycle of page references, or garbage).
  int max_tree_depth = 64;
};

// What Walk reports. on_entry's `is_bucket` marks a nested bucket inside a top-level bucket
// (its value is the raw bucket header; nested buckets are not descended).
struct Visitor {
  std::function<Status(std::string_view bucket)> on_bucket;
  std::function<Status(std::string_view key, std::string_view value, bool is_bucket)> on_entry;
};

class Reader {
 public:
  // Errors: NotFound (no file), Corruption (bad meta pages, file shorter than the meta says).
  static Result<std::unique_ptr<Reader>> Open(const std::string& path,
                                              const ReaderOptions& options = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const Meta& meta() const { return meta_; }

  // Calls on_bucket for each top-level bucket in name order, then on_entry for each of its keys
  // in key order. A top-level key that is not a bucket is Corruption. Stops at the first
  // non-OK status (returned as is).
  Status Walk(const Visitor& visitor) const;

 private:
  Reader(int fd, std::string path, const ReaderOptions& options, uint64_t db_bytes);
  Status LoadMeta();
  Status Corrupt(uint64_t offset, const std::string& what) const;
  // Reads the node at `pgid` (with its overflow pages) into `out`.
  Status ReadNode(uint64_t pgid, std::string* out) const;
  // Visits every leaf element of the tree whose root node is `page` (read at `offset`, or
  // inline when pgid is 0).
  Status WalkTree(std::string_view page, uint64_t pgid, uint64_t offset, int depth,
                  const std::function<Status(std::string_view, std::string_view, uint32_t)>& fn)
      const;

  const int fd_;
  const std::string path_;
  const ReaderOptions options_;
  const uint64_t db_bytes_;
  Meta meta_;
};

}  // namespace grid::bolt
