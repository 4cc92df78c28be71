#include "kv/http/client_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/check.h"
#include "common/worker_pool.h"

namespace grid::kv::http {
namespace {

using Clock = std::chrono::steady_clock;

// After accept() fails for lack of descriptors or memory, the listening sockets rest this long.
constexpr std::chrono::milliseconds kAcceptBackoff{100};
// Events taken from epoll per wait.
constexpr int kMaxEventsPerWait = 64;
// One recv() of an HTTP request reads at most this much.
constexpr size_t kReadChunkBytes = 16 * 1024;
// After an error response, unread request bytes are drained (so that closing does not reset
// the connection before the client reads the response) for at most this long / this much.
constexpr std::chrono::milliseconds kErrorLingerTimeout{500};
constexpr size_t kMaxErrorLingerBytes = 256 * 1024;

// Go's wording: "listen tcp ADDR: bind: address already in use".
Status Errno(const std::string& what) {
  std::string reason = std::strerror(errno);
  if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(reason[0]));
  return Unavailable(what + ": " + reason);
}

void SetNoDelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT32_MAX));
}

// Writes all of `data` to the non-blocking socket `fd` before `deadline`.
bool WriteAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      const int ms = RemainingMs(deadline);
      if (ms == 0 || poll(&p, 1, ms) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

// Half-closes and reads what the client still sends, bounded, so that close() sends FIN
// rather than RST (which could destroy the response before the client reads it).
void LingerDrain(int fd) {
  (void)shutdown(fd, SHUT_WR);
  const Clock::time_point deadline = Clock::now() + kErrorLingerTimeout;
  size_t drained = 0;
  char buf[4096];
  while (drained < kMaxErrorLingerBytes) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      drained += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLIN, 0};
      const int ms = RemainingMs(deadline);
      if (ms == 0 || poll(&p, 1, ms) <= 0) return;
      continue;
    }
    return;  // EOF or error
  }
}

struct HostPort {
  std::string host;  // without brackets
  std::string port;
};

Result<HostPort> SplitHostPort(const std::string& address) {
  HostPort hp;
  size_t colon;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return InvalidArgument("bad listen address " + address);
    }
    hp.host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("bad listen address " + address);
    hp.host = address.substr(0, colon);
  }
  hp.port = address.substr(colon + 1);
  int port = -1;
  const auto [end, ec] = std::from_chars(hp.port.data(), hp.port.data() + hp.port.size(), port);
  if (hp.port.empty() || ec != std::errc() || end != hp.port.data() + hp.port.size() ||
      port < 0 || port > 65535) {
    return InvalidArgument("bad port in listen address " + address);
  }
  return hp;
}

void SetPort(sockaddr* sa, uint16_t port) {
  if (sa->sa_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(sa)->sin_port = htons(port);
  } else if (sa->sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(sa)->sin6_port = htons(port);
  }
}

Result<uint16_t> BoundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return Errno("getsockname");
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// Binds every address `address` resolves to (e.g. both loopbacks for "localhost"), all on one
// port. Appends the listening fds to `fds`; returns the port.
Result<uint16_t> BindAddress(const std::string& address, int backlog, std::vector<int>* fds) {
  GRID_ASSIGN_OR_RETURN(HostPort hp, SplitHostPort(address));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(hp.host.empty() ? nullptr : hp.host.c_str(), hp.port.c_str(), &hints,
                             &list);
  if (rc != 0) {
    return Unavailable("listen tcp " + address + ": lookup " + hp.host + ": " + gai_strerror(rc));
  }
  uint16_t port = static_cast<uint16_t>(std::stoi(hp.port));
  size_t bound = 0;
  Status first_error;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol);
    if (fd < 0) {
      if (first_error.ok()) first_error = Errno("listen tcp " + address + ": socket");
      continue;
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
      const auto* a6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      // A specific IPv6 address listens on IPv6 only; "::" stays dual-stack.
      if (!IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr)) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
      }
    }
    SetPort(ai->ai_addr, port);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
      const int err = errno;
      Status s = Errno("listen tcp " + address + ": bind");
      close(fd);
      // An address family the host lacks (no IPv6 loopback) is skipped; anything else fails.
      if (err == EADDRNOTAVAIL || err == EAFNOSUPPORT) {
        if (first_error.ok()) first_error = s;
        continue;
      }
      freeaddrinfo(list);
      return s;
    }
    if (port == 0) {
      auto p = BoundPort(fd);
      if (!p.ok()) {
        close(fd);
        freeaddrinfo(list);
        return p.status();
      }
      port = *p;
    }
    fds->push_back(fd);
    ++bound;
  }
  freeaddrinfo(list);
  if (bound == 0) {
    return first_error.ok() ? Unavailable("listen tcp " + address + ": no address") : first_error;
  }
  return port;
}

}  // namespace

