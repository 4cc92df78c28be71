#include "kv/snapshot/snapshot_file.h"

#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace grid::kv::snapshot {
namespace fs = std::filesystem;
namespace {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    GRID_CHECK(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1);
  }
  void Update(std::string_view data) {
    GRID_CHECK(EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) == 1);
  }
  std::string Final() {
    std::string out(kChecksumBytes, '\0');
    unsigned int n = 0;
    GRID_CHECK(EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(out.data()), &n) == 1);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// Buffers output into chunks, hashing and counting what passes.
class ChunkWriter {
 public:
  ChunkWriter(size_t chunk_bytes, const std::function<bool(std::string_view)>& sink)
      : chunk_bytes_(chunk_bytes), sink_(sink) {}
  bool Write(std::string_view data) {
    hash_.Update(data);
    written_ += data.size();
    while (!data.empty()) {
      size_t n = std::min(data.size(), chunk_bytes_ - buffer_.size());
      buffer_.append(data.substr(0, n));
      data.remove_prefix(n);
      if (buffer_.size() == chunk_bytes_ && !FlushBuffer()) return false;
    }
    return true;
  }
  bool Finish() {
    std::string pad((kAlignBytes - written_ % kAlignBytes) % kAlignBytes, '\0');
    if (!Write(pad)) return false;
    buffer_ += hash_.Final();
    return FlushBuffer();
  }

 private:
  bool FlushBuffer() {
    if (buffer_.empty()) return true;
    bool ok = sink_(buffer_);
    buffer_.clear();
    return ok;
  }
  const size_t chunk_bytes_;
  const std::function<bool(std::string_view)>& sink_;
  Sha256 hash_;
  uint64_t written_ = 0;
  std::string buffer_;
};

}  // namespace

Status WriteSnapshot(const std::string& dir, size_t chunk_bytes,
                     const std::function<bool(std::string_view chunk)>& sink) {
  GRID_CHECK(chunk_bytes > 0);
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  if (ec) return IOError("snapshot: list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());

  ChunkWriter out(chunk_bytes, sink);
  std::string head(kMagic, sizeof(kMagic) - 1);
  PutU32(&head, static_cast<uint32_t>(files.size()));
  if (!out.Write(head)) return Status(Code::kCancelled, "snapshot: receiver went away");
  std::vector<char> buf(1 << 20);
  for (const fs::path& p : files) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return IOError("snapshot: open " + p.filename().string());
    const uint64_t size = fs::file_size(p, ec);
    if (ec) return IOError("snapshot: size of " + p.filename().string() + ": " + ec.message());
    std::string rec;
    const std::string name = p.filename().string();
    PutU32(&rec, static_cast<uint32_t>(name.size()));
    rec += name;
    PutU64(&rec, size);
    if (!out.Write(rec)) return Status(Code::kCancelled, "snapshot: receiver went away");
    uint64_t left = size;
    while (left > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      if (!in.read(buf.data(), static_cast<std::streamsize>(n))) {
        return IOError("snapshot: read " + name + ": file shrank while streaming");
      }
      if (!out.Write(std::string_view(buf.data(), n))) {
        return Status(Code::kCancelled, "snapshot: receiver went away");
      }
      left -= n;
    }
  }
  if (!out.Finish()) return Status(Code::kCancelled, "snapshot: receiver went away");
  return Status::Ok();
}

Status RestoreSnapshot(const std::string& path, const std::string& dir) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("snapshot: cannot open " + path);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string name = fs::path(path).filename().string();
  if (data.size() < kChecksumBytes + kAlignBytes ||
      data.size() % kAlignBytes != kChecksumBytes) {
    return Corruption("snapshot: " + name + " has " + std::to_string(data.size()) +
                      " bytes, not a multiple of 512 plus a 32-byte checksum");
  }
  const size_t body_bytes = data.size() - kChecksumBytes;
  Sha256 hash;
  hash.Update(std::string_view(data).substr(0, body_bytes));
  if (hash.Final() != data.substr(body_bytes)) {
    return Corruption("snapshot: " + name + ": SHA-256 mismatch at offset " +
                      std::to_string(body_bytes));
  }
  size_t pos = 0;
  auto need = [&](size_t n) -> Status {
    if (body_bytes - pos < n) {
      return Corruption("snapshot: " + name + ": truncated record at offset " + std::to_string(pos));
    }
    return Status::Ok();
  };
  auto u32 = [&] {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(data[pos + i])) << (8 * i);
    pos += 4;
    return v;
  };
  auto u64 = [&] {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(data[pos + i])) << (8 * i);
    pos += 8;
    return v;
  };
  GRID_RETURN_IF_ERROR(need(sizeof(kMagic) - 1 + 4));
  if (data.compare(0, sizeof(kMagic) - 1, kMagic) != 0) {
    return Corruption("snapshot: " + name + " is not a gridkv snapshot (bad magic at offset 0)");
  }
  pos += sizeof(kMagic) - 1;
  const uint32_t count = u32();
  if (count > kMaxFiles) {
    return Corruption("snapshot: " + name + ": file count " + std::to_string(count) + " at offset " +
                      std::to_string(pos - 4) + " exceeds the limit");
  }
  std::error_code ec;
  if (fs::exists(dir)) return FailedPrecondition("snapshot: target " + dir + " already exists");
  fs::create_directories(dir, ec);
  if (ec) return IOError("snapshot: create " + dir + ": " + ec.message());
  for (uint32_t i = 0; i < count; ++i) {
    const size_t record_offset = pos;
    GRID_RETURN_IF_ERROR(need(4));
    const uint32_t name_bytes = u32();
    if (name_bytes == 0 || name_bytes > kMaxNameBytes) {
      return Corruption("snapshot: " + name + ": bad file name length at offset " +
                        std::to_string(record_offset));
    }
    GRID_RETURN_IF_ERROR(need(name_bytes + 8));
    std::string file = data.substr(pos, name_bytes);
    pos += name_bytes;
    if (file.find('/') != std::string::npos || file == "." || file == "..") {
      return Corruption("snapshot: " + name + ": bad file name at offset " +
                        std::to_string(record_offset));
    }
    const uint64_t size = u64();
    GRID_RETURN_IF_ERROR(need(size));
    std::ofstream out(fs::path(dir) / file, std::ios::binary);
    out.write(data.data() + pos, static_cast<std::streamsize>(size));
    if (!out.flush()) return IOError("snapshot: write " + file + " into " + dir);
    pos += size;
  }
  for (size_t i = pos; i < body_bytes; ++i) {
    if (data[i] != 0) {
      return Corruption("snapshot: " + name + ": unexpected data in padding at offset " +
                        std::to_string(i));
    }
  }
  return Status::Ok();
}

}  // namespace grid::kv::snapshot
