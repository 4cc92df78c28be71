#include "router/l4/worker.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace grid::router::l4 {

Worker::Worker(CurrentSet current, std::vector<std::shared_ptr<ListenerStats>> stats, uint64_t seed)
    : current_(std::move(current)), stats_(std::move(stats)), rng_(seed) {}

Worker::~Worker() {
  Stop();
  sessions_.clear();
  CloseListeners();
}

Status Worker::Listen(const std::vector<net::SocketAddress>& addresses) {
  GRID_RETURN_IF_ERROR(loop_.init_status());
  for (size_t i = 0; i < addresses.size(); ++i) {
    GRID_ASSIGN_OR_RETURN(const int fd, net::Listen(addresses[i], /*reuse_port=*/true));
    listen_fds_.push_back(fd);
    GRID_ASSIGN_OR_RETURN(net::SocketAddress bound, net::LocalAddress(fd));
    bound_.push_back(bound);
    acceptors_.push_back(std::make_unique<Acceptor>(this, i));
    retry_timers_.push_back(std::make_unique<net::Timer>([this, i] { AcceptAll(i); }));
    GRID_RETURN_IF_ERROR(loop_.AddReadOnly(fd, acceptors_.back().get()));
  }
  return Status::Ok();
}

void Worker::StartThread() {
  thread_ = std::thread([this] {
    // Connections that arrived before the thread started are waiting: accept them now.
    for (size_t i = 0; i < listen_fds_.size(); ++i) AcceptAll(i);
    loop_.Run();
  });
}

void Worker::StopAccepting() {
  loop_.Post([this] { CloseListeners(); });
}

void Worker::CloseListeners() {
  for (size_t i = 0; i < listen_fds_.size(); ++i) {
    if (listen_fds_[i] < 0) continue;
    loop_.Remove(listen_fds_[i]);
    close(listen_fds_[i]);
    listen_fds_[i] = -1;
    retry_timers_[i]->Cancel();
  }
}

void Worker::CloseAll() {
  loop_.Post([this] {
    std::vector<Session*> open;
    for (auto& [s, owned] : sessions_) open.push_back(s);
    for (Session* s : open) s->Close();
  });
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  loop_.Stop();
  thread_.join();
}

void Worker::AcceptAll(size_t listener) {
  while (listen_fds_[listener] >= 0) {
    const int fd = accept4(listen_fds_[listener], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Accepted(listener, fd);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    // Out of descriptors or memory: the edge will not repeat, so look again shortly.
    spdlog::warn("l4 accept: {}", std::strerror(errno));
    retry_timers_[listener]->Arm(loop_.timers(), kAcceptRetryMs);
    return;
  }
}

void Worker::Accepted(size_t listener, int fd) {
  std::shared_ptr<BackendSet> set = current_(listener);
  ListenerStats& stats = *stats_[listener];
  stats.total.fetch_add(1, std::memory_order_relaxed);
  // Counted across all loops: reserve a slot, give it back when over the limit.
  if (stats.active.fetch_add(1) >= set->config().max_connections) {
    stats.active.fetch_sub(1);
    stats.rejected.fetch_add(1, std::memory_order_relaxed);
    close(fd);
    return;
  }
  net::SetNoDelay(fd);
  auto session = std::make_unique<Session>(&loop_, this, fd, std::move(set), stats_[listener]);
  Session* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->Start();
}

void Worker::OnSessionEnd(Session* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  // The listener is known from the session's stats object; count it out.
  std::unique_ptr<Session> owned = std::move(it->second);
  sessions_.erase(it);
  owned->listener_stats().active.fetch_sub(1);
  loop_.DeleteLater(std::move(owned));
}

}  // namespace grid::router::l4
