// Writes a new bbolt database file in one pass: top-level buckets, each filled with its keys in
// ascending order. Builds every B+tree bottom-up and appends pages as they fill, so memory holds
// one open node per tree level (plus the list of bucket names), whatever the data size.
//
// Buckets may come in any order (the root page is sorted at Finish); keys inside a bucket must
// be strictly ascending. A bucket whose single leaf fits in a quarter page is stored inline in
// its root entry, as bbolt does. The file ends with an empty freelist page; both meta pages
// point at the same tree (meta 0 with the higher txid, as bbolt's Tx.WriteTo writes them).
//
// Thread-safety: none; one thread uses a Writer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/bolt/format.h"

namespace grid::bolt {

struct WriterOptions {
  uint32_t page_bytes = kDefaultPageBytes;   // a power of two, >= 1024
  double fill_percent = kDefaultFillPercent;  // in [0.1, 1.0]
  // Output is buffered up to this many bytes between writes to the file.
  size_t write_buffer_bytes = 1 << 20;
};

class TreeBuilder;

class Writer {
 public:
  // Creates (truncates) the file at `path`.
  static Result<std::unique_ptr<Writer>> Create(const std::string& path,
                                                const WriterOptions& options = {});
  // An unfinished file is left as is (not a valid database); the caller removes it.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Opens top-level bucket `name` (1..kMaxKeyBytes bytes, not used before).
  // REQUIRES: no bucket open.
  Status BeginBucket(std::string_view name);
  // Adds key -> value to the open bucket. InvalidArgument: key empty, too long, or not
  // greater than the previous key; value too long. REQUIRES: a bucket open.
  Status Put(std::string_view key, std::string_view value);
  // Closes the open bucket. REQUIRES: a bucket open.
  Status EndBucket();
  // Writes the root, the freelist and the meta pages, syncs and closes the file. Returns the
  // file's size in bytes (a multiple of page_bytes). REQUIRES: no bucket open.
  Result<uint64_t> Finish();

  // For the tree builders: the id the next appended page gets, and appending whole pages
  // (bytes.size() a multiple of page_bytes).
  uint64_t next_pgid() const { return next_pgid_; }
  Status AppendPages(std::string_view bytes);

 private:
  Writer(int fd, std::string path, const WriterOptions& options);
  Status FlushBuffer();

  const int fd_;
  const std::string path_;
  const WriterOptions options_;
  std::string buffer_;      // appended pages not yet written to the file
  uint64_t next_pgid_ = 2;  // pages 0 and 1 are the metas, written last
  std::unique_ptr<TreeBuilder> open_;  // the open bucket's tree
  std::string open_name_;
  std::vector<std::string> names_;     // every bucket begun, to refuse duplicates at Finish
  std::vector<std::pair<std::string, std::string>> roots_;  // bucket name -> bucket value
  bool finished_ = false;
};

}  // namespace grid::bolt
