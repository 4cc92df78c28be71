// Peer URLs: "http://host:port" (plain text) or "https://host:port" (TLS).
#pragma once

#include <string>

#include "common/status.h"

namespace grid::transport {

struct PeerUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  int port = 0;
  std::string original;

  // "host:port" as gRPC wants it ("[::1]:2380" for IPv6).
  std::string target() const;
  // The URL with `port` in place of the original port.
  std::string WithPort(int new_port) const;
};

// InvalidArgument for another scheme, a missing or bad port, or a path other than "/".
Result<PeerUrl> ParsePeerUrl(const std::string& url);

}  // namespace grid::transport
