#include "storage/bolt/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "common/check.h"

namespace grid::bolt {
namespace {

Status Errno(std::string_view what, const std::string& path) {
  return IOError("bolt: " + std::string(what) + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, const char* data, size_t n, off_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t w = offset >= 0 ? ::pwrite(fd, data, n, offset) : ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data += w;
    n -= static_cast<size_t>(w);
    if (offset >= 0) offset += w;
  }
  return Status::Ok();
}

}  // namespace

// Builds one B+tree bottom-up. levels_[0] is the open leaf, levels_[i] the open branch above
// it. A node is written once the next element would take it past the fill threshold; its first
// key and page id then go into the level above.
class TreeBuilder {
 public:
  TreeBuilder(Writer* out, uint32_t page_bytes, double fill_percent)
      : out_(out),
        page_bytes_(page_bytes),
        threshold_bytes_(static_cast<size_t>(page_bytes * fill_percent)) {
    levels_.emplace_back();
  }

  Status Add(std::string_view key, std::string_view value, uint32_t flags) {
    if (key.empty()) return InvalidArgument("bolt: empty key");
    if (key.size() > kMaxKeyBytes) return InvalidArgument("bolt: key too large");
    if (value.size() > kMaxValueBytes) return InvalidArgument("bolt: value too large");
    if (has_last_ && key <= last_key_) {
      return InvalidArgument("bolt: keys must be strictly ascending");
    }
    last_key_.assign(key);
    has_last_ = true;
    return AddToLevel(0, Item{std::string(key), std::string(value), flags, 0});
  }

  struct Root {
    uint64_t pgid = 0;        // 0: inline
    std::string inline_page;  // the leaf page stored in the bucket value when inline
  };

  Result<Root> Finish(bool allow_inline) {
    Root root;
    if (allow_inline && levels_.size() == 1 && levels_[0].pages_written == 0 &&
        levels_[0].bytes <= page_bytes_ / 4) {
      root.inline_page = Encode(levels_[0], /*leaf=*/true, /*pgid=*/0, /*pad=*/false);
      return root;
    }
    for (size_t level = 0;; ++level) {
      const bool top = level + 1 == levels_.size() && levels_[level].pages_written == 0;
      Item up;
      GRID_ASSIGN_OR_RETURN(up.pgid, WriteNode(level));
      if (top) {
        root.pgid = up.pgid;
        return root;
      }
      up.key = std::move(first_key_);
      GRID_RETURN_IF_ERROR(AddToLevel(level + 1, std::move(up)));
    }
  }

 private:
  struct Item {
    std::string key;
    std::string value;  // leaf only
    uint32_t flags = 0; // leaf only
    uint64_t pgid = 0;  // branch only
  };
  struct Node {
    std::vector<Item> items;
    size_t bytes = kPageHeaderBytes;  // encoded size
    uint64_t pages_written = 0;       // nodes of this level already written
  };

  Status AddToLevel(size_t level, Item item) {
    if (level == levels_.size()) levels_.emplace_back();
    const size_t item_bytes = kElementBytes + item.key.size() + item.value.size();
    Node* node = &levels_[level];
    if (!node->items.empty() && (node->bytes + item_bytes > threshold_bytes_ ||
                                 node->items.size() >= kMaxElementsPerPage)) {
      Item up;
      GRID_ASSIGN_OR_RETURN(up.pgid, WriteNode(level));
      up.key = std::move(first_key_);
      GRID_RETURN_IF_ERROR(AddToLevel(level + 1, std::move(up)));
      node = &levels_[level];  // levels_ may have grown
    }
    node->bytes += item_bytes;
    node->items.push_back(std::move(item));
    return Status::Ok();
  }

  // Writes the open node of `level`, leaves its first key in first_key_ and empties it.
  Result<uint64_t> WriteNode(size_t level) {
    Node& node = levels_[level];
    const uint64_t pgid = out_->next_pgid();
    GRID_RETURN_IF_ERROR(out_->AppendPages(Encode(node, level == 0, pgid, /*pad=*/true)));
    first_key_ = node.items.empty() ? std::string() : std::move(node.items.front().key);
    node.items.clear();
    node.bytes = kPageHeaderBytes;
    node.pages_written++;
    return pgid;
  }

  std::string Encode(const Node& node, bool leaf, uint64_t pgid, bool pad) const {
    const size_t pages = (node.bytes + page_bytes_ - 1) / page_bytes_;
    std::string out(pad ? pages * page_bytes_ : node.bytes, '\0');
    char* p = out.data();
    PutLE64(p, pgid);
    PutLE16(p + 8, leaf ? kLeafPageFlag : kBranchPageFlag);
    GRID_CHECK(node.items.size() <= kMaxElementsPerPage);
    PutLE16(p + 10, static_cast<uint16_t>(node.items.size()));
    PutLE32(p + 12, pad ? static_cast<uint32_t>(pages - 1) : 0);
    size_t data = kPageHeaderBytes + kElementBytes * node.items.size();
    for (size_t i = 0; i < node.items.size(); ++i) {
      const Item& item = node.items[i];
      const size_t elem = kPageHeaderBytes + kElementBytes * i;
      const auto pos = static_cast<uint32_t>(data - elem);
      if (leaf) {
        PutLE32(p + elem, item.flags);
        PutLE32(p + elem + 4, pos);
        PutLE32(p + elem + 8, static_cast<uint32_t>(item.key.size()));
        PutLE32(p + elem + 12, static_cast<uint32_t>(item.value.size()));
      } else {
        PutLE32(p + elem, pos);
        PutLE32(p + elem + 4, static_cast<uint32_t>(item.key.size()));
        PutLE64(p + elem + 8, item.pgid);
      }
      std::memcpy(p + data, item.key.data(), item.key.size());
      data += item.key.size();
      std::memcpy(p + data, item.value.data(), item.value.size());
      data += item.value.size();
    }
    GRID_CHECK(data == node.bytes);
    return out;
  }

