#include "storage/bolt/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace grid::bolt {
namespace {

Status ReadAt(int fd, char* out, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return IOError("bolt: read " + path + ": " + std::strerror(errno));
    }
    if (r == 0) return IOError("bolt: read " + path + ": unexpected end of file");
    out += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

// The smallest page size bbolt accepts and the largest we read.
constexpr uint32_t kMinPageBytes = 1024;
constexpr uint32_t kMaxPageBytes = 1 << 16;

}  // namespace

Reader::Reader(int fd, std::string path, const ReaderOptions& options, uint64_t db_bytes)
    : fd_(fd), path_(std::move(path)), options_(options), db_bytes_(db_bytes) {}

Reader::~Reader() { ::close(fd_); }

Status Reader::Corrupt(uint64_t offset, const std::string& what) const {
  return Corruption("bolt: " + path_ + ": " + what + " at offset " + std::to_string(offset));
}

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path,
                                             const ReaderOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("bolt: no file " + path);
    return IOError("bolt: open " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return IOError("bolt: stat " + path + ": " + std::strerror(errno));
  }
  uint64_t db_bytes = static_cast<uint64_t>(st.st_size);
  if (options.db_bytes != 0) {
    if (options.db_bytes > db_bytes) {
      ::close(fd);
      return InvalidArgument("bolt: " + path + " is shorter than the database length given");
    }
    db_bytes = options.db_bytes;
  }
  std::unique_ptr<Reader> r(new Reader(fd, path, options, db_bytes));
  GRID_RETURN_IF_ERROR(r->LoadMeta());
  return r;
}

Status Reader::LoadMeta() {
  // A meta page's header and meta fit in the smallest page; the page size comes from meta 0.
  constexpr size_t kMetaPageUsed = kPageHeaderBytes + kMetaBytes;
  if (db_bytes_ < kMetaPageUsed) return Corrupt(db_bytes_, "file too small for a meta page");
  Meta metas[2];
  Status errors[2];
  uint32_t page_bytes = 0;
  for (int i = 0; i < 2; ++i) {
    const uint64_t offset = static_cast<uint64_t>(i) * page_bytes;
    if (i == 1 && page_bytes == 0) {
      errors[1] = Corrupt(0, "meta page 1 unreadable: meta page 0 gives no page size");
      continue;
    }
    if (offset + kMetaPageUsed > db_bytes_) {
      errors[i] = Corrupt(offset, "file ends inside meta page " + std::to_string(i));
      continue;
    }
    char buf[kMetaPageUsed];
    GRID_RETURN_IF_ERROR(ReadAt(fd_, buf, sizeof(buf), offset, path_));
    const Meta m = DecodeMeta(buf + kPageHeaderBytes);
    const uint64_t field = offset + kPageHeaderBytes;
    if ((GetLE16(buf + 8) & kMetaPageFlag) == 0) {
      errors[i] = Corrupt(offset + 8, "page " + std::to_string(i) + " is not a meta page");
    } else if (m.magic != kMagic) {
      errors[i] = Corrupt(field, "meta page " + std::to_string(i) + ": bad magic (not a bolt file)");
    } else if (m.version != kVersion) {
      errors[i] = Corrupt(field + 4, "meta page " + std::to_string(i) + ": unsupported version " +
                                         std::to_string(m.version));
    } else if (m.checksum != Fnv1a64(std::string_view(buf + kPageHeaderBytes,
                                                      kMetaChecksumOffset))) {
      errors[i] = Corrupt(field + kMetaChecksumOffset,
                          "meta page " + std::to_string(i) + ": checksum mismatch");
    } else if (m.page_bytes < kMinPageBytes || m.page_bytes > kMaxPageBytes ||
               (m.page_bytes & (m.page_bytes - 1)) != 0) {
      errors[i] = Corrupt(field + 8, "meta page " + std::to_string(i) + ": bad page size " +
                                         std::to_string(m.page_bytes));
    }
    metas[i] = m;
    if (i == 0) page_bytes = errors[0].ok() ? m.page_bytes : kDefaultPageBytes;
  }
  if (options_.require_both_metas) {
    GRID_RETURN_IF_ERROR(errors[0]);
    GRID_RETURN_IF_ERROR(errors[1]);
  }
  int use = -1;
  for (int i = 0; i < 2; ++i) {
    if (errors[i].ok() && (use < 0 || metas[i].txid > metas[use].txid)) use = i;
  }
  if (use < 0) return errors[0];
  meta_ = metas[use];
  const uint64_t meta_offset = static_cast<uint64_t>(use) * meta_.page_bytes + kPageHeaderBytes;
  if (meta_.high_water_pgid < 3 || meta_.high_water_pgid > db_bytes_ / meta_.page_bytes) {
    return Corrupt(meta_offset + 40,
                   "meta: high water mark page " + std::to_string(meta_.high_water_pgid) +
                       " outside a file of " + std::to_string(db_bytes_) + " bytes");
  }
  if (meta_.root_pgid < 2 || meta_.root_pgid >= meta_.high_water_pgid) {
    return Corrupt(meta_offset + 16, "meta: root page " + std::to_string(meta_.root_pgid) +
                                         " out of range");
  }
  if (meta_.freelist_pgid != kNoFreelist &&
      (meta_.freelist_pgid < 2 || meta_.freelist_pgid >= meta_.high_water_pgid)) {
    return Corrupt(meta_offset + 32, "meta: freelist page out of range");
  }
  return Status::Ok();
}

