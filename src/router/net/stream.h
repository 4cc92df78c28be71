// One non-blocking TCP connection registered with an EventLoop (edge-triggered). Reads go into
// the owner's IoBuffer; writes go straight to the socket and only what the socket does not
// take is copied into the stream's pending output. The owner applies back-pressure by
// comparing pending_write_bytes() with its limit and not reading the other side meanwhile;
// OnStreamDrained tells it when the pending output is gone.
//
// Edge-triggered contract: OnStreamReadable means "input or EOF may be waiting"; readable()
// stays true until a read meets EAGAIN, so an owner that stopped reading (back-pressure) asks
// readable() when it resumes instead of waiting for another event that will not come.
//
// Not thread-safe: the loop's thread only. The owner may Close() from any callback; the object
// itself must then stay alive until the end of the loop iteration (EventLoop::DeleteLater).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "router/net/event_loop.h"
#include "router/net/io_buffer.h"

namespace grid::router::net {

// Bytes asked of one recv() call at least (the buffer grows to it if its limit allows).
inline constexpr size_t kReadChunkBytes = 16 * 1024;
static_assert(kReadChunkBytes == kIoBufferBlockBytes, "first reads use the cached block size");
// Bytes asked of one recv() call at most: a stream whose reads keep filling their region asks
// for twice as much each time, from kReadChunkBytes up to this (within its buffer's limit),
// and half as much after a read of a quarter or less.
inline constexpr size_t kMaxReadChunkBytes = 256 * 1024;

class Stream;

class StreamOwner {
 public:
  virtual ~StreamOwner() = default;
  virtual void OnStreamReadable(Stream* stream) = 0;
  // All pending output was written.
  virtual void OnStreamDrained(Stream* stream) = 0;
  // A connect started with `connecting` finished: 0 or its errno.
  virtual void OnStreamConnected(Stream* stream, int error) = 0;
};

class Stream : public IoHandler {
 public:
  // Takes ownership of `fd`. `connecting`: a non-blocking connect is in progress.
  Stream(EventLoop* loop, int fd, StreamOwner* owner, bool connecting);
  ~Stream() override;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  [[nodiscard]] Status Register();
  void set_owner(StreamOwner* owner) { owner_ = owner; }

  enum class ReadStatus : uint8_t { kData, kWouldBlock, kFull, kEof, kError };
  struct ReadResult {
    ReadStatus status = ReadStatus::kWouldBlock;
    size_t bytes = 0;
    int error = 0;  // kError
  };
  // One recv() into `buffer`, whose storage may grow up to `max_capacity` bytes. kFull when
  // the buffer has no room left (nothing read).
  ReadResult ReadInto(IoBuffer* buffer, size_t max_capacity);

  // Sends `a` then `b`: what the socket does not take now is kept and sent when it becomes
  // writable. false when the connection failed (nothing more can be sent); error() tells why.
  bool Write(std::string_view a, std::string_view b = {});
  size_t pending_write_bytes() const { return pending_.size(); }
  // Half-closes after the pending output is sent.
  void ShutdownWriteWhenDrained();

  // Removes the descriptor from the loop and closes it; pending output is dropped.
  void Close();
  bool closed() const { return fd_ < 0; }
  bool readable() const { return readable_; }
  // Makes the next read attempt a real read() even without an event (EAGAIN clears it).
  void AssumeReadable() {
    if (fd_ >= 0) readable_ = true;
  }
  bool connecting() const { return connecting_; }
  int error() const { return error_; }
  int fd() const { return fd_; }
  // Drops the pending output's storage when empty (idle pooled connections).
  void ReleaseBuffers() { pending_.Release(); }

  void OnIoEvent(uint32_t events) override;

 private:
  void Flush();

  EventLoop* loop_;
  int fd_;
  StreamOwner* owner_;
  bool connecting_;
  bool readable_ = false;
  bool shutdown_pending_ = false;
  bool hangup_seen_ = false;
  int error_ = 0;
  // Grows while reads fill their region, shrinks after small reads; never below
  // kReadChunkBytes or above kMaxReadChunkBytes.
  size_t read_bytes_wanted_ = kReadChunkBytes;
  IoBuffer pending_;
};

}  // namespace grid::router::net
