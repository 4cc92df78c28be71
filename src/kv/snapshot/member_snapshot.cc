#include "kv/snapshot/member_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <utility>

namespace grid::kv::snapshot {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMagicBytes = 8;
constexpr size_t kHeaderBytes = kMagicBytes + 4;     // magic, version
constexpr size_t kRecordHeaderBytes = 1 + 1 + 4 + 4;  // type, table, key and value lengths
constexpr size_t kChecksumBytes = 4;
constexpr size_t kTrailerBytes = 1 + 8 + 4;  // type, record count, file checksum
constexpr uint8_t kTrailerType = 0xff;
// Write buffer and read size.
constexpr size_t kIoBufferBytes = 1 << 20;
constexpr char kConsistentIndex[] = "consistent_index";

void PutBE32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (24 - 8 * i));
}
void PutBE64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (56 - 8 * i));
}
uint32_t GetBE32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t GetBE64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// The record type byte of a family (and back).
uint8_t TypeOf(mvcc::RawFamily family) { return static_cast<uint8_t>(family); }
const char* FamilyName(mvcc::RawFamily family) {
  switch (family) {
    case mvcc::RawFamily::kKey:
      return "key";
    case mvcc::RawFamily::kMeta:
      return "meta";
    case mvcc::RawFamily::kSide:
      return "side";
  }
  return "?";
}
static_assert(static_cast<int>(mvcc::RawFamily::kKey) == 0 &&
                  static_cast<int>(mvcc::RawFamily::kMeta) == 1 &&
                  static_cast<int>(mvcc::RawFamily::kSide) == 2,
              "record types are the family numbers");

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x", v);
  return buf;
}

std::string ParentDir(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("member snapshot: open " + dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("member snapshot: fsync " + dir, err);
  return Status::Ok();
}

Status Corrupt(const std::string& path, uint64_t offset, const std::string& what) {
  return Corruption("member snapshot " + path + ": offset " + std::to_string(offset) + ": " +
                    what);
}

// Sequential buffered reads of a file whose size is taken at open.
class InFile {
 public:
  static Result<std::unique_ptr<InFile>> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == ENOENT) return NotFound("member snapshot: no file " + path);
      return ErrnoStatus("member snapshot: open " + path, err);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus("member snapshot: stat " + path, err);
    }
    return std::unique_ptr<InFile>(new InFile(path, fd, static_cast<uint64_t>(st.st_size)));
  }
  ~InFile() { ::close(fd_); }
  InFile(const InFile&) = delete;
  InFile& operator=(const InFile&) = delete;

  uint64_t size() const { return size_; }
  uint64_t offset() const { return offset_; }

  // Reads exactly n bytes. The caller checked them against size(): running out means the
  // file shrank while it was read.
  Status Read(char* dst, size_t n) {
    while (n > 0) {
      if (pos_ == buf_.size()) GRID_RETURN_IF_ERROR(Fill());
      const size_t k = std::min(n, buf_.size() - pos_);
      std::memcpy(dst, buf_.data() + pos_, k);
      pos_ += k;
      offset_ += k;
      dst += k;
      n -= k;
    }
    return Status::Ok();
  }

 private:
  InFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}

  Status Fill() {
    buf_.resize(kIoBufferBytes);
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data(), buf_.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoStatus("member snapshot: read " + path_, errno);
    if (n == 0) return Corrupt(path_, offset_, "the file ended early (it changed while read)");
    buf_.resize(static_cast<size_t>(n));
    pos_ = 0;
    return Status::Ok();
  }

  const std::string path_;
  const int fd_;
  const uint64_t size_;
  uint64_t offset_ = 0;
  std::string buf_;
  size_t pos_ = 0;
};

using RecordVisitor = std::function<Status(const mvcc::RawRecord& record)>;

