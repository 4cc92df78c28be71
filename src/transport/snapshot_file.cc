#include "transport/snapshot_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "transport/options.h"

namespace grid::transport {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  GRID_CHECK(impl_->ctx != nullptr && EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1)
      << "SHA-256 init";
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::Update(const char* data, size_t n) {
  GRID_CHECK(EVP_DigestUpdate(impl_->ctx, data, n) == 1) << "SHA-256 update";
}

std::string Sha256::Finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  GRID_CHECK(EVP_DigestFinal_ex(impl_->ctx, out, &n) == 1) << "SHA-256 final";
  return std::string(reinterpret_cast<char*>(out), n);
}

Result<std::unique_ptr<SnapshotFileWriter>> SnapshotFileWriter::Create(
    const std::string& dir, const std::string& name_prefix, uint64_t expected_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError("create snapshot directory " + dir + ": " + ec.message());
  std::string tmpl = dir + "/" + name_prefix + ".XXXXXX.part";
  int fd = ::mkostemps(tmpl.data(), 5, O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("create snapshot file in " + dir, errno);
  return std::unique_ptr<SnapshotFileWriter>(new SnapshotFileWriter(fd, tmpl, expected_bytes));
}

SnapshotFileWriter::SnapshotFileWriter(int fd, std::string temp_path, uint64_t expected_bytes)
    : fd_(fd), temp_path_(std::move(temp_path)), expected_(expected_bytes) {}

SnapshotFileWriter::~SnapshotFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

Status SnapshotFileWriter::Append(const std::string& data) {
  if (data.size() > expected_ - written_) {
    return OutOfRange("snapshot data exceeds the announced " + std::to_string(expected_) +
                      " bytes");
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + temp_path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  sha_.Update(data.data(), data.size());
  written_ += data.size();
  return Status::Ok();
}

Result<std::string> SnapshotFileWriter::Commit(const std::string& sha256) {
  GRID_CHECK(!committed_) << "Commit twice";
  if (written_ != expected_) {
    return OutOfRange("snapshot truncated: received " + std::to_string(written_) + " of " +
                      std::to_string(expected_) + " bytes");
  }
  if (sha_.Finish() != sha256) return Corruption("snapshot checksum mismatch");
  if (::fsync(fd_) != 0) return ErrnoStatus("sync " + temp_path_, errno);
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return ErrnoStatus("close " + temp_path_, errno);
  std::string final_path = temp_path_.substr(0, temp_path_.size() - 5) + ".snap";
  if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) {
    return ErrnoStatus("rename " + temp_path_, errno);
  }
  committed_ = true;
  std::string dir = std::filesystem::path(final_path).parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    int sync_rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (sync_rc != 0) return ErrnoStatus("sync " + dir, err);
  }
  return final_path;
}

namespace {

class FileSnapshotReader final : public SnapshotReader {
 public:
  FileSnapshotReader(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~FileSnapshotReader() override { ::close(fd_); }
  uint64_t size_bytes() const override { return size_; }
  Result<size_t> Read(char* buf, size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd_, buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return ErrnoStatus("read " + path_, errno);
    }
  }

 private:
  int fd_;
  std::string path_;
  uint64_t size_;
};

}  // namespace

Result<std::unique_ptr<SnapshotReader>> OpenFileSnapshotReader(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("seek " + path, err);
  }
  return std::unique_ptr<SnapshotReader>(
      new FileSnapshotReader(fd, path, static_cast<uint64_t>(size)));
}

}  // namespace grid::transport
