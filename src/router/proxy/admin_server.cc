#include "router/proxy/admin_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "router/http/request_parser.h"
#include "router/net/io_buffer.h"
#include "router/net/stream.h"
#include "router/proxy/local_answer.h"

namespace grid::router::proxy {
namespace {

// An admin request head must fit in this.
constexpr size_t kMaxAdminRequestBytes = 16 * 1024;
// An admin connection that sends no complete head within this is closed.
constexpr uint64_t kAdminRequestTimeoutMs = 5000;

}  // namespace

class AdminServer::Connection : public net::StreamOwner, public net::Deferred {
 public:
  Connection(AdminServer* server, int fd)
      : server_(server),
        stream_(&server->loop_, fd, this, false),
        timer_([this] { Finish(); }) {}

  Status Start() {
    timer_.Arm(server_->loop_.timers(), kAdminRequestTimeoutMs);
    return stream_.Register();
  }

  void OnStreamReadable(net::Stream*) override {
    while (!answered_ && stream_.readable()) {
      net::Stream::ReadResult r = stream_.ReadInto(&in_, kMaxAdminRequestBytes);
      if (r.status == net::Stream::ReadStatus::kEof || r.status == net::Stream::ReadStatus::kError ||
          r.status == net::Stream::ReadStatus::kFull) {
        Finish();
        return;
      }
      if (r.status != net::Stream::ReadStatus::kData) return;
      http::ParseState st = parser_.Parse(in_.readable());
      if (st == http::ParseState::kNeedMore) continue;
      AdminReply reply;
      if (st == http::ParseState::kError) {
        reply = {parser_.error().status, "text/plain", std::string(parser_.error().reason) + "\n"};
      } else {
        std::string_view target = parser_.head().target;
        target = target.substr(0, target.find('?'));
        reply = server_->handler_(target);
      }
      Answer(reply);
      return;
    }
  }
  void OnStreamDrained(net::Stream*) override {
    if (answered_) Finish();
  }
  void OnStreamConnected(net::Stream*, int) override {}

 private:
  void Answer(const AdminReply& reply) {
    answered_ = true;
    std::string out = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status, ReasonPhrase(reply.status), reply.content_type, reply.body.size());
    if (!stream_.Write(out, reply.body) || stream_.pending_write_bytes() == 0) Finish();
  }
  void Finish() {
    if (stream_.closed()) return;
    timer_.Cancel();
    stream_.Close();
    server_->Closed(this);
  }

  AdminServer* server_;
  net::Stream stream_;
  net::Timer timer_;
  net::IoBuffer in_;
  http::RequestParser parser_;
  bool answered_ = false;
};

AdminServer::AdminServer(std::string listen, Handler handler)
    : listen_(std::move(listen)), handler_(std::move(handler)), acceptor_(this) {}

AdminServer::~AdminServer() {
  Stop();
  connections_.clear();
  if (listen_fd_ >= 0) close(listen_fd_);
}

Status AdminServer::Start() {
  GRID_RETURN_IF_ERROR(loop_.init_status());
  GRID_ASSIGN_OR_RETURN(net::SocketAddress address, net::ParseSocketAddress(listen_));
  GRID_ASSIGN_OR_RETURN(listen_fd_, net::Listen(address, false));
  GRID_ASSIGN_OR_RETURN(address_, net::LocalAddress(listen_fd_));
  GRID_RETURN_IF_ERROR(loop_.AddReadOnly(listen_fd_, &acceptor_));
  thread_ = std::thread([this] { loop_.Run(); });
  return Status::Ok();
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  loop_.Stop();
  thread_.join();
}

void AdminServer::AcceptAll() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    if (connections_.size() >= kMaxAdminConnections) {
      close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>(this, fd);
    Connection* raw = c.get();
    connections_.emplace(raw, std::move(c));
    if (!raw->Start().ok()) Closed(raw);
  }
}

void AdminServer::Closed(Connection* c) {
  auto it = connections_.find(c);
  if (it == connections_.end()) return;
  loop_.DeleteLater(std::move(it->second));
  connections_.erase(it);
}

}  // namespace grid::router::proxy