// Reads and checks the whole file, calling `visit` (if set) with each record once its checksum
// matched. A visitor's error is returned with the file, offset and record number prepended.
Result<MemberSnapshotInfo> Scan(const std::string& path, const MemberSnapshotLimits& limits,
                                const RecordVisitor& visit) {
  GRID_ASSIGN_OR_RETURN(auto in, InFile::Open(path));
  const uint64_t size = in->size();
  if (size < kHeaderBytes) {
    return Corrupt(path, size, "truncated: " + std::to_string(size) + " bytes cannot hold the " +
                                   std::to_string(kHeaderBytes) + "-byte header");
  }
  char header[kHeaderBytes];
  GRID_RETURN_IF_ERROR(in->Read(header, kHeaderBytes));
  if (std::memcmp(header, kMemberSnapshotMagic, kMagicBytes) != 0) {
    return Corrupt(path, 0, "bad magic (not a member snapshot file)");
  }
  const uint32_t version = GetBE32(header + kMagicBytes);
  if (version != kMemberSnapshotVersion) {
    return Corrupt(path, kMagicBytes, "unsupported version " + std::to_string(version) +
                                          " (this build reads version " +
                                          std::to_string(kMemberSnapshotVersion) + ")");
  }
  mvcc::Crc32c file_crc;
  file_crc.Update(std::string_view(header, kHeaderBytes));

  MemberSnapshotInfo info;
  info.bytes = size;
  std::string body;  // table, key, value, checksum of the current record
  while (true) {
    const uint64_t offset = in->offset();
    const uint64_t left = size - offset;
    const uint64_t index = info.records;
    const auto record_name = [index] { return "record " + std::to_string(index); };
    if (left == 0) return Corrupt(path, offset, "truncated: the file ends without a trailer");
    char head[kRecordHeaderBytes];
    GRID_RETURN_IF_ERROR(in->Read(head, 1));
    const auto type = static_cast<uint8_t>(head[0]);

    if (type == kTrailerType) {
      if (left < kTrailerBytes) {
        return Corrupt(path, offset, "truncated: the " + std::to_string(kTrailerBytes) +
                                         "-byte trailer runs past the end of the file at offset " +
                                         std::to_string(size));
      }
      char rest[kTrailerBytes - 1];
      GRID_RETURN_IF_ERROR(in->Read(rest, sizeof(rest)));
      file_crc.Update(std::string_view(head, 1));
      file_crc.Update(std::string_view(rest, 8));
      const uint64_t count = GetBE64(rest);
      const uint32_t stored = GetBE32(rest + 8);
      if (stored != file_crc.value()) {
        return Corrupt(path, offset, "trailer: file checksum mismatch (stored " + Hex32(stored) +
                                         ", computed " + Hex32(file_crc.value()) + ")");
      }
      if (count != info.records) {
        return Corrupt(path, offset, "trailer: " + std::to_string(count) +
                                         " records counted, the file holds " +
                                         std::to_string(info.records));
      }
      if (left > kTrailerBytes) {
        return Corrupt(path, offset + kTrailerBytes,
                       std::to_string(left - kTrailerBytes) + " bytes after the trailer");
      }
      return info;
    }

    if (type > TypeOf(mvcc::RawFamily::kSide)) {
      return Corrupt(path, offset, record_name() + ": unknown record type " + std::to_string(type));
    }
    if (left < kRecordHeaderBytes) {
      return Corrupt(path, offset, record_name() + ": truncated: its " +
                                       std::to_string(kRecordHeaderBytes) +
                                       "-byte header runs past the end of the file at offset " +
                                       std::to_string(size));
    }
    GRID_RETURN_IF_ERROR(in->Read(head + 1, kRecordHeaderBytes - 1));
    const auto family = static_cast<mvcc::RawFamily>(type);
    const size_t table_bytes = static_cast<uint8_t>(head[1]);
    const uint32_t key_bytes = GetBE32(head + 2);
    const uint32_t value_bytes = GetBE32(head + 6);
    if ((family == mvcc::RawFamily::kSide) != (table_bytes > 0)) {
      return Corrupt(path, offset, record_name() + ": a " + FamilyName(family) +
                                       " record with a table name of " +
                                       std::to_string(table_bytes) + " bytes");
    }
    if (key_bytes > limits.max_key_bytes) {
      return Corrupt(path, offset, record_name() + ": key of " + std::to_string(key_bytes) +
                                       " bytes is over the limit of " +
                                       std::to_string(limits.max_key_bytes));
    }
    if (value_bytes > limits.max_value_bytes) {
      return Corrupt(path, offset, record_name() + ": value of " + std::to_string(value_bytes) +
                                       " bytes is over the limit of " +
                                       std::to_string(limits.max_value_bytes));
    }
    const uint64_t record_bytes =
        kRecordHeaderBytes + table_bytes + uint64_t{key_bytes} + value_bytes + kChecksumBytes;
    if (record_bytes > left) {
      return Corrupt(path, offset, record_name() + ": its lengths (table " +
                                       std::to_string(table_bytes) + ", key " +
                                       std::to_string(key_bytes) + ", value " +
                                       std::to_string(value_bytes) +
                                       " bytes) run past the end of the file at offset " +
                                       std::to_string(size));
    }
    body.resize(record_bytes - kRecordHeaderBytes);
    GRID_RETURN_IF_ERROR(in->Read(body.data(), body.size()));
    const std::string_view payload(body.data(), body.size() - kChecksumBytes);
    const std::string_view checksum(body.data() + payload.size(), kChecksumBytes);
    mvcc::Crc32c crc;
    crc.Update(std::string_view(head, kRecordHeaderBytes));
    crc.Update(payload);
    const uint32_t stored = GetBE32(checksum.data());
    if (stored != crc.value()) {
      return Corrupt(path, offset, record_name() + ": checksum mismatch (stored " + Hex32(stored) +
                                       ", computed " + Hex32(crc.value()) + ")");
    }
    file_crc.Update(checksum);

    mvcc::RawRecord record;
    record.family = family;
    record.table = payload.substr(0, table_bytes);
    record.key = payload.substr(table_bytes, key_bytes);
    record.value = payload.substr(table_bytes + key_bytes);
    if (family == mvcc::RawFamily::kMeta && record.key == kConsistentIndex) {
      if (record.value.size() != 8) {
        return Corrupt(path, offset, record_name() + ": consistent_index of " +
                                         std::to_string(record.value.size()) +
                                         " bytes (expected 8)");
      }
      info.consistent_index = GetBE64(record.value.data());
    }
    if (visit) {
      Status s = visit(record);
      if (!s.ok()) {
        return Status(s.code(), "member snapshot " + path + ": offset " + std::to_string(offset) +
                                    ": " + record_name() + ": " + s.message());
      }
    }
    ++info.records;
  }
}

