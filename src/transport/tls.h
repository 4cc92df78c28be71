// gRPC credentials for the peer server and peer channels, built once from TlsOptions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "common/status.h"
#include "transport/options.h"

namespace grid::transport {

class PeerCredentials {
 public:
  // Reads the files (generating the auto-TLS pair first, with `hosts` as its names).
  // InvalidArgument for an inconsistent configuration; IOError for unreadable files.
  static Result<PeerCredentials> Load(const TlsOptions& tls, const std::vector<std::string>& hosts);

  bool tls_configured() const { return configured_; }
  // For an http:// listen URL: insecure; for https://: TLS. REQUIRES: tls_configured() for TLS.
  std::shared_ptr<grpc::ServerCredentials> Server(bool tls) const;
  std::shared_ptr<grpc::ChannelCredentials> Channel(bool tls) const;

 private:
  bool configured_ = false;
  bool auto_tls_ = false;
  bool client_cert_auth_ = false;
  std::string key_pem_;
  std::string cert_pem_;
  std::string ca_pem_;
};

}  // namespace grid::transport
