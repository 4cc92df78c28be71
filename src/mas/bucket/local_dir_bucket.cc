#include "mas/bucket/local_dir_bucket.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "mas/bucket/atomic_file.h"
#include "mas/bucket/digest.h"

namespace grid::mas::bucket {
namespace {

constexpr size_t kCopyChunkBytes = 1 << 20;

// RAII for a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<std::string> HashFile(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open " + path, errno);
  Sha256 h;
  std::string buf(kCopyChunkBytes, '\0');
  while (true) {
    ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read " + path, errno);
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  return h.FinalHex();
}

std::string Etag(const std::string& path) {
  char value[128];
  ssize_t n = getxattr(path.c_str(), LocalDirBucket::kDigestXattr, value, sizeof(value));
  if (n == 64) return std::string(value, 64);
  auto hashed = HashFile(path);
  return hashed.ok() ? hashed.value() : "";
}

std::chrono::system_clock::time_point ModifiedTime(const struct stat& st) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

}  // namespace

Result<std::unique_ptr<LocalDirBucket>> LocalDirBucket::Open(const std::string& root,
                                                             LocalDirOptions options) {
  if (root.empty() || root.front() != '/') {
    return InvalidArgument("bucket directory \"" + root + "\" is not an absolute path");
  }
  std::string clean = root;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  std::error_code ec;
  std::filesystem::create_directories(clean, ec);
  if (ec) return IOError("create bucket directory " + clean + ": " + ec.message());
  if (!std::filesystem::is_directory(clean, ec)) {
    return InvalidArgument("bucket directory " + clean + " is not a directory");
  }
  return std::unique_ptr<LocalDirBucket>(new LocalDirBucket(clean, std::move(options)));
}

Status LocalDirBucket::Full(const Status& status) const {
  if (status.code() != Code::kResourceExhausted) return status;
  return ResourceExhausted("bucket " + Describe() + " is full: " + status.message());
}

Status LocalDirBucket::MakeParents(const std::string& key) {
  std::string dir = root_;
  size_t start = 0;
  for (size_t slash; (slash = key.find('/', start)) != std::string::npos; start = slash + 1) {
    std::string parent = dir;
    dir += "/" + key.substr(start, slash - start);
    if (mkdir(dir.c_str(), 0700) == 0) {
      GRID_RETURN_IF_ERROR(Full(SyncDir(parent)));
      continue;
    }
    int err = errno;
    if (err == EEXIST) {
      struct stat st {};
      if (stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      return FailedPrecondition("key " + key + " conflicts with object " +
                                dir.substr(root_.size() + 1) + " in bucket " + Describe());
    }
    if (err == ENAMETOOLONG) return InvalidArgument("key " + key + ": a segment is too long for " + Describe());
    return Full(WriteErrnoStatus("mkdir " + dir, err));
  }
  return Status::Ok();
}

Status LocalDirBucket::WriteObject(const std::string& key,
                                   const std::function<Result<size_t>(char*, size_t)>& read) {
  GRID_RETURN_IF_ERROR(ValidateKey(key));
  GRID_RETURN_IF_ERROR(MakeParents(key));
  const std::string path = root_ + "/" + key;
  auto created = AtomicFile::Create(path);
  if (!created.ok()) return Full(created.status());
  std::unique_ptr<AtomicFile> file = std::move(created).value();
  if (options_.write_fault) file->set_write_fault(options_.write_fault);
  Sha256 digest;
  std::string buf(kCopyChunkBytes, '\0');
  while (true) {
    GRID_ASSIGN_OR_RETURN(size_t n, read(buf.data(), buf.size()));
    if (n == 0) break;
    std::string_view chunk(buf.data(), n);
    digest.Update(chunk);
    GRID_RETURN_IF_ERROR(Full(file->Append(chunk)));
  }
  file->SetXattr(kDigestXattr, digest.FinalHex());
  return Full(file->Commit()).WithContext("put " + key + " in " + Describe());
}

Status LocalDirBucket::PutFile(const std::string& key, const std::string& local_path) {
  Fd src(open(local_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (src.get() < 0) {
    if (errno == ENOENT) return NotFound("local file " + local_path + " does not exist");
    return ErrnoStatus("open " + local_path, errno);
  }
  return WriteObject(key, [&](char* buf, size_t cap) -> Result<size_t> {
    while (true) {
      ssize_t n = read(src.get(), buf, cap);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("read " + local_path, errno);
      return static_cast<size_t>(n);
    }
  });
}

Status LocalDirBucket::PutBytes(const std::string& key, std::string_view bytes) {
  if (static_cast<int64_t>(bytes.size()) > kMaxInMemoryObjectBytes) {
    return ResourceExhausted("object " + key + " of " + std::to_string(bytes.size()) +
                             " bytes is over the in-memory limit of " +
                             std::to_string(kMaxInMemoryObjectBytes));
  }
  size_t offset = 0;
  return WriteObject(key, [&](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, bytes.size() - offset);
    std::memcpy(buf, bytes.data() + offset, n);
    offset += n;
    return n;
  });
}

Status LocalDirBucket::GetFile(const std::string& key, const std::string& local_path) {
  GRID_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = root_ + "/" + key;
  Fd src(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (src.get() < 0 || fstat(src.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    if (src.get() >= 0 || errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG) {
      return NotFound("no object " + key + " in " + Describe());
    }
    return ErrnoStatus("open " + path, errno);
  }
  GRID_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> out, AtomicFile::Create(local_path));
  std::string buf(kCopyChunkBytes, '\0');
  while (true) {
    ssize_t n = read(src.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read " + path, errno);
    if (n == 0) break;
    GRID_RETURN_IF_ERROR(out->Append(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
  return out->Commit();
}

Result<std::string> LocalDirBucket::GetBytes(const std::string& key) {
  GRID_RETURN_IF_ERROR(ValidateKey(key));
  std::string out;
  Status s = ReadSmallFile(root_ + "/" + key, kMaxInMemoryObjectBytes, &out);
  if (s.code() == Code::kNotFound) return NotFound("no object " + key + " in " + Describe());
  GRID_RETURN_IF_ERROR(s);
  return out;
}

Result<std::vector<ObjectInfo>> LocalDirBucket::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  // Only the directory named by the prefix's complete segments can hold matches; a prefix
  // whose complete segments no key can have matches nothing.
  size_t slash = prefix.rfind('/');
  std::string start_rel = slash == std::string::npos ? "" : prefix.substr(0, slash);
  if (!start_rel.empty() && !ValidateKey(start_rel).ok()) return out;

  std::vector<std::string> pending = {start_rel};
  while (!pending.empty()) {
    std::string rel = std::move(pending.back());
    pending.pop_back();
    std::string dir_path = rel.empty() ? root_ : root_ + "/" + rel;
    DIR* dir = opendir(dir_path.c_str());
    if (dir == nullptr) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return ErrnoStatus("list " + dir_path, errno);
    }
    while (struct dirent* entry = readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (name.substr(0, kReservedSegmentPrefix.size()) == kReservedSegmentPrefix) continue;
      std::string key = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
      std::string path = root_ + "/" + key;
      struct stat st {};
      if (lstat(path.c_str(), &st) != 0) continue;  // deleted meanwhile
      if (S_ISDIR(st.st_mode)) {
        // Descend only where a match can be.
        std::string as_dir = key + "/";
        size_t n = std::min(as_dir.size(), prefix.size());
        if (as_dir.compare(0, n, prefix, 0, n) == 0) pending.push_back(key);
        continue;
      }
      if (!S_ISREG(st.st_mode) || key.compare(0, prefix.size(), prefix) != 0) continue;
      if (out.size() >= options_.max_listed_objects) {
        closedir(dir);
        return ResourceExhausted("more than " + std::to_string(options_.max_listed_objects) +
                                 " objects under prefix \"" + prefix + "\" in " + Describe());
      }
      out.push_back(ObjectInfo{key, st.st_size, Etag(path), ModifiedTime(st)});
    }
    closedir(dir);
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status LocalDirBucket::Delete(const std::string& key) {
  GRID_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = root_ + "/" + key;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return NotFound("no object " + key + " in " + Describe());
  }
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return NotFound("no object " + key + " in " + Describe());
    return ErrnoStatus("delete " + path, errno);
  }
  return SyncDir(path.substr(0, path.rfind('/')));
}

}  // namespace grid::mas::bucket
