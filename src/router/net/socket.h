// Socket helpers: addresses, SO_REUSEPORT listeners, accept, non-blocking connect. Every
// descriptor is created non-blocking and close-on-exec.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace grid::router::net {

// Pending connections a listener's accept queue holds.
inline constexpr int kListenBacklog = 4096;

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  uint16_t port() const;
  // "1.2.3.4:80" or "[::1]:80".
  std::string ToString() const;
  // The host part only: "1.2.3.4" or "::1" (the X-Forwarded-For form).
  std::string HostText() const;
};

// Parses a numeric "host:port" ("127.0.0.1:8080", "[::1]:8080", port 0..65535).
Result<SocketAddress> ParseSocketAddress(std::string_view text);
// As ParseSocketAddress, and resolves a DNS name with getaddrinfo (blocking: for
// configuration time, not the data path) to its first address.
Result<SocketAddress> ResolveSocketAddress(std::string_view text);

// A non-blocking listening socket on `address` with SO_REUSEADDR and, when `reuse_port`,
// SO_REUSEPORT (each loop binds its own socket to the same port; the kernel spreads
// connections across them).
Result<int> Listen(const SocketAddress& address, bool reuse_port);
// The address a socket is bound to (the actual port after binding port 0).
Result<SocketAddress> LocalAddress(int fd);

// Starts a non-blocking connect. The descriptor becomes writable when the connection is
// established or failed; ConnectResult() then tells which.
Result<int> StartConnect(const SocketAddress& address);
// 0 when the connect finished, else its errno (SO_ERROR).
int ConnectResult(int fd);

// TCP_NODELAY: heads and small bodies go out at once.
void SetNoDelay(int fd);

}  // namespace grid::router::net