// Builds a store in `dir` from the file; the importer (and its RocksDB) is closed on return.
Result<MemberSnapshotInfo> BuildStore(const std::string& path, const std::string& dir,
                                      const MemberSnapshotLimits& limits) {
  mvcc::Options options;
  options.dir = dir;
  GRID_ASSIGN_OR_RETURN(auto importer, mvcc::RawImporter::Create(options));
  GRID_ASSIGN_OR_RETURN(
      MemberSnapshotInfo info,
      Scan(path, limits, [&](const mvcc::RawRecord& r) { return importer->Add(r); }));
  GRID_RETURN_IF_ERROR(importer->Finish());
  return info;
}

bool SameInfo(const MemberSnapshotInfo& a, const MemberSnapshotInfo& b) {
  return a.bytes == b.bytes && a.records == b.records && a.consistent_index == b.consistent_index;
}

}  // namespace

// Buffered writes to a new file; Finish flushes, fsyncs and closes it.
class MemberSnapshotWriter::File {
 public:
  static Result<std::unique_ptr<File>> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("member snapshot: create " + path, errno);
    return std::unique_ptr<File>(new File(path, fd));
  }
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  uint64_t bytes() const { return bytes_; }

  Status Append(std::string_view data) {
    bytes_ += data.size();
    if (buf_.size() + data.size() > kIoBufferBytes) {
      GRID_RETURN_IF_ERROR(WriteAll(buf_));
      buf_.clear();
      if (data.size() >= kIoBufferBytes) return WriteAll(data);
    }
    buf_.append(data);
    return Status::Ok();
  }

  Status Finish() {
    GRID_RETURN_IF_ERROR(WriteAll(buf_));
    buf_.clear();
    if (::fsync(fd_) != 0) return ErrnoStatus("member snapshot: fsync " + path_, errno);
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) return ErrnoStatus("member snapshot: close " + path_, errno);
    return Status::Ok();
  }

 private:
  File(std::string path, int fd) : path_(std::move(path)), fd_(fd) { buf_.reserve(kIoBufferBytes); }

  Status WriteAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("member snapshot: write " + path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  const std::string path_;
  int fd_;
  std::string buf_;
  uint64_t bytes_ = 0;
};

