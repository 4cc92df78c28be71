#include "mas/backup/snapshot.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <grpcpp/client_context.h>

#include "client/client.h"
#include "common/grpc_status.h"
#include "etcd/rpc.grpc.pb.h"

namespace grid::mas::backup {
namespace {

constexpr size_t kReadChunkBytes = 1 << 20;

std::string Hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    GRID_CHECK(ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1);
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const char* data, size_t n) {
    GRID_CHECK(EVP_DigestUpdate(ctx_, data, n) == 1);
  }
  std::string FinalHex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    GRID_CHECK(EVP_DigestFinal_ex(ctx_, digest, &n) == 1);
    return Hex(digest, n);
  }

 private:
  EVP_MD_CTX* ctx_;
};

// An open file descriptor, closed on destruction.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  Status Close(const std::string& path) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return ErrnoStatus("close " + path, errno);
    return Status::Ok();
  }

 private:
  int fd_;
};

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open " + dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + dir, errno);
  return fd.Close(dir);
}

// Reads the file in chunks: `sink(offset, data, n)`.
template <typename Sink>
Status ReadChunks(const std::string& path, Sink sink) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open " + path, errno);
  std::string buf(kReadChunkBytes, '\0');
  int64_t offset = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read " + path, errno);
    }
    if (n == 0) break;
    sink(offset, buf.data(), static_cast<size_t>(n));
    offset += n;
  }
  return fd.Close(path);
}

std::string Target(const std::string& endpoint) {
  for (const char* scheme : {"http://", "https://"}) {
    if (endpoint.rfind(scheme, 0) == 0) return endpoint.substr(std::strlen(scheme));
  }
  return endpoint;
}

Status StreamInto(client::Client* member, const std::string& part_path,
                  const TakeSnapshotOptions& options) {
  Fd fd(::open(part_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return ErrnoStatus("open " + part_path, errno);
  auto stub = etcdserverpb::Maintenance::NewStub(member->channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options.stream_timeout);
  auto reader = stub->Snapshot(&ctx, etcdserverpb::SnapshotRequest());
  etcdserverpb::SnapshotResponse resp;
  int64_t total = 0;
  Status write_error;
  while (reader->Read(&resp)) {
    total += static_cast<int64_t>(resp.blob().size());
    if (total > options.max_snapshot_bytes) {
      ctx.TryCancel();
      write_error = ResourceExhausted("snapshot stream exceeds the limit of " +
                                      std::to_string(options.max_snapshot_bytes) + " bytes");
      break;
    }
    write_error = WriteAll(fd.get(), resp.blob(), part_path);
    if (!write_error.ok()) {
      ctx.TryCancel();
      break;
    }
  }
  const grpc::Status finished = reader->Finish();
  GRID_RETURN_IF_ERROR(write_error);
  if (!finished.ok()) return FromGrpc(finished).WithContext("snapshot stream");
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + part_path, errno);
  return fd.Close(part_path);
}

}  // namespace

Result<SnapshotFileInfo> DigestFile(const std::string& path) {
  Sha256 sha;
  SnapshotFileInfo info;
  GRID_RETURN_IF_ERROR(ReadChunks(path, [&](int64_t, const char* data, size_t n) {
    sha.Update(data, n);
    info.size_bytes += static_cast<int64_t>(n);
  }));
  info.sha256 = sha.FinalHex();
  return info;
}

