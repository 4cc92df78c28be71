#include "router/l4/relay.h"

#include <sys/socket.h>

#include "common/check.h"

namespace grid::router::l4 {

Relay::Relay(net::EventLoop* loop, std::unique_ptr<net::Stream> client,
             std::unique_ptr<net::Stream> backend, Options options, Observer* observer)
    : loop_(loop),
      client_(std::move(client)),
      backend_(std::move(backend)),
      options_(options),
      observer_(observer),
      idle_timer_([this] { OnIdleTimer(); }) {
  GRID_CHECK(options_.buffer_bytes >= 1) << "buffer_bytes must be positive";
  client_->set_owner(this);
  backend_->set_owner(this);
  up_.from = client_.get();
  up_.to = backend_.get();
  up_.to_backend = true;
  down_.from = backend_.get();
  down_.to = client_.get();
}

Relay::~Relay() {
  idle_timer_.Cancel();
  client_->Close();
  backend_->Close();
}

void Relay::Start() {
  Touch();
  idle_timer_.Arm(loop_->timers(), options_.idle_timeout_ms);
  client_->AssumeReadable();
  backend_->AssumeReadable();
  Pump(&up_);
  if (!finished_) Pump(&down_);
}

size_t Relay::buffered_bytes() const {
  return up_.buffer.size() + down_.buffer.size() + client_->pending_write_bytes() +
         backend_->pending_write_bytes();
}

size_t Relay::buffer_capacity_bytes() const {
  return up_.buffer.capacity() + down_.buffer.capacity() + client_->pending_write_bytes() +
         backend_->pending_write_bytes();
}

void Relay::Pump(Direction* d) {
  PumpReads(d);
  // Between pumps the read buffer is empty (everything read was handed to the destination):
  // an idle direction keeps no storage.
  d->buffer.Release();
}

void Relay::PumpReads(Direction* d) {
  while (!finished_ && !d->ended) {
    if (d->to->error() != 0 || d->from->error() != 0) return Finish(End::kError);
    // Back-pressure: nothing more is read until the destination took everything.
    if (d->to->pending_write_bytes() > 0) return;
    if (!d->from->readable()) return;
    const net::Stream::ReadResult r = d->from->ReadInto(&d->buffer, options_.buffer_bytes);
    switch (r.status) {
      case net::Stream::ReadStatus::kData: {
        Touch();
        const bool ok = d->to->Write(d->buffer.readable());
        d->buffer.Clear();
        observer_->OnRelayBytes(d->to_backend, r.bytes);
        if (!ok) return Finish(End::kError);
        break;
      }
      case net::Stream::ReadStatus::kWouldBlock:
        if (!d->from->readable()) return;
        break;  // interrupted: read again
      case net::Stream::ReadStatus::kFull:
        GRID_CHECK(false) << "relay buffer full after being emptied";
        return;
      case net::Stream::ReadStatus::kEof:
        Touch();
        d->ended = true;
        d->to->ShutdownWriteWhenDrained();
        return MaybeDone();
      case net::Stream::ReadStatus::kError:
        return Finish(End::kError);
    }
  }
}

void Relay::MaybeDone() {
  if (finished_) return;
  if (up_.ended && down_.ended && client_->pending_write_bytes() == 0 &&
      backend_->pending_write_bytes() == 0) {
    Finish(End::kDone);
  }
}

void Relay::OnStreamReadable(net::Stream* stream) {
  if (finished_) return;
  if (stream->error() != 0) return Finish(End::kError);
  Pump(stream == client_.get() ? &up_ : &down_);
}

void Relay::OnStreamDrained(net::Stream* stream) {
  if (finished_) return;
  Touch();
  stream->ReleaseBuffers();  // nothing unsent: no storage kept for it
  // The destination took everything: its source may be read again.
  Pump(stream == backend_.get() ? &up_ : &down_);
  MaybeDone();
}

void Relay::OnIdleTimer() {
  if (finished_) return;
  const uint64_t idle_until = last_activity_ms_ + options_.idle_timeout_ms;
  if (loop_->now_ms() >= idle_until) return Finish(End::kIdleTimeout);
  idle_timer_.Arm(loop_->timers(), idle_until - loop_->now_ms());
}

void Relay::Finish(End end) {
  if (finished_) return;
  finished_ = true;
  idle_timer_.Cancel();
  if (end == End::kError) {
    // Pass the failure on: the side still standing gets a reset, not a clean end of stream
    // it could take for a complete answer.
    for (net::Stream* s : {client_.get(), backend_.get()}) {
      if (s->closed()) continue;
      const linger abort{1, 0};
      setsockopt(s->fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
  }
  client_->Close();
  backend_->Close();
  up_.buffer.Release();
  down_.buffer.Release();
  observer_->OnRelayEnd(end);
}

}  // namespace grid::router::l4
