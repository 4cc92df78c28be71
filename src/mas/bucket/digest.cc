#include "mas/bucket/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/check.h"

namespace grid::mas::bucket {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
};

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.FinalHex();
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  GRID_CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
                  &len) != nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  GRID_CHECK(ctx_->md != nullptr);
  GRID_CHECK(EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_->md); }

void Sha256::Update(std::string_view data) {
  GRID_CHECK(EVP_DigestUpdate(ctx_->md, data.data(), data.size()) == 1);
}

std::string Sha256::FinalHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  GRID_CHECK(EVP_DigestFinal_ex(ctx_->md, out, &len) == 1);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(out), len));
}

}  // namespace grid::mas::bucket
