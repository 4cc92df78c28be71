#include "transport/peer_listener.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <spdlog/spdlog.h>

#include "router/net/socket.h"
#include "transport/stream_wire.h"

namespace grid::transport {
namespace {

using Clock = std::chrono::steady_clock;

// The start of the HTTP/2 client preface, as long as kStreamMagic.
constexpr std::string_view kHttp2PrefaceStart = "PRI * HT";
static_assert(kHttp2PrefaceStart.size() == kStreamMagic.size());
// Bytes read from a message stream at a time.
constexpr size_t kReadChunkBytes = 256 * 1024;

int MillisUntil(Clock::time_point t) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(0, left));
}

// Waits until `fd` is readable or `deadline`; false on timeout or error.
bool WaitReadable(int fd, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int n = poll(&p, 1, MillisUntil(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Reads exactly `n` bytes by `deadline`.
bool ReadExactly(int fd, char* out, size_t n, Clock::time_point deadline) {
  while (n > 0) {
    if (!WaitReadable(fd, deadline)) return false;
    const ssize_t got = recv(fd, out, n, MSG_DONTWAIT);
    if (got == 0) return false;
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return false;
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

// Best effort: a frame to a peer that stopped reading is not waited for.
void SendFrame(int fd, std::string_view frame) {
  while (!frame.empty()) {
    const ssize_t n = send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    frame.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::unique_ptr<PeerListener>> PeerListener::Bind(const std::vector<PeerUrl>& urls,
                                                         PeerListenerOptions options) {
  std::vector<int> fds;
  std::vector<int> ports;
  auto fail = [&](const PeerUrl& url, const Status& why) {
    for (int fd : fds) close(fd);
    return Unavailable("cannot listen on " + url.original + ": " + why.message());
  };
  for (const PeerUrl& url : urls) {
    GRID_CHECK(!url.tls) << "https URL " << url.original << " given to the plain-text listener";
    Result<router::net::SocketAddress> address = router::net::ResolveSocketAddress(url.target());
    if (!address.ok()) return fail(url, address.status());
    Result<int> fd = router::net::Listen(*address, /*reuse_port=*/false);
    if (!fd.ok()) return fail(url, fd.status());
    fds.push_back(*fd);
    Result<router::net::SocketAddress> bound = router::net::LocalAddress(*fd);
    if (!bound.ok()) return fail(url, bound.status());
    ports.push_back(bound->port());
  }
  return std::unique_ptr<PeerListener>(
      new PeerListener(std::move(fds), std::move(ports), options));
}

PeerListener::PeerListener(std::vector<int> listen_fds, std::vector<int> ports,
                           PeerListenerOptions options)
    : options_(options), listen_fds_(std::move(listen_fds)), ports_(std::move(ports)) {}

PeerListener::~PeerListener() {
  Stop();
  for (int fd : listen_fds_) close(fd);
}

Status PeerListener::Start(PeerListenerHandlers handlers) {
  GRID_CHECK(!started_) << "PeerListener started twice";
  started_ = true;
  handlers_ = std::move(handlers);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return ErrnoStatus("eventfd", errno);
  accept_thread_ = std::thread([this] { RunAccept(); });
  return Status::Ok();
}

void PeerListener::Stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (Connection& c : connections_) {
      if (c.fd >= 0) shutdown(c.fd, SHUT_RDWR);
    }
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  // No new connection after the accept thread ended; every thread sees its fd shut down.
  for (Connection& c : connections_) {
    if (c.thread.joinable()) c.thread.join();
  }
  connections_.clear();
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
}

size_t PeerListener::connections() const {
  std::lock_guard l(mu_);
  size_t n = 0;
  for (const Connection& c : connections_) n += c.done ? 0 : 1;
  return n;
}

void PeerListener::ReapDone() {
  std::list<Connection> done;
  {
    std::lock_guard l(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      auto next = std::next(it);
      if (it->done) done.splice(done.end(), connections_, it);
      it = next;
    }
  }
  for (Connection& c : done) c.thread.join();
}

void PeerListener::RunAccept() {
  pthread_setname_np(pthread_self(), "grid-peer-accept");
  std::vector<pollfd> polls;
  for (int fd : listen_fds_) polls.push_back(pollfd{fd, POLLIN, 0});
  polls.push_back(pollfd{wake_fd_, POLLIN, 0});
  for (;;) {
    for (pollfd& p : polls) p.revents = 0;
    if (poll(polls.data(), polls.size(), -1) < 0 && errno != EINTR) {
      spdlog::error("peer port: poll: {}", std::strerror(errno));
      return;
    }
    if (polls.back().revents != 0) return;  // Stop()
    ReapDone();
    for (size_t i = 0; i + 1 < polls.size(); ++i) {
      if (polls[i].revents == 0) continue;
      for (;;) {
        const int fd = accept4(polls[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) break;  // EAGAIN (drained) or a connection that went away
        std::lock_guard l(mu_);
        size_t live = 0;
        for (const Connection& c : connections_) live += c.done ? 0 : 1;
        if (stopping_ || live >= options_.max_connections) {
          spdlog::warn("peer port: {} connections open; closing a new one",
                       options_.max_connections);
          close(fd);
          continue;
        }
        Connection& c = connections_.emplace_back();
        c.fd = fd;
        c.thread = std::thread([this, &c] { Serve(&c); });
      }
    }
  }
}

void PeerListener::Serve(Connection* c) {
  pthread_setname_np(pthread_self(), "grid-peer-recv");
  const int fd = c->fd;
  auto finish = [&](bool handed_over) {
    std::lock_guard l(mu_);
    if (!handed_over) close(fd);
    c->fd = -1;
    c->done = true;
  };
  const Clock::time_point deadline = Clock::now() + options_.handshake_timeout;
  // Sort: peek until the first bytes tell which protocol this is.
  char head[kStreamMagic.size()];
  for (;;) {
    if (!WaitReadable(fd, deadline)) return finish(false);
    const ssize_t n = recv(fd, head, sizeof head, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return finish(false);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return finish(false);
    }
    const std::string_view seen(head, static_cast<size_t>(n));
    const bool http2 = kHttp2PrefaceStart.substr(0, seen.size()) == seen;
    const bool stream = kStreamMagic.substr(0, seen.size()) == seen;
    if (!http2 && !stream) return finish(false);
    if (seen.size() < sizeof head) continue;  // more bytes will tell (poll sees the rest)
    if (http2) {
      {
        std::lock_guard l(mu_);
        c->fd = -1;  // Stop() no longer touches it
      }
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      handlers_.adopt_http2(fd);
      return finish(true);
    }
    break;
  }
  std::string hello(kStreamHelloBytes, '\0');
  if (!ReadExactly(fd, hello.data(), hello.size(), deadline)) return finish(false);
  Result<CallHeader> h = DecodeHello(hello);
  Status admitted = h.ok() ? handlers_.admit(*h) : h.status();
  if (!admitted.ok()) {
    SendFrame(fd, EncodeEnd(admitted));
    return finish(false);
  }
  SendFrame(fd, EncodeFrame(FrameType::kAccepted, {}));
  Status end = ServeStream(fd, h->from);
  if (!end.ok()) SendFrame(fd, EncodeEnd(end));
  finish(false);
}

Status PeerListener::ServeStream(int fd, raft::MemberId from) {
  FrameReader reader(options_.max_frame_bytes);
  peerpb::MessageBatch batch;
  const std::string keepalive = EncodeFrame(FrameType::kKeepalive, {});
  Clock::time_point next_keepalive = Clock::now() + options_.keepalive_interval;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, MillisUntil(next_keepalive));
    if (ready < 0 && errno != EINTR) return Status::Ok();
    if (Clock::now() >= next_keepalive) {
      SendFrame(fd, keepalive);
      next_keepalive = Clock::now() + options_.keepalive_interval;
    }
    if (ready <= 0) continue;
    const ssize_t n = recv(fd, reader.Reserve(kReadChunkBytes), kReadChunkBytes, MSG_DONTWAIT);
    if (n == 0) return Status::Ok();  // the sender closed the stream (or Stop())
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Status::Ok();  // the connection broke: nobody to tell
    }
    reader.Commit(static_cast<size_t>(n));
    for (;;) {
      Result<std::optional<FrameView>> frame = reader.Next();
      if (!frame.ok()) return frame.status();
      if (!frame->has_value()) break;
      if ((*frame)->type != FrameType::kBatch) {
        return InvalidArgument("unexpected frame type " +
                               std::to_string(static_cast<int>((*frame)->type)) + " from a sender");
      }
      const std::string_view payload = (*frame)->payload;
      if (!batch.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return InvalidArgument("cannot parse a message batch of " +
                               std::to_string(payload.size()) + " bytes");
      }
      GRID_RETURN_IF_ERROR(handlers_.deliver(from, batch));
    }
  }
}

}  // namespace grid::transport