Result<std::unique_ptr<MemberSnapshotWriter>> MemberSnapshotWriter::Create(
    const std::string& path, const MemberSnapshotLimits& limits) {
  if (path.empty()) return InvalidArgument("member snapshot: empty path");
  GRID_ASSIGN_OR_RETURN(auto file, File::Open(path + ".tmp"));
  std::unique_ptr<MemberSnapshotWriter> writer(
      new MemberSnapshotWriter(path, limits, std::move(file)));
  char header[kHeaderBytes];
  std::memcpy(header, kMemberSnapshotMagic, kMagicBytes);
  PutBE32(header + kMagicBytes, kMemberSnapshotVersion);
  writer->file_crc_.Update(std::string_view(header, kHeaderBytes));
  GRID_RETURN_IF_ERROR(writer->Fail(writer->file_->Append(std::string_view(header, kHeaderBytes))));
  return writer;
}

MemberSnapshotWriter::MemberSnapshotWriter(std::string path, const MemberSnapshotLimits& limits,
                                           std::unique_ptr<File> file)
    : path_(std::move(path)), limits_(limits), file_(std::move(file)) {}

MemberSnapshotWriter::~MemberSnapshotWriter() {
  if (file_ != nullptr) {
    file_.reset();
    ::unlink((path_ + ".tmp").c_str());
  }
}

Status MemberSnapshotWriter::Fail(Status status) {
  if (!status.ok() && file_ != nullptr) {
    file_.reset();
    ::unlink((path_ + ".tmp").c_str());
  }
  return status;
}

Status MemberSnapshotWriter::Add(const mvcc::RawRecord& record) {
  if (file_ == nullptr) {
    return FailedPrecondition("member snapshot: " + path_ + " is finished or failed");
  }
  const std::string what = std::string("member snapshot: ") + FamilyName(record.family) +
                           " record " + std::to_string(info_.records);
  if (record.family == mvcc::RawFamily::kSide) {
    if (record.table.empty() || record.table.size() > kMaxMemberSnapshotTableBytes) {
      return Fail(InvalidArgument(what + ": side table name of " +
                                  std::to_string(record.table.size()) + " bytes (1.." +
                                  std::to_string(kMaxMemberSnapshotTableBytes) + ")"));
    }
  } else if (!record.table.empty()) {
    return Fail(InvalidArgument(what + ": a table name on a record that is not a side row"));
  }
  if (record.key.size() > limits_.max_key_bytes) {
    return Fail(ResourceExhausted(what + ": key of " + std::to_string(record.key.size()) +
                                  " bytes is over max_key_bytes " +
                                  std::to_string(limits_.max_key_bytes)));
  }
  if (record.value.size() > limits_.max_value_bytes) {
    return Fail(ResourceExhausted(what + ": value of " + std::to_string(record.value.size()) +
                                  " bytes is over max_value_bytes " +
                                  std::to_string(limits_.max_value_bytes)));
  }
  char head[kRecordHeaderBytes];
  head[0] = static_cast<char>(TypeOf(record.family));
  head[1] = static_cast<char>(record.table.size());
  PutBE32(head + 2, static_cast<uint32_t>(record.key.size()));
  PutBE32(head + 6, static_cast<uint32_t>(record.value.size()));
  mvcc::Crc32c crc;
  const std::string_view parts[] = {std::string_view(head, kRecordHeaderBytes), record.table,
                                    record.key, record.value};
  for (std::string_view part : parts) {
    crc.Update(part);
    GRID_RETURN_IF_ERROR(Fail(file_->Append(part)));
  }
  char checksum[kChecksumBytes];
  PutBE32(checksum, crc.value());
  GRID_RETURN_IF_ERROR(Fail(file_->Append(std::string_view(checksum, kChecksumBytes))));
  file_crc_.Update(std::string_view(checksum, kChecksumBytes));
  if (record.family == mvcc::RawFamily::kMeta && record.key == kConsistentIndex &&
      record.value.size() == 8) {
    info_.consistent_index = GetBE64(record.value.data());
  }
  ++info_.records;
  return Status::Ok();
}

