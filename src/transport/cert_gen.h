// X.509 certificates for peer TLS, made with OpenSSL: the self-signed pair of auto-TLS, and (for
// tests and tooling) a CA and certificates it signs. Keys are ECDSA P-256; certificates carry
// both serverAuth and clientAuth usage because a member is both server and client to its peers.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace grid::transport {

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

struct CertRequest {
  std::string common_name;
  std::vector<std::string> hosts;  // IP literals become IP SANs, anything else a DNS SAN
  bool is_ca = false;
  int valid_days = 365;
};

// Signed by `issuer` (a CA made by this function), or self-signed when `issuer` is null.
Result<KeyAndCert> GenerateCertificate(const CertRequest& req, const KeyAndCert* issuer);

// Writes `pair` to <dir>/cert.pem and <dir>/key.pem (key readable by the owner only).
Status WriteKeyAndCert(const KeyAndCert& pair, const std::string& dir);

}  // namespace grid::transport
