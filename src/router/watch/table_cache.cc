#include "router/watch/table_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

namespace grid::router::watch {
namespace {

constexpr std::string_view kMagic = "grid-route-table-cache 1\n";
constexpr size_t kChecksumHexDigits = 16;

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string Hex16(uint64_t v) {
  char buf[kChecksumHexDigits + 1];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return std::string(buf, kChecksumHexDigits);
}

// Reads the cache text front to back.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : rest_(text) {}

  // "<word> " then a decimal number then `end`.
  Result<uint64_t> Number(std::string_view word, char end) {
    if (!word.empty()) {
      if (!rest_.starts_with(word) || rest_.size() <= word.size() || rest_[word.size()] != ' ') {
        return Corruption("cache file: expected \"" + std::string(word) + "\"");
      }
      rest_.remove_prefix(word.size() + 1);
    }
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(rest_.data(), rest_.data() + rest_.size(), v);
    if (ec != std::errc() || p == rest_.data() || p == rest_.data() + rest_.size() || *p != end) {
      return Corruption("cache file: bad number after \"" + std::string(word) + "\"");
    }
    rest_.remove_prefix(static_cast<size_t>(p - rest_.data()) + 1);
    return v;
  }
  // `n` raw bytes.
  Result<std::string_view> Bytes(uint64_t n) {
    if (n > rest_.size()) return Corruption("cache file: truncated");
    std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return out;
  }
  Status Literal(std::string_view s) {
    if (!rest_.starts_with(s)) return Corruption("cache file: truncated or damaged");
    rest_.remove_prefix(s.size());
    return Status::Ok();
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  return rc == 0 ? Status::Ok() : ErrnoStatus("fsync " + dir, err);
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeCache(const table::TableSource& source, int64_t revision) {
  std::string out(kMagic);
  out += "prefix " + std::to_string(source.prefix.size()) + "\n" + source.prefix + "\n";
  out += "revision " + std::to_string(revision) + "\n";
  out += "keys " + std::to_string(source.kvs.size()) + "\n";
  for (const auto& [key, value] : source.kvs) {
    out += std::to_string(key.size()) + " " + std::to_string(value.size()) + "\n";
    out += key;
    out += value;
    out += "\n";
  }
  const uint64_t sum = Fnv1a64(out);
  out += "end " + Hex16(sum) + "\n";
  return out;
}

Result<CachedSource> DecodeCache(std::string_view text) {
  const size_t trailer = std::string_view("end \n").size() + kChecksumHexDigits;
  if (text.size() < kMagic.size() + trailer || !text.starts_with(kMagic)) {
    return Corruption("cache file: not a route table cache");
  }
  const std::string_view body = text.substr(0, text.size() - trailer);
  const std::string expected_trailer = "end " + Hex16(Fnv1a64(body)) + "\n";
  if (text.substr(body.size()) != expected_trailer) {
    return Corruption("cache file: checksum mismatch (truncated or damaged)");
  }
  Cursor in(body);
  GRID_RETURN_IF_ERROR(in.Literal(kMagic));
  CachedSource out;
  GRID_ASSIGN_OR_RETURN(uint64_t prefix_bytes, in.Number("prefix", '\n'));
  GRID_ASSIGN_OR_RETURN(std::string_view prefix, in.Bytes(prefix_bytes));
  out.source.prefix = std::string(prefix);
  GRID_RETURN_IF_ERROR(in.Literal("\n"));
  GRID_ASSIGN_OR_RETURN(uint64_t revision, in.Number("revision", '\n'));
  out.revision = static_cast<int64_t>(revision);
  GRID_ASSIGN_OR_RETURN(uint64_t keys, in.Number("keys", '\n'));
  for (uint64_t i = 0; i < keys; ++i) {
    GRID_ASSIGN_OR_RETURN(uint64_t key_bytes, in.Number("", ' '));
    GRID_ASSIGN_OR_RETURN(uint64_t value_bytes, in.Number("", '\n'));
    GRID_ASSIGN_OR_RETURN(std::string_view key, in.Bytes(key_bytes));
    GRID_ASSIGN_OR_RETURN(std::string_view value, in.Bytes(value_bytes));
    GRID_RETURN_IF_ERROR(in.Literal("\n"));
    out.source.kvs.insert_or_assign(std::string(key), std::string(value));
  }
  if (!in.rest().empty()) return Corruption("cache file: bytes after the last key");
  if (out.source.kvs.size() != keys) return Corruption("cache file: duplicate keys");
  return out;
}

Status WriteCacheFile(const std::string& path, const table::TableSource& source, int64_t revision,
                      size_t max_file_bytes) {
  const std::string text = EncodeCache(source, revision);
  if (text.size() > max_file_bytes) {
    return ResourceExhausted("cache file " + path + " would be " + std::to_string(text.size()) +
                             " bytes, limit " + std::to_string(max_file_bytes));
  }
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open " + tmp, errno);
  Status s = WriteAll(fd, text, tmp);
  if (s.ok() && fsync(fd) != 0) s = ErrnoStatus("fsync " + tmp, errno);
  if (close(fd) != 0 && s.ok()) s = ErrnoStatus("close " + tmp, errno);
  if (s.ok() && rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus("rename " + tmp, errno);
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return SyncDir(dir.empty() ? "." : dir);
}

Result<CachedSource> ReadCacheFile(const std::string& path, size_t max_file_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no cache file " + path);
    return ErrnoStatus("open " + path, errno);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus("stat " + path, err);
  }
  if (static_cast<uint64_t>(st.st_size) > max_file_bytes) {
    close(fd);
    return ResourceExhausted("cache file " + path + " is " + std::to_string(st.st_size) +
                             " bytes, limit " + std::to_string(max_file_bytes));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : 0;
      close(fd);
      return n < 0 ? ErrnoStatus("read " + path, err)
                   : Corruption("cache file " + path + ": shrank while read");
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  Result<CachedSource> decoded = DecodeCache(text);
  if (!decoded.ok()) return decoded.status().WithContext(path);
  return decoded;
}

}  // namespace grid::router::watch
