#include "router/net/stream.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "router/net/socket.h"

namespace grid::router::net {

Stream::Stream(EventLoop* loop, int fd, StreamOwner* owner, bool connecting)
    : loop_(loop), fd_(fd), owner_(owner), connecting_(connecting) {}

Stream::~Stream() { Close(); }

Status Stream::Register() { return loop_->Add(fd_, this); }

Stream::ReadResult Stream::ReadInto(IoBuffer* buffer, size_t max_capacity) {
  ReadResult r;
  if (fd_ < 0) {
    r.status = ReadStatus::kError;
    r.error = EBADF;
    return r;
  }
  std::span<char> room = buffer->PrepareWrite(read_bytes_wanted_, max_capacity);
  if (room.empty()) {
    r.status = ReadStatus::kFull;
    return r;
  }
  // recv, not read: the socket call skips the file layer's checks.
  const ssize_t n = recv(fd_, room.data(), room.size(), 0);
  if (n > 0) {
    buffer->Commit(static_cast<size_t>(n));
    // A read that filled its region found more waiting than it asked for: ask for twice as
    // much next time (a large body then costs fewer, larger reads and writes). A read of a
    // quarter or less halves it again, so small exchanges go back to the cached block size.
    const size_t got = static_cast<size_t>(n);
    if (got == room.size() && read_bytes_wanted_ < kMaxReadChunkBytes) {
      read_bytes_wanted_ *= 2;
    } else if (got <= read_bytes_wanted_ / 4 && read_bytes_wanted_ > kReadChunkBytes) {
      read_bytes_wanted_ /= 2;
    }
    r.status = ReadStatus::kData;
    r.bytes = static_cast<size_t>(n);
    // A short read on a stream socket means the receive queue is empty now, unless the peer
    // hung up: then EOF is still to be read and no further edge will announce it.
    if (static_cast<size_t>(n) < room.size() && !hangup_seen_) readable_ = false;
    return r;
  }
  if (n == 0) {
    r.status = ReadStatus::kEof;
    return r;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    readable_ = false;
    r.status = ReadStatus::kWouldBlock;
    return r;
  }
  if (errno == EINTR) return r;  // kWouldBlock with readable_ still true: read again
  r.status = ReadStatus::kError;
  r.error = errno;
  error_ = errno;
  return r;
}

bool Stream::Write(std::string_view a, std::string_view b) {
  if (fd_ < 0 || error_ != 0) return false;
  if (!pending_.empty() || connecting_) {
    pending_.Append(a);
    pending_.Append(b);
    return true;
  }
  if (a.empty()) {
    a = b;
    b = {};
  }
  if (a.empty()) return true;
  ssize_t n;
  if (b.empty()) {
    // One region: send, which skips sendmsg's header and iovec copies.
    n = send(fd_, a.data(), a.size(), MSG_NOSIGNAL);
  } else {
    iovec iov[2] = {{const_cast<char*>(a.data()), a.size()},
                    {const_cast<char*>(b.data()), b.size()}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    n = sendmsg(fd_, &msg, MSG_NOSIGNAL);
  }
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      error_ = errno;
      return false;
    }
    n = 0;
  }
  size_t sent = static_cast<size_t>(n);
  if (sent < a.size()) {
    pending_.Append(a.substr(sent));
    pending_.Append(b);
  } else {
    pending_.Append(b.substr(sent - a.size()));
  }
  return true;
}

void Stream::Flush() {
  while (!pending_.empty()) {
    std::string_view data = pending_.readable();
    const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) error_ = errno;
      return;
    }
    pending_.Consume(static_cast<size_t>(n));
  }
}

void Stream::ShutdownWriteWhenDrained() {
  if (fd_ < 0) return;
  if (pending_.empty() && !connecting_) {
    shutdown(fd_, SHUT_WR);
  } else {
    shutdown_pending_ = true;
  }
}

void Stream::Close() {
  if (fd_ < 0) return;
  loop_->Remove(fd_);
  close(fd_);
  fd_ = -1;
  readable_ = false;
  pending_.Clear();
  pending_.Release();
}

void Stream::OnIoEvent(uint32_t events) {
  if (fd_ < 0) return;
  if (connecting_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
    connecting_ = false;
    const int err = ConnectResult(fd_);
    if (err != 0) error_ = err;
    owner_->OnStreamConnected(this, err);
    if (fd_ < 0 || err != 0) return;
    // Output queued while connecting goes now.
    events |= EPOLLOUT;
  }
  if ((events & (EPOLLOUT | EPOLLERR)) != 0 && !pending_.empty()) {
    Flush();
    if (pending_.empty()) {
      if (shutdown_pending_) {
        shutdown(fd_, SHUT_WR);
        shutdown_pending_ = false;
      }
      owner_->OnStreamDrained(this);
      if (fd_ < 0) return;
    } else if (error_ != 0) {
      // The peer is gone: let the owner find out through a read.
      readable_ = true;
      owner_->OnStreamReadable(this);
      return;
    }
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) hangup_seen_ = true;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    readable_ = true;
    owner_->OnStreamReadable(this);
  }
}

}  // namespace grid::router::net
