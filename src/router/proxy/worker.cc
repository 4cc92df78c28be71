#include "router/proxy/worker.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "router/balance/hash.h"

namespace grid::router::proxy {

Worker::Worker(const ProxyLimits& limits, const TableHolder* tables, ProcessProtection* protection,
               AccessLog* access_log, uint64_t seed)
    : limits_(limits),
      tables_(tables),
      pool_(&loop_, limits_.max_idle_upstream_per_backend),
      chooser_(&pool_, protection, seed),
      acceptor_(this) {
  ctx_.loop = &loop_;
  ctx_.limits = &limits_;
  ctx_.tables = &tables_;
  ctx_.pool = &pool_;
  ctx_.chooser = &chooser_;
  ctx_.protection = protection;
  ctx_.stats = &stats_;
  ctx_.access_log = access_log;
  ctx_.host = this;
  ctx_.request_id_prefix = balance::Mix64(seed ^ 0x5eed);
  spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Worker::~Worker() {
  Stop();
  sessions_.clear();
  CloseListener();
  if (spare_fd_ >= 0) close(spare_fd_);
}

Status Worker::Listen(const net::SocketAddress& address, bool reuse_port) {
  GRID_RETURN_IF_ERROR(loop_.init_status());
  GRID_ASSIGN_OR_RETURN(listen_fd_, net::Listen(address, reuse_port));
  GRID_ASSIGN_OR_RETURN(bound_, net::LocalAddress(listen_fd_));
  return loop_.AddReadOnly(listen_fd_, &acceptor_);
}

void Worker::Start() {
  thread_ = std::thread([this] { loop_.Run(); });
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  loop_.Stop();
  thread_.join();
}

void Worker::AcceptAll() {
  while (listen_fd_ >= 0) {
    net::SocketAddress peer;
    peer.length = sizeof peer.storage;
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer.storage), &peer.length,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: the edge will not come again for the queued connection, so
        // free the spare one, accept and close it (the client sees a close, not a hang).
        close(spare_fd_);
        const int refused = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (refused >= 0) close(refused);
        spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ProxyStats::Add(stats_.connections_refused);
        continue;
      }
      return;  // EAGAIN
    }
    if (sessions_.size() >= limits_.max_client_connections_per_loop) {
      ProxyStats::Add(stats_.connections_refused);
      close(fd);
      continue;
    }
    auto session = std::make_unique<ClientSession>(&ctx_, fd, peer);
    ClientSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    ProxyStats::Add(stats_.connections_accepted);
    ProxyStats::Add(stats_.connections_active);
    if (!raw->Start().ok()) raw->Abort();
  }
}

void Worker::OnSessionClosed(ClientSession* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  loop_.DeleteLater(std::move(it->second));
  sessions_.erase(it);
  ProxyStats::Sub(stats_.connections_active);
  CheckDrained();
}

void Worker::CloseListener() {
  if (listen_fd_ < 0) return;
  loop_.Remove(listen_fd_);
  close(listen_fd_);
  listen_fd_ = -1;
}

void Worker::CheckDrained() {
  if (ctx_.draining && sessions_.empty()) drained_.store(true, std::memory_order_release);
}

void Worker::BeginDrain() {
  loop_.Post([this] {
    if (ctx_.draining) return;
    AcceptAll();  // connections already queued to this listener are served, not reset
    CloseListener();
    ctx_.draining = true;
    pool_.CloseIdle();
    std::vector<ClientSession*> all;
    for (auto& [raw, owned] : sessions_) all.push_back(raw);
    for (ClientSession* s : all) s->Drain();
    CheckDrained();
  });
}

void Worker::CloseAll() {
  loop_.Post([this] {
    ctx_.draining = true;
    CloseListener();
    std::vector<ClientSession*> all;
    for (auto& [raw, owned] : sessions_) all.push_back(raw);
    for (ClientSession* s : all) s->Abort();
    pool_.CloseIdle();
    CheckDrained();
  });
}

}  // namespace grid::router::proxy
