// The socket kind of MessageStream (http:// peers): stream_wire.h over one TCP connection,
// written with one send() per batch (by the stream thread, or without blocking by the thread
// that queued it), read by the watcher thread.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "common/check.h"
#include "router/net/socket.h"
#include "transport/message_stream.h"
#include "transport/stream_wire.h"

namespace grid::transport {
namespace {

using Clock = std::chrono::steady_clock;

// Slice of a wait between checks for Cancel().
constexpr int kPollSliceMs = 50;
// Bytes read from the connection at a time (the peer sends only small frames).
constexpr size_t kReadChunkBytes = 4096;
// A frame buffer larger than this is released after its write.
constexpr size_t kKeptFrameBytes = 4u << 20;
// Largest frame a receiver sends: kEnd with its reason.
constexpr size_t kMaxAnswerBytes = 64 * 1024;

class SocketMessageStream final : public MessageStream {
 public:
  SocketMessageStream(const PeerUrl& url, const CallHeader& header, const TransportOptions* options)
      : url_(url), header_(header), options_(options), reader_(kMaxAnswerBytes) {}

  ~SocketMessageStream() override {
    if (fd_ >= 0) close(fd_);
  }

  Status Open() override {
    Result<router::net::SocketAddress> address = router::net::ResolveSocketAddress(url_.target());
    if (!address.ok()) return Unavailable("cannot connect to " + url_.original + ": " +
                                          address.status().message());
    Result<int> fd = router::net::StartConnect(*address);
    if (!fd.ok()) return Unavailable("cannot connect to " + url_.original + ": " +
                                     fd.status().message());
    {
      std::lock_guard l(mu_);
      fd_ = *fd;
      if (cancelled_) return Unavailable("transport stopping");
    }
    const Clock::time_point connect_deadline = Clock::now() + options_->dial_timeout;
    GRID_RETURN_IF_ERROR(WaitFor(POLLOUT, connect_deadline, "timed out connecting to "));
    if (int err = router::net::ConnectResult(fd_); err != 0) {
      return Unavailable("cannot connect to " + url_.original + ": " + std::strerror(err));
    }
    router::net::SetNoDelay(fd_);
    const int flags = fcntl(fd_, F_GETFL);
    fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    if (!SendAll(EncodeHello(header_))) {
      return Unavailable("cannot write to " + url_.original + ": " + std::strerror(errno));
    }
    const Clock::time_point answer_deadline = Clock::now() + options_->dial_timeout;
    for (;;) {
      Result<std::optional<FrameView>> frame = reader_.Next();
      if (!frame.ok()) return frame.status().WithContext("answer from " + url_.original);
      if (frame->has_value()) {
        const FrameView& f = **frame;
        if (f.type == FrameType::kAccepted) return Status::Ok();
        if (f.type == FrameType::kEnd) return DecodeEnd(f.payload).WithContext("stream to " + url_.original);
        return InvalidArgument("peer at " + url_.original + " answered with frame type " +
                               std::to_string(static_cast<int>(f.type)));
      }
      GRID_RETURN_IF_ERROR(WaitFor(POLLIN, answer_deadline, "timed out waiting for an answer from "));
      Status s = ReadSome();
      if (!s.ok()) return s;
    }
  }

  bool Write(const peerpb::MessageBatch& batch) override {
    EncodeBatch(batch);
    const bool sent = SendAll(out_);
    ReleaseFrame();
    return sent;
  }

  TryWriteResult TryWrite(const peerpb::MessageBatch& batch) override {
    EncodeBatch(batch);
    size_t sent = 0;
    while (sent < out_.size()) {
      const ssize_t n =
          send(fd_, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // full (EAGAIN) or broken: the stream thread's blocking write finds out which
      }
      sent += static_cast<size_t>(n);
    }
    if (sent == out_.size()) {
      ReleaseFrame();
      return TryWriteResult::kWritten;
    }
    if (sent == 0) return TryWriteResult::kNotWritten;
    out_sent_bytes_ = sent;
    return TryWriteResult::kPartial;
  }

