// One proxy loop: a thread running an EventLoop with its own SO_REUSEPORT listener, its
// client sessions, its upstream pool and counters. Loops share nothing on the data path but
// the serving state (TableHolder), the process protection and the access log.
//
// Threads: Start() runs the loop on a new thread; BeginDrain(), CloseAll() and Stop() may be
// called from any thread (they post to the loop); drained() and stats() are readable from any
// thread.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>

#include "common/status.h"
#include "router/net/event_loop.h"
#include "router/net/socket.h"
#include "router/proxy/client_session.h"
#include "router/proxy/loop_context.h"

namespace grid::router::proxy {

class Worker : public SessionHost {
 public:
  Worker(const ProxyLimits& limits, const TableHolder* tables, ProcessProtection* protection,
         AccessLog* access_log, uint64_t seed);
  ~Worker() override;

  // Binds this loop's listener. REQUIRES: before Start().
  [[nodiscard]] Status Listen(const net::SocketAddress& address, bool reuse_port);
  const net::SocketAddress& bound_address() const { return bound_; }

  // REQUIRES: before Start(), window_us <= net::kMaxSpinBeforeWaitUs.
  void set_spin_before_wait_us(uint32_t window_us) { loop_.set_spin_before_wait_us(window_us); }
  void Start();
  // Stops accepting, closes idle client and upstream connections; busy client connections
  // close after their current response.
  void BeginDrain();
  // Closes every connection now.
  void CloseAll();
  // Ends the loop and joins its thread.
  void Stop();

  // Draining and no client connection left.
  bool drained() const { return drained_.load(std::memory_order_acquire); }
  const ProxyStats& stats() const { return stats_; }

  void OnSessionClosed(ClientSession* session) override;

 private:
  class Acceptor : public net::IoHandler {
   public:
    explicit Acceptor(Worker* worker) : worker_(worker) {}
    void OnIoEvent(uint32_t) override { worker_->AcceptAll(); }

   private:
    Worker* worker_;
  };

  void AcceptAll();
  void CloseListener();
  void CheckDrained();

  ProxyLimits limits_;
  net::EventLoop loop_;
  TableCache tables_;
  UpstreamPool pool_;
  BackendChooser chooser_;
  ProxyStats stats_;
  LoopContext ctx_;
  Acceptor acceptor_;
  int listen_fd_ = -1;
  int spare_fd_ = -1;  // given up to accept-and-close when descriptors run out
  net::SocketAddress bound_;
  std::unordered_map<ClientSession*, std::unique_ptr<ClientSession>> sessions_;
  std::atomic<bool> drained_{false};
  std::thread thread_;
};

}  // namespace grid::router::proxy
