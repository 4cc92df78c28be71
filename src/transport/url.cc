#include "transport/url.h"

#include <charconv>

namespace grid::transport {

std::string PeerUrl::target() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string PeerUrl::WithPort(int new_port) const {
  PeerUrl u = *this;
  u.port = new_port;
  return std::string(tls ? "https://" : "http://") + u.target();
}

Result<PeerUrl> ParsePeerUrl(const std::string& url) {
  PeerUrl u;
  u.original = url;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    return InvalidArgument("peer URL " + url + ": scheme must be http or https");
  }
  size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    if (rest.substr(slash) != "/") return InvalidArgument("peer URL " + url + " has a path");
    rest.resize(slash);
  }
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return InvalidArgument("peer URL " + url + ": bad IPv6 host or missing port");
    }
    u.host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("peer URL " + url + " has no port");
    u.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (u.host.empty()) return InvalidArgument("peer URL " + url + " has no host");
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), u.port);
  if (ec != std::errc() || end != port.data() + port.size() || u.port < 0 || u.port > 65535) {
    return InvalidArgument("peer URL " + url + ": bad port '" + port + "'");
  }
  return u;
}

}  // namespace grid::transport
