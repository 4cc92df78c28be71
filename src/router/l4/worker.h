// One event loop thread of the L4 mode: its own SO_REUSEPORT socket per listener, the
// sessions it accepted, and the per-listener connection limit at accept.
//
// Threads: constructed and started by the server; everything else runs on the loop's thread
// (the server reaches it through EventLoop::Post).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "router/balance/hash.h"
#include "router/l4/backend_set.h"
#include "router/l4/session.h"
#include "router/net/event_loop.h"
#include "router/net/socket.h"
#include "router/net/timer_wheel.h"

namespace grid::router::l4 {

// Backoff before accepting again after accept() failed for lack of descriptors or memory.
inline constexpr uint64_t kAcceptRetryMs = 50;

class Worker : public SessionHost {
 public:
  // The current backend set of listener `i` (the server's latest configuration).
  using CurrentSet = std::function<std::shared_ptr<BackendSet>(size_t listener)>;

  Worker(CurrentSet current, std::vector<std::shared_ptr<ListenerStats>> stats, uint64_t seed);
  ~Worker() override;

  // Binds one socket per listener (SO_REUSEPORT) to `addresses[i]`.
  [[nodiscard]] Status Listen(const std::vector<net::SocketAddress>& addresses);
  // REQUIRES: before StartThread(), window_us <= net::kMaxSpinBeforeWaitUs.
  void set_spin_before_wait_us(uint32_t window_us) { loop_.set_spin_before_wait_us(window_us); }
  // The address each listener is bound to (the chosen port after binding port 0).
  const std::vector<net::SocketAddress>& bound() const { return bound_; }

  void StartThread();
  // Any thread.
  void StopAccepting();
  void CloseAll();
  void Stop();

  void OnSessionEnd(Session* session) override;
  uint64_t NextRandom() override { return rng_.Next(); }

 private:
  class Acceptor : public net::IoHandler {
   public:
    Acceptor(Worker* worker, size_t listener) : worker_(worker), listener_(listener) {}
    void OnIoEvent(uint32_t) override { worker_->AcceptAll(listener_); }

   private:
    Worker* worker_;
    size_t listener_;
  };

  void AcceptAll(size_t listener);
  void Accepted(size_t listener, int fd);
  void CloseListeners();

  CurrentSet current_;
  std::vector<std::shared_ptr<ListenerStats>> stats_;
  balance::SplitMix64 rng_;
  net::EventLoop loop_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::vector<int> listen_fds_;
  std::vector<net::SocketAddress> bound_;
  std::vector<std::unique_ptr<net::Timer>> retry_timers_;
  std::unordered_map<Session*, std::unique_ptr<Session>> sessions_;
  std::thread thread_;
};

}  // namespace grid::router::l4