Status Reader::ReadNode(uint64_t pgid, std::string* out) const {
  const uint64_t page_bytes = meta_.page_bytes;
  const uint64_t offset = pgid * page_bytes;
  if (pgid < 2 || pgid >= meta_.high_water_pgid) {
    return Corrupt(offset, "reference to page " + std::to_string(pgid) + " out of range");
  }
  out->resize(page_bytes);
  GRID_RETURN_IF_ERROR(ReadAt(fd_, out->data(), page_bytes, offset, path_));
  if (GetLE64(out->data()) != pgid) {
    return Corrupt(offset, "page " + std::to_string(pgid) + " has id " +
                               std::to_string(GetLE64(out->data())));
  }
  const uint32_t overflow = GetLE32(out->data() + 12);
  if (overflow > 0) {
    if (pgid + overflow >= meta_.high_water_pgid) {
      return Corrupt(offset + 12, "page " + std::to_string(pgid) + " overflows past the end");
    }
    out->resize(page_bytes * (overflow + 1ull));
    GRID_RETURN_IF_ERROR(ReadAt(fd_, out->data() + page_bytes, page_bytes * overflow,
                                offset + page_bytes, path_));
  }
  return Status::Ok();
}

Status Reader::WalkTree(
    std::string_view page, uint64_t pgid, uint64_t offset, int depth,
    const std::function<Status(std::string_view, std::string_view, uint32_t)>& fn) const {
  if (depth > options_.max_tree_depth) return Corrupt(offset, "tree deeper than the limit");
  if (page.size() < kPageHeaderBytes) return Corrupt(offset, "truncated inline page");
  const uint16_t flags = GetLE16(page.data() + 8);
  const uint16_t count = GetLE16(page.data() + 10);
  const bool leaf = (flags & kLeafPageFlag) != 0;
  if (!leaf && (flags & kBranchPageFlag) == 0) {
    return Corrupt(offset + 8, "page " + std::to_string(pgid) + " is neither leaf nor branch");
  }
  if (kPageHeaderBytes + uint64_t{count} * kElementBytes > page.size()) {
    return Corrupt(offset + 10, "element count " + std::to_string(count) + " exceeds the page");
  }
  std::string child;
  for (uint16_t i = 0; i < count; ++i) {
    const size_t elem = kPageHeaderBytes + size_t{i} * kElementBytes;
    const char* e = page.data() + elem;
    const uint64_t pos = leaf ? GetLE32(e + 4) : GetLE32(e);
    const uint64_t key_bytes = leaf ? GetLE32(e + 8) : GetLE32(e + 4);
    const uint64_t value_bytes = leaf ? GetLE32(e + 12) : 0;
    if (elem + pos + key_bytes + value_bytes > page.size()) {
      return Corrupt(offset + elem, "element " + std::to_string(i) + " of page " +
                                        std::to_string(pgid) + " points outside the page");
    }
    const std::string_view key = page.substr(elem + pos, key_bytes);
    if (leaf) {
      GRID_RETURN_IF_ERROR(fn(key, page.substr(elem + pos + key_bytes, value_bytes), GetLE32(e)));
      continue;
    }
    const uint64_t child_pgid = GetLE64(e + 8);
    GRID_RETURN_IF_ERROR(ReadNode(child_pgid, &child));
    GRID_RETURN_IF_ERROR(
        WalkTree(child, child_pgid, child_pgid * meta_.page_bytes, depth + 1, fn));
  }
  return Status::Ok();
}

Status Reader::Walk(const Visitor& visitor) const {
  std::string root;
  GRID_RETURN_IF_ERROR(ReadNode(meta_.root_pgid, &root));
  const uint64_t root_offset = meta_.root_pgid * meta_.page_bytes;
  std::string last_bucket;
  return WalkTree(
      root, meta_.root_pgid, root_offset, 0,
      [&](std::string_view name, std::string_view value, uint32_t flags) -> Status {
        if ((flags & kBucketLeafFlag) == 0) {
          return Corrupt(root_offset, "top-level key is not a bucket");
        }
        if (value.size() < kBucketHeaderBytes) {
          return Corrupt(root_offset, "bucket " + std::string(name) + ": short bucket header");
        }
        if (!last_bucket.empty() && name <= last_bucket) {
          return Corrupt(root_offset, "bucket names out of order");
        }
        last_bucket.assign(name);
        GRID_RETURN_IF_ERROR(visitor.on_bucket(name));
        std::string last_key;
        bool first = true;
        auto entry = [&](std::string_view k, std::string_view v, uint32_t f) -> Status {
          if (!first && k <= last_key) {
            return Corrupt(root_offset, "keys of bucket " + std::string(name) + " out of order");
          }
          first = false;
          last_key.assign(k);
          return visitor.on_entry(k, v, (f & kBucketLeafFlag) != 0);
        };
        const uint64_t bucket_root = GetLE64(value.data());
        if (bucket_root == 0) {
          return WalkTree(value.substr(kBucketHeaderBytes), 0, root_offset, 1, entry);
        }
        std::string page;
        GRID_RETURN_IF_ERROR(ReadNode(bucket_root, &page));
        return WalkTree(page, bucket_root, bucket_root * meta_.page_bytes, 1, entry);
      });
}

}  // namespace grid::bolt