Result<MemberSnapshotInfo> MemberSnapshotWriter::Finish() {
  GRID_CHECK(file_ != nullptr) << "member snapshot: Finish after Finish or a failure";
  char trailer[kTrailerBytes];
  trailer[0] = static_cast<char>(kTrailerType);
  PutBE64(trailer + 1, info_.records);
  file_crc_.Update(std::string_view(trailer, 9));
  PutBE32(trailer + 9, file_crc_.value());
  GRID_RETURN_IF_ERROR(Fail(file_->Append(std::string_view(trailer, kTrailerBytes))));
  GRID_RETURN_IF_ERROR(Fail(file_->Finish()));
  info_.bytes = file_->bytes();
  const std::string tmp = path_ + ".tmp";
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    return Fail(ErrnoStatus("member snapshot: rename " + tmp + " to " + path_, errno));
  }
  file_.reset();  // published: nothing to remove any more
  if (Status s = SyncDir(ParentDir(path_)); !s.ok()) {
    ::unlink(path_.c_str());  // a file whose rename may not be durable is not kept
    return s;
  }
  return info_;
}

Result<MemberSnapshotInfo> WriteMemberSnapshot(const mvcc::Store& store, const std::string& path,
                                               const MemberSnapshotLimits& limits) {
  GRID_ASSIGN_OR_RETURN(auto writer, MemberSnapshotWriter::Create(path, limits));
  GRID_RETURN_IF_ERROR(
      store.ExportRaw([&](const mvcc::RawRecord& record) { return writer->Add(record); }));
  return writer->Finish();
}

Result<MemberSnapshotInfo> VerifyMemberSnapshot(const std::string& path,
                                                const MemberSnapshotLimits& limits) {
  return Scan(path, limits, nullptr);
}

Result<MemberSnapshotInfo> ImportMemberSnapshot(const std::string& path,
                                                const std::string& store_dir,
                                                const MemberSnapshotLimits& limits) {
  if (store_dir.empty()) return InvalidArgument("member snapshot: empty store directory");
  std::error_code ec;
  const bool exists = fs::exists(store_dir, ec);
  if (ec) return IOError("member snapshot: stat " + store_dir + ": " + ec.message());
  if (exists) {
    return FailedPrecondition("member snapshot: import target " + store_dir + " already exists");
  }
  GRID_ASSIGN_OR_RETURN(const MemberSnapshotInfo verified, VerifyMemberSnapshot(path, limits));

  const std::string building = store_dir + ".importing";
  fs::remove_all(building, ec);  // left by an interrupted import
  if (ec) return IOError("member snapshot: remove " + building + ": " + ec.message());
  Result<MemberSnapshotInfo> built = BuildStore(path, building, limits);
  if (built.ok() && !SameInfo(*built, verified)) {
    built = Corruption("member snapshot " + path + ": the file changed during the import");
  }
  if (built.ok() && ::rename(building.c_str(), store_dir.c_str()) != 0) {
    built = ErrnoStatus("member snapshot: rename " + building + " to " + store_dir, errno);
  }
  if (!built.ok()) {
    fs::remove_all(building, ec);
    return built.status();
  }
  if (Status s = SyncDir(ParentDir(store_dir)); !s.ok()) {
    fs::remove_all(store_dir, ec);
    return s;
  }
  return built;
}

}  // namespace grid::kv::snapshot
