#include "router/l4/session.h"

#include <spdlog/spdlog.h>

#include "router/net/socket.h"

namespace grid::router::l4 {
namespace {

// Keeps a closed stream alive until the end of the loop iteration (its events may still be
// in the current batch).
struct ClosedStream : net::Deferred {
  explicit ClosedStream(std::unique_ptr<net::Stream> s) : stream(std::move(s)) {}
  std::unique_ptr<net::Stream> stream;
};

}  // namespace

Session::Session(net::EventLoop* loop, SessionHost* host, int client_fd,
                 std::shared_ptr<BackendSet> backends,
                 std::shared_ptr<ListenerStats> listener_stats)
    : loop_(loop),
      host_(host),
      backends_(std::move(backends)),
      listener_stats_(std::move(listener_stats)),
      client_(std::make_unique<net::Stream>(loop, client_fd, this, false)),
      connect_timer_([this] {
        if (ended_ || !backend_) return;
        AttemptFailed();
      }) {}

Session::~Session() {
  connect_timer_.Cancel();
  if (backend_stats_ && !relay_ && backend_) backend_stats_->active.fetch_sub(1);
}

void Session::Start() {
  if (Status s = client_->Register(); !s.ok()) {
    spdlog::warn("l4 {}: register client: {}", backends_->config().name, s.ToString());
    return End();
  }
  TryNextBackend();
}

void Session::TryNextBackend() {
  const ListenerConfig& config = backends_->config();
  while (!ended_) {
    if (tried_.size() >= config.connect_attempts) break;
    const std::optional<size_t> pick = backends_->Pick(tried_, host_->NextRandom());
    if (!pick) break;
    tried_.push_back(*pick);
    const BackendSet::Backend& b = backends_->backends()[*pick];
    backend_stats_ = b.stats;
    backend_stats_->active.fetch_add(1);
    Result<int> fd = net::StartConnect(b.config.resolved);
    if (!fd.ok()) {
      backend_stats_->active.fetch_sub(1);
      backend_stats_->connect_failures.fetch_add(1);
      continue;
    }
    backend_ = std::make_unique<net::Stream>(loop_, *fd, this, true);
    if (Status s = backend_->Register(); !s.ok()) {
      DiscardBackendStream();
      backend_stats_->active.fetch_sub(1);
      backend_stats_->connect_failures.fetch_add(1);
      continue;
    }
    connect_timer_.Arm(loop_->timers(), config.connect_timeout_ms);
    return;
  }
  if (!ended_) {
    listener_stats_->no_backend.fetch_add(1);
    End();
  }
}

void Session::DiscardBackendStream() {
  if (!backend_) return;
  backend_->Close();
  loop_->DeleteLater(std::make_unique<ClosedStream>(std::move(backend_)));
}

void Session::AttemptFailed() {
  connect_timer_.Cancel();
  DiscardBackendStream();
  backend_stats_->active.fetch_sub(1);
  backend_stats_->connect_failures.fetch_add(1);
  TryNextBackend();
}

void Session::OnStreamConnected(net::Stream* stream, int error) {
  if (ended_ || stream != backend_.get()) return;
  if (error != 0) return AttemptFailed();
  connect_timer_.Cancel();
  backend_stats_->total.fetch_add(1);
  net::SetNoDelay(backend_->fd());
  const ListenerConfig& config = backends_->config();
  Relay::Options options;
  options.buffer_bytes = config.buffer_bytes;
  options.idle_timeout_ms = config.idle_timeout_ms;
  relay_ = std::make_unique<Relay>(loop_, std::move(client_), std::move(backend_), options, this);
  relay_->Start();
}

void Session::OnStreamReadable(net::Stream* stream) {
  // While connecting, client input waits in the kernel; the relay reads it once connected.
  // A failed client (reset) ends the session now.
  if (ended_ || stream != client_.get()) return;
  if (client_->error() != 0) Close();
}

void Session::OnRelayBytes(bool to_backend, size_t bytes) {
  if (to_backend) {
    backend_stats_->bytes_in.fetch_add(bytes, std::memory_order_relaxed);
  } else {
    backend_stats_->bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  }
}

void Session::OnRelayEnd(Relay::End) {
  backend_stats_->active.fetch_sub(1);
  End();
}

void Session::Close() {
  if (ended_) return;
  if (relay_) {
    relay_->Close();  // OnRelayEnd ends the session
    return;
  }
  connect_timer_.Cancel();
  if (backend_) {
    DiscardBackendStream();
    backend_stats_->active.fetch_sub(1);
  }
  End();
}

void Session::End() {
  if (ended_) return;
  ended_ = true;
  connect_timer_.Cancel();
  if (client_) client_->Close();
  host_->OnSessionEnd(this);
}

}  // namespace grid::router::l4
