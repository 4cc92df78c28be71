#include "router/net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

namespace grid::router::net {
namespace {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

Result<HostPort> SplitHostPort(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument("address \"" + std::string(text) + "\": expected [ipv6]:port");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgument("address \"" + std::string(text) + "\": expected host:port");
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return InvalidArgument("address \"" + std::string(text) + "\": bad port");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

std::optional<SocketAddress> NumericAddress(const HostPort& hp) {
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (inet_pton(AF_INET, hp.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp.port);
    a.length = sizeof(sockaddr_in);
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET6, hp.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp.port);
    a.length = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

}  // namespace

uint16_t SocketAddress::port() const {
  if (storage.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  }
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::HostText() const {
  char text[INET6_ADDRSTRLEN] = {0};
  if (storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
              sizeof text);
  } else if (storage.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text,
              sizeof text);
  }
  return text;
}

std::string SocketAddress::ToString() const {
  if (storage.ss_family == AF_INET6) return "[" + HostText() + "]:" + std::to_string(port());
  return HostText() + ":" + std::to_string(port());
}

Result<SocketAddress> ParseSocketAddress(std::string_view text) {
  GRID_ASSIGN_OR_RETURN(HostPort hp, SplitHostPort(text));
  std::optional<SocketAddress> a = NumericAddress(hp);
  if (!a) return InvalidArgument("address \"" + std::string(text) + "\": not a numeric IP");
  return *a;
}

Result<SocketAddress> ResolveSocketAddress(std::string_view text) {
  GRID_ASSIGN_OR_RETURN(HostPort hp, SplitHostPort(text));
  if (std::optional<SocketAddress> a = NumericAddress(hp)) return *a;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(hp.host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Unavailable("resolve \"" + hp.host + "\": " + gai_strerror(rc));
  }
  SocketAddress a;
  std::memcpy(&a.storage, found->ai_addr, found->ai_addrlen);
  a.length = found->ai_addrlen;
  freeaddrinfo(found);
  if (a.storage.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(hp.port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(hp.port);
  }
  return a;
}

Result<int> Listen(const SocketAddress& address, bool reuse_port) {
  const int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("setsockopt SO_REUSEPORT", err);
  }
  if (bind(fd, address.get(), address.length) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("bind " + address.ToString(), err);
  }
  if (listen(fd, kListenBacklog) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("listen " + address.ToString(), err);
  }
  return fd;
}

Result<SocketAddress> LocalAddress(int fd) {
  SocketAddress a;
  a.length = sizeof a.storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) {
    return ErrnoStatus("getsockname", errno);
  }
  return a;
}

Result<int> StartConnect(const SocketAddress& address) {
  const int fd = socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  if (connect(fd, address.get(), address.length) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    close(fd);
    return ErrnoStatus("connect " + address.ToString(), err);
  }
  SetNoDelay(fd);
  return fd;
}

int ConnectResult(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

void SetNoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace grid::router::net
