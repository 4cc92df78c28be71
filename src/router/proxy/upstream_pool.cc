#include "router/proxy/upstream_pool.h"

#include <algorithm>

namespace grid::router::proxy {
namespace {

// Room for the read that checks a released connection has nothing waiting.
constexpr size_t kProbeBytes = net::kReadChunkBytes;

}  // namespace

UpstreamConn::UpstreamConn(UpstreamPool* pool, BackendSlot* slot, int fd, bool connecting)
    : pool_(pool),
      slot_(slot),
      stream_(pool->loop_, fd, this, connecting),
      idle_timer_([this] { pool_->DropIdle(this); }) {}

UpstreamConn::~UpstreamConn() = default;

void UpstreamConn::OnStreamReadable(net::Stream*) {
  if (user_ != nullptr) {
    user_->OnUpstreamReadable(this);
    return;
  }
  // Idle: the backend closed the connection or broke the protocol. Either way it is done.
  pool_->DropIdle(this);
}

void UpstreamConn::OnStreamDrained(net::Stream*) {
  if (user_ != nullptr) user_->OnUpstreamDrained(this);
}

void UpstreamConn::OnStreamConnected(net::Stream*, int error) {
  if (user_ != nullptr) user_->OnUpstreamConnected(this, error);
}

UpstreamPool::UpstreamPool(net::EventLoop* loop, size_t max_idle_per_backend)
    : loop_(loop), max_idle_per_backend_(max_idle_per_backend) {}

UpstreamPool::~UpstreamPool() {
  for (auto& [ptr, conn] : conns_) conn->stream_.Close();
}

BackendSlot* UpstreamPool::Slot(std::string_view address, const net::AddressBook* book) {
  BackendSlot* slot;
  if (auto it = slots_.find(address); it != slots_.end()) {
    slot = it->second.get();
    if (book == nullptr || slot->book_generation == book->generation()) return slot;
  } else {
    auto owned = std::make_unique<BackendSlot>();
    owned->address = std::string(address);
    slot = owned.get();
    slots_.emplace(slot->address, std::move(owned));
  }
  const Result<net::SocketAddress>* known = book ? book->Find(address) : nullptr;
  Result<net::SocketAddress> resolved =
      known != nullptr ? *known : net::ParseSocketAddress(address);
  const bool moved = !resolved.ok() || !slot->resolve_status.ok() ||
                     !net::SameResolution(resolved, slot->resolved);
  if (moved) CloseIdle(slot);  // they lead where the name no longer points (a new slot has none)
  if (resolved.ok()) {
    slot->resolved = resolved.value();
    slot->resolve_status = Status::Ok();
  } else {
    slot->resolved = net::SocketAddress{};
    slot->resolve_status = resolved.status();
  }
  slot->book_generation = book ? book->generation() : 0;
  return slot;
}

UpstreamConn* UpstreamPool::TakeIdle(BackendSlot* slot, UpstreamUser* user) {
  if (slot->idle.empty()) return nullptr;
  UpstreamConn* conn = slot->idle.back();
  slot->idle.pop_back();
  conn->idle_timer_.Cancel();
  conn->user_ = user;
  ++conn->reuse_count_;
  ++slot->active;
  return conn;
}

Result<UpstreamConn*> UpstreamPool::Connect(BackendSlot* slot, UpstreamUser* user) {
  if (!slot->resolve_status.ok()) return slot->resolve_status;
  GRID_ASSIGN_OR_RETURN(int fd, net::StartConnect(slot->resolved));
  auto conn = std::make_unique<UpstreamConn>(this, slot, fd, true);
  GRID_RETURN_IF_ERROR(conn->stream_.Register());
  conn->user_ = user;
  UpstreamConn* raw = conn.get();
  conns_.emplace(raw, std::move(conn));
  ++slot->active;
  return raw;
}

void UpstreamPool::Release(UpstreamConn* conn, uint64_t idle_timeout_ms) {
  BackendSlot* slot = conn->slot_;
  --slot->active;
  conn->user_ = nullptr;
  if (slot->idle.size() >= max_idle_per_backend_ || conn->stream_.closed() ||
      !conn->in_.empty()) {
    ++slot->active;  // Discard counts it down
    Discard(conn);
    return;
  }
  // Bytes or EOF that may have arrived as the exchange ended: find out now, since no new
  // edge will announce them.
  if (conn->stream_.readable()) {
    net::Stream::ReadResult r = conn->stream_.ReadInto(&conn->in_, kProbeBytes);
    if (r.status != net::Stream::ReadStatus::kWouldBlock) {
      ++slot->active;  // Discard counts it down
      Discard(conn);
      return;
    }
  }
  conn->in_.Release();
  conn->stream_.ReleaseBuffers();
  slot->idle.push_back(conn);
  conn->idle_timer_.Arm(loop_->timers(), idle_timeout_ms);
}

void UpstreamPool::Discard(UpstreamConn* conn) {
  --conn->slot_->active;
  conn->user_ = nullptr;
  conn->stream_.Close();
  auto it = conns_.find(conn);
  GRID_CHECK(it != conns_.end());
  loop_->DeleteLater(std::move(it->second));
  conns_.erase(it);
}

void UpstreamPool::DropIdle(UpstreamConn* conn) {
  BackendSlot* slot = conn->slot_;
  auto it = std::find(slot->idle.begin(), slot->idle.end(), conn);
  if (it == slot->idle.end()) return;
  slot->idle.erase(it);
  conn->idle_timer_.Cancel();
  ++slot->active;  // Discard counts it down
  Discard(conn);
}

void UpstreamPool::CloseIdle() {
  for (auto& [address, slot] : slots_) CloseIdle(slot.get());
}

void UpstreamPool::CloseIdle(BackendSlot* slot) {
  while (!slot->idle.empty()) DropIdle(slot->idle.back());
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& [address, slot] : slots_) n += slot->idle.size();
  return n;
}

}  // namespace grid::router::proxy