Result<SnapshotFileInfo> VerifySnapshotFile(const std::string& path) {
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  if (ec) return IOError("snapshot " + path + ": " + ec.message());
  const int64_t size = static_cast<int64_t>(file_size);
  const int64_t digest_offset = size - static_cast<int64_t>(kSnapshotDigestBytes);
  auto corrupt = [&](int64_t offset, const std::string& what) {
    return Corruption("snapshot " + path + ": offset " + std::to_string(offset) + ": " + what);
  };
  if (size < kBoltMagicOffset + 4 + static_cast<int64_t>(kSnapshotDigestBytes)) {
    return corrupt(0, std::to_string(size) + " bytes cannot hold a bbolt file and its " +
                          "32-byte sha256");
  }
  if (size % kSnapshotAlignBytes != static_cast<int64_t>(kSnapshotDigestBytes)) {
    return corrupt(size, "size " + std::to_string(size) + " is not a multiple of " +
                             std::to_string(kSnapshotAlignBytes) +
                             " plus 32 (truncated, or no trailing sha256)");
  }
  Sha256 db_sha;
  Sha256 file_sha;
  std::string magic;
  std::string trailer;
  GRID_RETURN_IF_ERROR(ReadChunks(path, [&](int64_t offset, const char* data, size_t n) {
    file_sha.Update(data, n);
    const int64_t end = offset + static_cast<int64_t>(n);
    const int64_t db_end = std::min(end, digest_offset);
    if (db_end > offset) db_sha.Update(data, static_cast<size_t>(db_end - offset));
    if (end > digest_offset) {
      const int64_t from = std::max(offset, digest_offset);
      trailer.append(data + (from - offset), static_cast<size_t>(end - from));
    }
    for (int64_t i = std::max(offset, kBoltMagicOffset); i < std::min(end, kBoltMagicOffset + 4);
         ++i) {
      magic.push_back(data[i - offset]);
    }
  }));
  if (trailer.size() != kSnapshotDigestBytes || magic.size() != 4) {
    return IOError("snapshot " + path + ": the file changed while it was read");
  }
  uint32_t m = 0;
  for (int i = 3; i >= 0; --i) m = (m << 8) | static_cast<unsigned char>(magic[i]);
  if (m != kBoltMagic) {
    return corrupt(kBoltMagicOffset, "not a bbolt file (magic " + Hex(reinterpret_cast<const unsigned char*>(magic.data()), 4) + ")");
  }
  const std::string expected =
      Hex(reinterpret_cast<const unsigned char*>(trailer.data()), trailer.size());
  const std::string actual = db_sha.FinalHex();
  if (expected != actual) {
    return corrupt(digest_offset, "trailing sha256 " + expected + " does not match the sha256 " +
                                      actual + " of bytes 0.." + std::to_string(digest_offset));
  }
  return SnapshotFileInfo{size, file_sha.FinalHex()};
}

Result<SnapshotInfo> TakeSnapshot(const std::vector<std::string>& endpoints,
                                  const std::string& local_path,
                                  const TakeSnapshotOptions& options) {
  if (endpoints.empty()) return InvalidArgument("snapshot: no endpoints");
  client::ClientOptions copts;
  copts.dial_timeout = options.dial_timeout;
  copts.call_timeout = options.call_timeout;
  std::unique_ptr<client::Client> member;
  SnapshotInfo info;
  std::string unreached;
  for (const std::string& endpoint : endpoints) {
    auto c = client::Client::Connect({Target(endpoint)}, copts);
    Status failed = c.status();
    if (c.ok()) {
      auto status = (*c)->MemberStatus();
      if (status.ok()) {
        info.endpoint = endpoint;
        info.member_id = status->header().member_id();
        info.revision = status->header().revision();
        info.server_version = status->version();
        member = std::move(c).value();
        break;
      }
      failed = status.status();
    }
    unreached += (unreached.empty() ? "" : "; ") + endpoint + ": " + failed.ToString();
  }
  if (member == nullptr) return Unavailable("snapshot: no member answered Status: " + unreached);

  const std::string part_path = local_path + ".part";
  auto cleanup = [&](Status s) {
    std::error_code ec;
    std::filesystem::remove(part_path, ec);
    return s.WithContext("snapshot of " + info.endpoint);
  };
  Status streamed = StreamInto(member.get(), part_path, options);
  if (!streamed.ok()) return cleanup(streamed);
  auto verified = VerifySnapshotFile(part_path);
  if (!verified.ok()) return cleanup(verified.status());
  info.file = *verified;
  std::error_code ec;
  std::filesystem::rename(part_path, local_path, ec);
  if (ec) return cleanup(IOError("rename " + part_path + ": " + ec.message()));
  std::string dir = std::filesystem::path(local_path).parent_path().string();
  Status synced = SyncDir(dir.empty() ? "." : dir);
  if (!synced.ok()) {
    std::filesystem::remove(local_path, ec);
    return synced.WithContext("snapshot of " + info.endpoint);
  }

  if (options.hash_kv) {
    auto stub = etcdserverpb::Maintenance::NewStub(member->channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options.call_timeout);
    etcdserverpb::HashKVRequest req;
    req.set_revision(info.revision);
    etcdserverpb::HashKVResponse resp;
    const grpc::Status s = stub->HashKV(&ctx, req, &resp);
    if (s.ok()) {
      info.hash_kv = resp.hash();
    } else {
      info.hash_kv_error = FromGrpc(s).ToString();
    }
  }
  return info;
}

}  // namespace grid::mas::backup
