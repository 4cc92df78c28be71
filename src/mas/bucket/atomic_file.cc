#include "mas/bucket/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>

#include "mas/bucket/bucket.h"

namespace grid::mas::bucket {
namespace {

std::atomic<uint64_t> g_temp_counter{0};

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status WriteErrnoStatus(const std::string& what, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    return ResourceExhausted(what + ": " + strerror(err));
  }
  return ErrnoStatus(what, err);
}

Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory " + dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return WriteErrnoStatus("fsync directory " + dir, err);
  return Status::Ok();
}

Status ReadSmallFile(const std::string& path, int64_t max_bytes, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound(path + " does not exist");
    return ErrnoStatus("open " + path, errno);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return NotFound(path + " is not a file");
  }
  if (st.st_size > max_bytes) {
    close(fd);
    return ResourceExhausted(path + " is " + std::to_string(st.st_size) +
                             " bytes, over the in-memory limit of " + std::to_string(max_bytes));
  }
  out->clear();
  char buf[1 << 16];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus("read " + path, err);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out->size()) > max_bytes) {
      close(fd);
      return ResourceExhausted(path + " grew over the in-memory limit of " +
                               std::to_string(max_bytes));
    }
  }
  close(fd);
  return Status::Ok();
}

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& final_path) {
  std::string temp = DirOf(final_path) + "/" + std::string(kReservedSegmentPrefix) +
                     std::to_string(getpid()) + "." + std::to_string(g_temp_counter.fetch_add(1));
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return WriteErrnoStatus("create " + temp, errno);
  return std::unique_ptr<AtomicFile>(new AtomicFile(fd, std::move(temp), final_path));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_) unlink(temp_path_.c_str());
}

Status AtomicFile::Append(std::string_view data) {
  GRID_CHECK(fd_ >= 0) << "Append after Commit";
  while (!data.empty()) {
    int injected = write_fault_ ? write_fault_(bytes_written_) : 0;
    ssize_t n = injected != 0 ? -1 : write(fd_, data.data(), data.size());
    int err = injected != 0 ? injected : errno;
    if (n < 0 && err == EINTR) continue;
    if (n < 0) return WriteErrnoStatus("write " + temp_path_, err);
    data.remove_prefix(static_cast<size_t>(n));
    bytes_written_ += n;
  }
  return Status::Ok();
}

void AtomicFile::SetXattr(const std::string& name, const std::string& value) {
  if (fd_ >= 0) (void)fsetxattr(fd_, name.c_str(), value.data(), value.size(), 0);
}

Status AtomicFile::Commit() {
  GRID_CHECK(fd_ >= 0) << "Commit twice";
  if (fsync(fd_) != 0) return WriteErrnoStatus("fsync " + temp_path_, errno);
  int rc = close(fd_);
  fd_ = -1;
  if (rc != 0) return WriteErrnoStatus("close " + temp_path_, errno);
  if (rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    int err = errno;
    if (err == ENAMETOOLONG) {
      return InvalidArgument(final_path_ + ": a name is too long for the file system");
    }
    if (err == EISDIR || err == ENOTDIR || err == ENOTEMPTY || err == EEXIST) {
      return FailedPrecondition(final_path_ + " is a directory (another key has it as prefix)");
    }
    return WriteErrnoStatus("rename " + temp_path_ + " to " + final_path_, err);
  }
  committed_ = true;
  return SyncDir(DirOf(final_path_));
}

}  // namespace grid::mas::bucket
