#include "transport/cert_gen.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>

namespace grid::transport {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

Status OpensslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return Internal(what + ": " + buf);
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Result<std::string> BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n <= 0) return Internal("empty PEM output");
  return std::string(data, static_cast<size_t>(n));
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return OpensslError("certificate extension " + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return OpensslError("add extension " + value);
  return Status::Ok();
}

}  // namespace

Result<KeyAndCert> GenerateCertificate(const CertRequest& req, const KeyAndCert* issuer) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpensslError("generate EC key");

  X509Ptr cert(X509_new());
  if (!cert) return OpensslError("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return OpensslError("serial");
  serial_bytes[0] &= 0x7f;
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> serial(
      BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    return OpensslError("serial");
  }
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(req.valid_days) * 86400);
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return OpensslError("set public key");

  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("gridkv"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(req.common_name.c_str()), -1,
                             -1, 0);

  PkeyPtr issuer_key;
  X509Ptr issuer_cert;
  if (issuer != nullptr) {
    BioPtr kb(BIO_new_mem_buf(issuer->key_pem.data(), static_cast<int>(issuer->key_pem.size())));
    issuer_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    BioPtr cb(BIO_new_mem_buf(issuer->cert_pem.data(), static_cast<int>(issuer->cert_pem.size())));
    issuer_cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!issuer_key || !issuer_cert) return OpensslError("read issuer key and certificate");
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }
  X509* signer = issuer_cert ? issuer_cert.get() : cert.get();

  if (req.is_ca) {
    GRID_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE"));
    GRID_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage,
                                      "critical,keyCertSign,cRLSign,digitalSignature"));
  } else {
    GRID_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE"));
    GRID_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_key_usage,
                                      "critical,digitalSignature,keyEncipherment"));
    GRID_RETURN_IF_ERROR(
        AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  if (!req.hosts.empty()) {
    std::string san;
    for (const std::string& h : req.hosts) {
      if (!san.empty()) san += ",";
      san += (IsIpLiteral(h) ? "IP:" : "DNS:") + h;
    }
    GRID_RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_alt_name, san));
  }
  EVP_PKEY* sign_key = issuer_key ? issuer_key.get() : key.get();
  if (X509_sign(cert.get(), sign_key, EVP_sha256()) == 0) return OpensslError("sign certificate");

  BioPtr key_bio(BIO_new(BIO_s_mem()));
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return OpensslError("write PEM");
  }
  KeyAndCert out;
  GRID_ASSIGN_OR_RETURN(out.key_pem, BioToString(key_bio.get()));
  GRID_ASSIGN_OR_RETURN(out.cert_pem, BioToString(cert_bio.get()));
  return out;
}

namespace {

Status WriteFileMode(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus("open " + tmp, errno);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus("write " + tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return ErrnoStatus("sync " + tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename " + tmp, errno);
  return Status::Ok();
}

}  // namespace

Status WriteKeyAndCert(const KeyAndCert& pair, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError("create " + dir + ": " + ec.message());
  GRID_RETURN_IF_ERROR(WriteFileMode(dir + "/key.pem", pair.key_pem, 0600));
  return WriteFileMode(dir + "/cert.pem", pair.cert_pem, 0644);
}

}  // namespace grid::transport
