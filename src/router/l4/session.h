// One client connection of a listener: picks a backend, connects to it without blocking (on
// failure or timeout another backend, up to `connect_attempts` in all), then hands both
// connections to a Relay. No backend connected → the client is closed.
//
// Not thread-safe: the loop's thread. Destroyed through EventLoop::DeleteLater after it told
// its host it ended.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "router/l4/backend_set.h"
#include "router/l4/relay.h"
#include "router/net/event_loop.h"
#include "router/net/stream.h"
#include "router/net/timer_wheel.h"

namespace grid::router::l4 {

class Session;

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // The session closed both sides; the host destroys it (DeleteLater) and counts it out.
  virtual void OnSessionEnd(Session* session) = 0;
  // A fresh random value for a pick.
  virtual uint64_t NextRandom() = 0;
};

class Session : public net::Deferred, public net::StreamOwner, public Relay::Observer {
 public:
  // Takes ownership of the accepted `client_fd`.
  Session(net::EventLoop* loop, SessionHost* host, int client_fd,
          std::shared_ptr<BackendSet> backends, std::shared_ptr<ListenerStats> listener_stats);
  ~Session() override;

  // Starts the first connect attempt (may end the session at once).
  void Start();
  // Closes both sides now.
  void Close();

  bool relaying() const { return relay_ != nullptr; }
  ListenerStats& listener_stats() { return *listener_stats_; }

  void OnStreamReadable(net::Stream* stream) override;
  void OnStreamDrained(net::Stream*) override {}
  void OnStreamConnected(net::Stream* stream, int error) override;
  void OnRelayBytes(bool to_backend, size_t bytes) override;
  void OnRelayEnd(Relay::End end) override;

 private:
  void TryNextBackend();
  void AttemptFailed();
  void DiscardBackendStream();
  void End();

  net::EventLoop* loop_;
  SessionHost* host_;
  std::shared_ptr<BackendSet> backends_;
  std::shared_ptr<ListenerStats> listener_stats_;
  std::unique_ptr<net::Stream> client_;
  std::unique_ptr<net::Stream> backend_;         // while connecting
  std::shared_ptr<BackendStats> backend_stats_;  // of the backend tried or connected
  std::vector<size_t> tried_;
  net::Timer connect_timer_;
  std::unique_ptr<Relay> relay_;
  bool ended_ = false;
};

}  // namespace grid::router::l4
