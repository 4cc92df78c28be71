#include "kv/snapshot/snapshot_file.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "common/check.h"

namespace grid::kv::snapshot {
namespace {

// Read size while hashing or streaming a file.
constexpr size_t kReadBytes = 1 << 20;

}  // namespace

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  GRID_CHECK(ctx_->md != nullptr && EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) == 1);
}
Sha256::~Sha256() = default;

void Sha256::Update(std::string_view data) {
  GRID_CHECK(EVP_DigestUpdate(ctx_->md, data.data(), data.size()) == 1);
}

std::string Sha256::Final() {
  std::string out(kSha256Bytes, '\0');
  unsigned int n = 0;
  GRID_CHECK(EVP_DigestFinal_ex(ctx_->md, reinterpret_cast<unsigned char*>(out.data()), &n) == 1);
  return out;
}

std::string HexOf(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(kDigits[uint8_t(c) >> 4]);
    out.push_back(kDigits[uint8_t(c) & 15]);
  }
  return out;
}

Status StreamWithSha256(
    const std::string& db_path, size_t chunk_bytes,
    const std::function<bool(std::string_view chunk, uint64_t remaining_bytes)>& sink) {
  GRID_CHECK(chunk_bytes > 0);
  std::ifstream in(db_path, std::ios::binary | std::ios::ate);
  if (!in) return IOError("snapshot: open " + db_path);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  Sha256 sha;
  std::vector<char> buf(chunk_bytes);
  uint64_t left = size;
  while (left > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, chunk_bytes));
    if (!in.read(buf.data(), static_cast<std::streamsize>(n))) {
      return IOError("snapshot: read " + db_path + ": file shrank while streaming");
    }
    left -= n;
    const std::string_view chunk(buf.data(), n);
    sha.Update(chunk);
    if (!sink(chunk, left + kSha256Bytes)) {
      return Status(Code::kCancelled, "snapshot: receiver went away");
    }
  }
  if (!sink(sha.Final(), 0)) return Status(Code::kCancelled, "snapshot: receiver went away");
  return Status::Ok();
}

Result<uint64_t> VerifySha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return NotFound("snapshot: cannot open " + path);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  if (size % kAlignBytes != kSha256Bytes) {
    return Corruption("snapshot: " + path + ": no sha256 checksum (" + std::to_string(size) +
                      " bytes is not a multiple of 512 plus 32)");
  }
  const uint64_t db_bytes = size - kSha256Bytes;
  in.seekg(0);
  Sha256 sha;
  std::vector<char> buf(kReadBytes);
  uint64_t left = db_bytes;
  while (left > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    if (!in.read(buf.data(), static_cast<std::streamsize>(n))) {
      return IOError("snapshot: read " + path);
    }
    sha.Update(std::string_view(buf.data(), n));
    left -= n;
  }
  std::string expected(kSha256Bytes, '\0');
  if (!in.read(expected.data(), kSha256Bytes)) return IOError("snapshot: read " + path);
  const std::string got = sha.Final();
  if (got != expected) {
    return Corruption("snapshot: " + path + ": expected sha256 " + HexOf(expected) + ", got " +
                      HexOf(got) + " (checksum at offset " + std::to_string(db_bytes) + ")");
  }
  return db_bytes;
}

}  // namespace grid::kv::snapshot
