// The admin listener: a small HTTP/1.1 server on its own thread and loop. Each connection
// carries one request (answered with Connection: close); the handler maps a path to a reply.
// Minimal on purpose: GET only, no body.
//
// Threads: Start() and Stop() from the controlling thread; the handler runs on the admin
// thread and must be thread-safe with respect to whatever it reads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/status.h"
#include "router/net/event_loop.h"
#include "router/net/socket.h"

namespace grid::router::proxy {

// Admin connections served at once; more are closed at accept.
inline constexpr size_t kMaxAdminConnections = 64;

struct AdminReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class AdminServer {
 public:
  using Handler = std::function<AdminReply(std::string_view path)>;

  AdminServer(std::string listen, Handler handler);
  ~AdminServer();

  [[nodiscard]] Status Start();
  const net::SocketAddress& address() const { return address_; }
  void Stop();

 private:
  class Connection;
  class Acceptor : public net::IoHandler {
   public:
    explicit Acceptor(AdminServer* server) : server_(server) {}
    void OnIoEvent(uint32_t) override { server_->AcceptAll(); }

   private:
    AdminServer* server_;
  };
  void AcceptAll();
  void Closed(Connection* c);

  std::string listen_;
  Handler handler_;
  net::EventLoop loop_;
  Acceptor acceptor_;
  int listen_fd_ = -1;
  net::SocketAddress address_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::thread thread_;
};

}  // namespace grid::router::proxy
