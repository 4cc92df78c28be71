// TcpRelay (tests only): a TCP forwarder on 127.0.0.1:<free port> to an upstream
// "127.0.0.1:<port>", which a test can cut (every relayed connection is shut down and new ones
// are closed as soon as they are accepted) and restore, to partition a client from a server
// that keeps running.
//
// Threads: one accept thread and one thread per relayed connection. Cut(), Restore() and the
// destructor may be called from any thread.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

namespace grid::router::watch::testing {

class TcpRelay {
 public:
  static Result<std::unique_ptr<TcpRelay>> Start(int upstream_port);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  // "127.0.0.1:PORT", for Client::Connect.
  const std::string& endpoint() const { return endpoint_; }
  void Cut();
  void Restore();

 private:
  struct Conn {
    int down = -1;  // accepted from the client
    int up = -1;    // to the upstream
    std::atomic<bool> done{false};
    std::thread thread;
  };
  TcpRelay() = default;
  void AcceptLoop();
  static void Pump(Conn* conn);
  void ReapLocked(bool all);  // joins finished connections (all of them when `all`)

  int listen_fd_ = -1;
  int upstream_port_ = 0;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::mutex mu_;
  std::list<Conn> conns_;  // guarded by mu_
  std::thread accept_thread_;
};

}  // namespace grid::router::watch::testing
