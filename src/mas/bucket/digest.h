// SHA-256 and HMAC-SHA256 over OpenSSL, as lowercase hex or raw bytes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace grid::mas::bucket {

// Lowercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

// SHA-256 fed in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // The digest of everything fed so far; the object is spent afterwards.
  std::string FinalHex();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace grid::mas::bucket