// Runs the epoll loop and owns the HTTP workers. Every Pending connection is in `pending_` and
// registered with epoll (edge-triggered); listening sockets are registered level-triggered.
class ClientListener::Sorter {
 public:
  Sorter(std::vector<int> listen_fds, const ListenerOptions& options, Http2Handoff http2,
         RequestHandler handler)
      : options_(options),
        listen_fds_(std::move(listen_fds)),
        http2_(std::move(http2)),
        handler_(std::move(handler)),
        workers_(std::make_unique<WorkerPool>(options.http_worker_threads,
                                              options.max_queued_http_requests)) {}

  ~Sorter() {
    Stop();
    for (int fd : listen_fds_) close(fd);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (stop_fd_ >= 0) close(stop_fd_);
  }

  Status Start() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return Errno("epoll_create1");
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (stop_fd_ < 0) return Errno("eventfd");
    GRID_RETURN_IF_ERROR(Register(stop_fd_, EPOLLIN));
    for (int fd : listen_fds_) GRID_RETURN_IF_ERROR(Register(fd, EPOLLIN));
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() {
    if (thread_.joinable()) {
      const uint64_t one = 1;
      GRID_CHECK(write(stop_fd_, &one, sizeof(one)) == sizeof(one));
      thread_.join();
    }
    workers_.reset();  // runs the requests already queued, then joins
  }

 private:
  struct Pending {
    Clock::time_point deadline;
    bool http = false;   // the first bytes were not the HTTP/2 preface
    std::string buffer;  // the HTTP request so far
  };

  Status Register(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return Errno("epoll_ctl");
    return Status::Ok();
  }

  bool IsListenFd(int fd) const {
    return std::find(listen_fds_.begin(), listen_fds_.end(), fd) != listen_fds_.end();
  }