  Writer* const out_;
  const uint32_t page_bytes_;
  const size_t threshold_bytes_;
  std::vector<Node> levels_;
  std::string first_key_;  // first key of the node WriteNode wrote last
  std::string last_key_;
  bool has_last_ = false;
};

Result<std::unique_ptr<Writer>> Writer::Create(const std::string& path,
                                               const WriterOptions& options) {
  if (options.page_bytes < 1024 || (options.page_bytes & (options.page_bytes - 1)) != 0) {
    return InvalidArgument("bolt: page size must be a power of two >= 1024");
  }
  if (!(options.fill_percent >= 0.1 && options.fill_percent <= 1.0)) {
    return InvalidArgument("bolt: fill percent must be in [0.1, 1.0]");
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", path);
  std::unique_ptr<Writer> w(new Writer(fd, path, options));
  // Room for the two meta pages, written by Finish.
  w->buffer_.assign(2 * static_cast<size_t>(options.page_bytes), '\0');
  return w;
}

Writer::Writer(int fd, std::string path, const WriterOptions& options)
    : fd_(fd), path_(std::move(path)), options_(options) {}

Writer::~Writer() {
  if (!finished_) ::close(fd_);
}

Status Writer::AppendPages(std::string_view bytes) {
  GRID_CHECK(!bytes.empty() && bytes.size() % options_.page_bytes == 0);
  buffer_.append(bytes);
  next_pgid_ += bytes.size() / options_.page_bytes;
  if (buffer_.size() >= options_.write_buffer_bytes) return FlushBuffer();
  return Status::Ok();
}

Status Writer::FlushBuffer() {
  GRID_RETURN_IF_ERROR(WriteAll(fd_, buffer_.data(), buffer_.size(), -1, path_));
  buffer_.clear();
  return Status::Ok();
}

Status Writer::BeginBucket(std::string_view name) {
  GRID_CHECK(!finished_ && open_ == nullptr) << "bolt: a bucket is already open";
  if (name.empty() || name.size() > kMaxKeyBytes) {
    return InvalidArgument("bolt: bad bucket name length " + std::to_string(name.size()));
  }
  open_ = std::make_unique<TreeBuilder>(this, options_.page_bytes, options_.fill_percent);
  open_name_.assign(name);
  return Status::Ok();
}

Status Writer::Put(std::string_view key, std::string_view value) {
  GRID_CHECK(open_ != nullptr) << "bolt: no bucket open";
  return open_->Add(key, value, 0);
}

Status Writer::EndBucket() {
  GRID_CHECK(open_ != nullptr) << "bolt: no bucket open";
  GRID_ASSIGN_OR_RETURN(TreeBuilder::Root root, open_->Finish(/*allow_inline=*/true));
  std::string value(kBucketHeaderBytes, '\0');
  PutLE64(value.data(), root.pgid);  // sequence stays 0
  value += root.inline_page;
  roots_.emplace_back(std::move(open_name_), std::move(value));
  open_.reset();
  return Status::Ok();
}

Result<uint64_t> Writer::Finish() {
  GRID_CHECK(!finished_ && open_ == nullptr) << "bolt: Finish with a bucket open";
  std::sort(roots_.begin(), roots_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  TreeBuilder root_tree(this, options_.page_bytes, options_.fill_percent);
  for (size_t i = 0; i < roots_.size(); ++i) {
    if (i > 0 && roots_[i].first == roots_[i - 1].first) {
      return InvalidArgument("bolt: bucket " + roots_[i].first + " written twice");
    }
    GRID_RETURN_IF_ERROR(root_tree.Add(roots_[i].first, roots_[i].second, kBucketLeafFlag));
  }
  GRID_ASSIGN_OR_RETURN(TreeBuilder::Root root, root_tree.Finish(/*allow_inline=*/false));

  // An empty freelist: every page below the high water mark is in use.
  Meta meta;
  meta.page_bytes = options_.page_bytes;
  meta.root_pgid = root.pgid;
  meta.freelist_pgid = next_pgid_;
  std::string freelist(options_.page_bytes, '\0');
  PutLE64(freelist.data(), next_pgid_);
  PutLE16(freelist.data() + 8, kFreelistPageFlag);
  GRID_RETURN_IF_ERROR(AppendPages(freelist));
  meta.high_water_pgid = next_pgid_;
  GRID_RETURN_IF_ERROR(FlushBuffer());

  std::string page(options_.page_bytes, '\0');
  for (uint64_t id = 0; id < 2; ++id) {
    std::fill(page.begin(), page.end(), '\0');
    meta.txid = 2 - id;  // meta 0 holds the newer txid, as bbolt's Tx.WriteTo
    PutLE64(page.data(), id);
    PutLE16(page.data() + 8, kMetaPageFlag);
    EncodeMeta(meta, page.data() + kPageHeaderBytes);
    GRID_RETURN_IF_ERROR(WriteAll(fd_, page.data(), page.size(),
                                  static_cast<off_t>(id * options_.page_bytes), path_));
  }
  if (::fsync(fd_) != 0) return Errno("sync", path_);
  finished_ = true;
  if (::close(fd_) != 0) return Errno("close", path_);
  return next_pgid_ * options_.page_bytes;
}

}  // namespace grid::bolt