  bool CompleteWrite() override {
    GRID_CHECK(out_sent_bytes_ > 0 && out_sent_bytes_ < out_.size())
        << "CompleteWrite without a partial TryWrite";
    const bool sent = SendAll(std::string_view(out_).substr(out_sent_bytes_));
    out_sent_bytes_ = 0;
    ReleaseFrame();
    return sent;
  }

  void WaitForEnd() override {
    const auto silence = options_->keepalive_interval + options_->keepalive_timeout;
    Clock::time_point deadline = Clock::now() + silence;
    Status why;
    for (;;) {
      Result<std::optional<FrameView>> frame = reader_.Next();
      if (!frame.ok()) {
        why = frame.status();
        break;
      }
      if (frame->has_value()) {
        if ((*frame)->type == FrameType::kEnd) {
          why = DecodeEnd((*frame)->payload);
          break;
        }
        deadline = Clock::now() + silence;  // kKeepalive (anything else is ignored)
        continue;
      }
      why = WaitFor(POLLIN, deadline, "keepalive: no word for " +
                                          std::to_string(silence.count()) + " ms from ");
      if (!why.ok()) break;
      why = ReadSome();
      if (!why.ok()) break;
    }
    {
      std::lock_guard l(mu_);
      end_ = why;
    }
    shutdown(fd_, SHUT_RDWR);  // a Write blocked on a peer that stopped reading returns
  }

  void Cancel() override {
    std::lock_guard l(mu_);
    cancelled_ = true;
    if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
  }

  Status Finish() override {
    std::lock_guard l(mu_);
    if (cancelled_) return Status(Code::kCancelled, "stream to " + url_.original + " cancelled");
    return end_;
  }

 private:
  // Waits until fd_ is ready for `events`, in slices so that Cancel() is seen.
  Status WaitFor(short events, Clock::time_point deadline, const std::string& timeout_text) {
    for (;;) {
      {
        std::lock_guard l(mu_);
        if (cancelled_) return Unavailable("transport stopping");
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Unavailable(timeout_text + url_.original);
      pollfd p{fd_, events, 0};
      const int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), kPollSliceMs)));
      if (n < 0 && errno != EINTR) return Unavailable("poll: " + std::string(std::strerror(errno)));
      if (n > 0) return Status::Ok();
    }
  }

  // Reads what is there into reader_; Unavailable at the end of the connection.
  Status ReadSome() {
    char buf[kReadChunkBytes];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        reader_.Append(buf, static_cast<size_t>(n));
        return Status::Ok();
      }
      if (n == 0) return Unavailable("peer at " + url_.original + " closed the stream");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
      return Unavailable("read from " + url_.original + ": " + std::strerror(errno));
    }
  }

  // out_ = the kBatch frame of `batch`.
  void EncodeBatch(const peerpb::MessageBatch& batch) {
    GRID_CHECK(out_sent_bytes_ == 0) << "a write while a partial TryWrite waits for CompleteWrite";
    out_.clear();
    const size_t bytes = batch.ByteSizeLong();
    out_.reserve(kFrameHeadBytes + bytes);
    AppendFrameHead(FrameType::kBatch, bytes, &out_);
    out_.resize(kFrameHeadBytes + bytes);
    batch.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out_.data() + kFrameHeadBytes));
  }

  void ReleaseFrame() {
    if (out_.capacity() > kKeptFrameBytes) std::string().swap(out_);
  }

  bool SendAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  const PeerUrl url_;
  const CallHeader header_;
  const TransportOptions* const options_;
  FrameReader reader_;  // Open, then the watcher thread
  std::string out_;     // the frame being written (one writing thread at a time)
  size_t out_sent_bytes_ = 0;  // of out_, after a kPartial TryWrite; 0 otherwise

  std::mutex mu_;
  int fd_ = -1;             // set once by Open; closed by the destructor only
  bool cancelled_ = false;  // GUARDED_BY(mu_)
  Status end_;              // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<MessageStream> NewSocketMessageStream(const PeerUrl& url,
                                                      const CallHeader& header,
                                                      const TransportOptions* options) {
  return std::make_unique<SocketMessageStream>(url, header, options);
}

}  // namespace grid::transport