  void Run() {
    epoll_event events[kMaxEventsPerWait];
    while (true) {
      const int n = epoll_wait(epoll_fd_, events, kMaxEventsPerWait, NextTimeoutMs());
      if (n < 0 && errno != EINTR) {
        spdlog::error("client port: epoll_wait: {}", std::strerror(errno));
        break;
      }
      bool stopping = false;
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == stop_fd_) {
          stopping = true;
        } else if (IsListenFd(fd)) {
          AcceptAll(fd);
        } else {
          OnReadable(fd, events[i].events);
        }
      }
      if (stopping) break;
      CloseOverdue();
      ResumeAcceptingIfDue();
    }
    for (auto& [fd, pending] : pending_) close(fd);
    pending_.clear();
  }

  int NextTimeoutMs() const {
    std::optional<Clock::time_point> next = accept_paused_until_;
    for (const auto& [fd, pending] : pending_) {
      if (!next || pending.deadline < *next) next = pending.deadline;
    }
    return next ? RemainingMs(*next) : -1;
  }

  void AcceptAll(int listen_fd) {
    while (true) {
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          spdlog::warn("client port: accept: {}; retrying in {} ms", std::strerror(errno),
                       kAcceptBackoff.count());
          PauseAccepting();
        }
        return;  // EAGAIN: accepted everything
      }
      if (pending_.size() >= options_.max_pending_connections) {
        close(fd);
        if (!warned_full_) {
          spdlog::warn("client port: {} connections are waiting to be sorted; closing new ones",
                       pending_.size());
          warned_full_ = true;
        }
        continue;
      }
      warned_full_ = false;
      SetNoDelay(fd);
      if (!Register(fd, EPOLLIN | EPOLLRDHUP | EPOLLET).ok()) {
        close(fd);
        continue;
      }
      pending_.emplace(fd, Pending{Clock::now() + options_.read_timeout, false, {}});
    }
  }

  void PauseAccepting() {
    accept_paused_until_ = Clock::now() + kAcceptBackoff;
    for (int fd : listen_fds_) {
      epoll_event ev{};
      ev.data.fd = fd;
      (void)epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    }
  }

  void ResumeAcceptingIfDue() {
    if (!accept_paused_until_ || Clock::now() < *accept_paused_until_) return;
    accept_paused_until_.reset();
    for (int fd : listen_fds_) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      (void)epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    }
  }

  void CloseOverdue() {
    const Clock::time_point now = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        close(it->first);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Forgets `fd`: it leaves epoll and `pending_`; the caller now owns it.
  int Release(int fd) {
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    pending_.erase(fd);
    return fd;
  }

  void Drop(int fd) { close(Release(fd)); }

  void OnReadable(int fd, uint32_t events) {
    auto it = pending_.find(fd);
    if (it == pending_.end()) return;
    if (!it->second.http) {
      char peek[kHttp2Preface.size()];
      const ssize_t n = recv(fd, peek, sizeof(peek), MSG_PEEK);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      if (n <= 0) return Drop(fd);  // closed (or failed) before saying anything
      const std::string_view seen(peek, static_cast<size_t>(n));
      if (kHttp2Preface.substr(0, seen.size()) == seen) {
        if (seen.size() == kHttp2Preface.size()) {
          http2_(Release(fd));
          return;
        }
        // A prefix of the preface: wait for the rest, unless no more can come.
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) Drop(fd);
        return;
      }
      it->second.http = true;
    }
    ReadHttp(fd, it->second);
  }

  void ReadHttp(int fd, Pending& pending) {
    const HttpLimits& limits = options_.http_limits;
    // Enough for the largest acceptable request plus one byte, so the parser can decide.
    const size_t cap = limits.max_head_bytes + limits.max_body_bytes + 1;
    bool eof = false;
    while (pending.buffer.size() < cap) {
      char chunk[kReadChunkBytes];
      const ssize_t n =
          recv(fd, chunk, std::min(sizeof(chunk), cap - pending.buffer.size()), 0);
      if (n > 0) {
        pending.buffer.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Drop(fd);
    }
    ParseResult parsed = ParseRequest(pending.buffer, limits);
    switch (parsed.state) {
      case ParseState::kIncomplete:
        if (eof) Drop(fd);
        return;
      case ParseState::kError:
        return Answer(Release(fd), std::nullopt, parsed.error_status);
      case ParseState::kComplete:
        return Answer(Release(fd), std::move(parsed.request), 0);
    }
  }

  // Hands a connection to a worker: it answers `request`, or `error_status` when there is no
  // request, then closes the connection.
  void Answer(int fd, std::optional<HttpRequest> request, int error_status) {
    const bool posted = workers_->Post([this, fd, request = std::move(request), error_status] {
      const bool head_only = request && request->method == "HEAD";
      const HttpResponse response = request ? handler_(*request) : ErrorResponse(error_status);
      const Clock::time_point deadline = Clock::now() + options_.write_timeout;
      if (WriteAll(fd, SerializeResponse(response, head_only, std::chrono::system_clock::now()),
                   deadline) &&
          !request) {
        LingerDrain(fd);
      }
      close(fd);
    });
    if (!posted) {
      // Every worker busy and the queue full: best effort, never blocking this thread.
      const std::string busy =
          SerializeResponse(ErrorResponse(503), false, std::chrono::system_clock::now());
      (void)send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
    }
  }

  const ListenerOptions options_;
  const std::vector<int> listen_fds_;  // owned
  const Http2Handoff http2_;
  const RequestHandler handler_;
  std::unique_ptr<WorkerPool> workers_;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  // Touched by the loop thread only.
  std::unordered_map<int, Pending> pending_;
  std::optional<Clock::time_point> accept_paused_until_;
  bool warned_full_ = false;
};

Result<std::unique_ptr<ClientListener>> ClientListener::Bind(
    const std::vector<std::string>& addresses, ListenerOptions options) {
  std::vector<int> fds;
  std::vector<std::string> bound;
  for (const std::string& address : addresses) {
    Result<uint16_t> port = BindAddress(address, options.listen_backlog, &fds);
    if (!port.ok()) {
      for (int fd : fds) close(fd);
      return port.status();
    }
    bound.push_back(address.substr(0, address.rfind(':') + 1) + std::to_string(*port));
  }
  return std::unique_ptr<ClientListener>(
      new ClientListener(std::move(fds), std::move(bound), options));
}

ClientListener::ClientListener(std::vector<int> listen_fds, std::vector<std::string> bound,
                               ListenerOptions options)
    : options_(options), listen_fds_(std::move(listen_fds)), bound_addresses_(std::move(bound)) {}

ClientListener::~ClientListener() { Stop(); }

Status ClientListener::Start(Http2Handoff http2, RequestHandler handler) {
  GRID_CHECK(sorter_ == nullptr && http2 && handler);
  sorter_ = std::make_unique<Sorter>(std::move(listen_fds_), options_, std::move(http2),
                                     std::move(handler));
  listen_fds_.clear();
  return sorter_->Start();
}

void ClientListener::Stop() {
  if (sorter_) {
    sorter_->Stop();
    sorter_.reset();  // closes the listening sockets
  }
  for (int fd : listen_fds_) close(fd);
  listen_fds_.clear();
}

}  // namespace grid::kv::http
