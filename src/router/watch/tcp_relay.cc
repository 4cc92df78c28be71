#include "router/watch/tcp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace grid::router::watch::testing {
namespace {

constexpr int kPollIntervalMs = 20;  // how often the loops look at the stop flag
constexpr size_t kBufferBytes = 64 * 1024;

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

Result<std::unique_ptr<TcpRelay>> TcpRelay::Start(int upstream_port) {
  std::unique_ptr<TcpRelay> r(new TcpRelay());
  r->upstream_port_ = upstream_port;
  r->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (r->listen_fd_ < 0) return ErrnoStatus("socket", errno);
  int one = 1;
  setsockopt(r->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(r->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(r->listen_fd_, 64) != 0 ||
      getsockname(r->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoStatus("listen on 127.0.0.1:0", errno);
  }
  r->endpoint_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  r->accept_thread_ = std::thread([p = r.get()] { p->AcceptLoop(); });
  return r;
}

TcpRelay::~TcpRelay() {
  stop_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  Cut();
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked(/*all=*/true);
  if (listen_fd_ >= 0) close(listen_fd_);
}

void TcpRelay::Cut() {
  cut_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  for (Conn& c : conns_) {
    shutdown(c.down, SHUT_RDWR);
    shutdown(c.up, SHUT_RDWR);
  }
}

void TcpRelay::Restore() { cut_ = false; }

void TcpRelay::ReapLocked(bool all) {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (!all && !it->done) {
      ++it;
      continue;
    }
    it->thread.join();
    close(it->down);
    close(it->up);
    it = conns_.erase(it);
  }
}

void TcpRelay::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int n = poll(&p, 1, kPollIntervalMs);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ReapLocked(/*all=*/false);
    }
    if (n <= 0) continue;
    int down = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (down < 0) continue;
    int up = cut_ ? -1 : ConnectLoopback(upstream_port_);
    if (up < 0) {
      close(down);
      continue;
    }
    int one = 1;
    setsockopt(down, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    Conn& c = conns_.emplace_back();
    c.down = down;
    c.up = up;
    c.thread = std::thread([conn = &c] { Pump(conn); });
  }
}

void TcpRelay::Pump(Conn* conn) {
  std::string buf(kBufferBytes, '\0');
  pollfd fds[2] = {{conn->down, POLLIN, 0}, {conn->up, POLLIN, 0}};
  bool open = true;
  while (open) {
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2 && open; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t r = recv(fds[i].fd, buf.data(), buf.size(), 0);
      if (r <= 0 || !WriteAll(fds[1 - i].fd, buf.data(), static_cast<size_t>(r))) open = false;
    }
  }
  shutdown(conn->down, SHUT_RDWR);
  shutdown(conn->up, SHUT_RDWR);
  conn->done = true;
}

}  // namespace grid::router::watch::testing
