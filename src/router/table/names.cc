#include "router/table/names.h"

#include <arpa/inet.h>

#include <cstring>

#include "router/table/limits.h"

namespace grid::router::table {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsLabel(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool IsName(std::string_view name) { return name.size() <= kMaxNameBytes && IsLabel(name); }

bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostBytes) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!IsLabel(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok || c == 0) return false;
  }
  return true;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

Result<std::string> CanonicalAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return InvalidArgument("must be host:port");
  std::string_view host = address.substr(0, colon);
  std::string_view port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5) return InvalidArgument("port must be 1..65535");
  int port_number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return InvalidArgument("port must be 1..65535");
    port_number = port_number * 10 + (c - '0');
  }
  if (port_number < 1 || port_number > 65535) return InvalidArgument("port must be 1..65535");

  std::string canonical_host;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return InvalidArgument("bad IPv6 literal");
    const std::string inner(host.substr(1, host.size() - 2));
    in6_addr a6;
    if (inet_pton(AF_INET6, inner.c_str(), &a6) != 1) return InvalidArgument("bad IPv6 literal");
    canonical_host = "[" + ToLower(inner) + "]";
  } else {
    canonical_host = ToLower(host);
    const bool numeric = !canonical_host.empty() &&
                         canonical_host.find_first_not_of("0123456789.") == std::string::npos;
    if (numeric) {
      in_addr a4;
      if (inet_pton(AF_INET, canonical_host.c_str(), &a4) != 1) {
        return InvalidArgument("bad IPv4 literal");
      }
    } else if (!IsHostName(canonical_host)) {
      return InvalidArgument("host must be an IPv4 literal, [IPv6] literal or DNS name");
    }
  }
  return canonical_host + ":" + std::string(port);
}

std::optional<std::string_view> NormalizeRequestHost(std::string_view host, char* buffer,
                                                     size_t buffer_bytes) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = host.substr(0, close + 1);
  } else {
    const size_t colon = host.find(':');
    // One colon: a port. More than one: a bare IPv6 literal, kept whole.
    if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
      host = host.substr(0, colon);
    }
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > buffer_bytes) return std::nullopt;
  for (size_t i = 0; i < host.size(); ++i) buffer[i] = Lower(host[i]);
  return std::string_view(buffer, host.size());
}

}  // namespace grid::router::table
