#include "transport/tls.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <spdlog/spdlog.h>

#include "transport/cert_gen.h"

namespace grid::transport {
namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty()) return InvalidArgument(path + " is empty");
  return ss.str();
}

}  // namespace

Result<PeerCredentials> PeerCredentials::Load(const TlsOptions& tls,
                                              const std::vector<std::string>& hosts) {
  PeerCredentials c;
  c.client_cert_auth_ = tls.client_cert_auth;
  if (tls.auto_tls) {
    if (tls.auto_tls_dir.empty()) return InvalidArgument("auto-TLS needs a directory");
    std::string cert = tls.auto_tls_dir + "/cert.pem";
    std::string key = tls.auto_tls_dir + "/key.pem";
    if (!std::filesystem::exists(cert) || !std::filesystem::exists(key)) {
      CertRequest req;
      req.common_name = "gridkv-peer";
      req.hosts = hosts;
      req.valid_days = tls.auto_tls_valid_days;
      GRID_ASSIGN_OR_RETURN(KeyAndCert pair, GenerateCertificate(req, nullptr));
      GRID_RETURN_IF_ERROR(WriteKeyAndCert(pair, tls.auto_tls_dir));
      spdlog::info("peer auto-TLS: generated a self-signed certificate in {}", tls.auto_tls_dir);
    }
    GRID_ASSIGN_OR_RETURN(c.cert_pem_, ReadFile(cert));
    GRID_ASSIGN_OR_RETURN(c.key_pem_, ReadFile(key));
    c.configured_ = true;
    c.auto_tls_ = true;
    return c;
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return InvalidArgument("peer TLS needs both a certificate and a key file");
  }
  if (tls.cert_file.empty()) {
    if (tls.client_cert_auth || !tls.trusted_ca_file.empty()) {
      return InvalidArgument("peer client-cert-auth or trusted CA given without a certificate");
    }
    return c;
  }
  if (tls.client_cert_auth && tls.trusted_ca_file.empty()) {
    return InvalidArgument("peer client-cert-auth needs a trusted CA file");
  }
  GRID_ASSIGN_OR_RETURN(c.cert_pem_, ReadFile(tls.cert_file));
  GRID_ASSIGN_OR_RETURN(c.key_pem_, ReadFile(tls.key_file));
  if (!tls.trusted_ca_file.empty()) {
    GRID_ASSIGN_OR_RETURN(c.ca_pem_, ReadFile(tls.trusted_ca_file));
  }
  c.configured_ = true;
  return c;
}

std::shared_ptr<grpc::ServerCredentials> PeerCredentials::Server(bool tls) const {
  if (!tls) return grpc::InsecureServerCredentials();
  GRID_CHECK(configured_) << "TLS server credentials without TLS options";
  grpc::SslServerCredentialsOptions opts;
  opts.pem_key_cert_pairs.push_back({key_pem_, cert_pem_});
  if (auto_tls_) {
    opts.client_certificate_request =
        client_cert_auth_ ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  } else {
    opts.pem_root_certs = ca_pem_;
    opts.client_certificate_request =
        client_cert_auth_ ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return grpc::SslServerCredentials(opts);
}

std::shared_ptr<grpc::ChannelCredentials> PeerCredentials::Channel(bool tls) const {
  if (!tls) return grpc::InsecureChannelCredentials();
  GRID_CHECK(configured_) << "TLS channel credentials without TLS options";
  if (auto_tls_) {
    namespace ex = grpc::experimental;
    auto provider = std::make_shared<ex::StaticDataCertificateProvider>(
        std::vector<ex::IdentityKeyCertPair>{{key_pem_, cert_pem_}});
    ex::TlsChannelCredentialsOptions opts;
    opts.set_certificate_provider(provider);
    opts.watch_identity_key_cert_pairs();
    opts.set_verify_server_certs(false);
    opts.set_certificate_verifier(std::make_shared<ex::NoOpCertificateVerifier>());
    opts.set_check_call_host(false);
    return ex::TlsCredentials(opts);
  }
  grpc::SslCredentialsOptions opts;
  opts.pem_root_certs = ca_pem_;
  opts.pem_private_key = key_pem_;
  opts.pem_cert_chain = cert_pem_;
  return grpc::SslCredentials(opts);
}

}  // namespace grid::transport
