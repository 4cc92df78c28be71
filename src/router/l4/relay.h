// Relays bytes both ways between a client and a backend connection until both directions
// have ended, with back-pressure, half-close and an idle timeout.
//
// Back-pressure: a direction reads from its source only while its destination has no unsent
// output, and one read takes at most `buffer_bytes`. So each direction holds at most one read
// buffer and `buffer_bytes` of unsent output (≤ 2 × 2 × buffer_bytes per connection); a peer
// that stops reading stops the relay from reading the other side, and the kernel's windows
// push back on the sender. An idle direction holds no buffer at all (the read buffer is freed
// after each pump, the unsent output's storage when it is gone).
//
// Half-close: end of input on one side is passed on as shutdown(SHUT_WR) to the other once
// its unsent output is gone; the other direction keeps flowing. The relay finishes when both
// directions ended and everything was sent. An error on either side (reset, failed write)
// closes both at once, the other side with a reset (SO_LINGER 0) so its peer sees the
// failure. No bytes moved either way for `idle_timeout_ms` closes both.
//
// Not thread-safe: the loop's thread. The relay owns both streams from construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "router/net/event_loop.h"
#include "router/net/io_buffer.h"
#include "router/net/stream.h"
#include "router/net/timer_wheel.h"

namespace grid::router::l4 {

class Relay : public net::StreamOwner {
 public:
  enum class End { kDone, kError, kIdleTimeout, kClosed };

  class Observer {
   public:
    virtual ~Observer() = default;
    // `bytes` moved from the client to the backend (`to_backend`) or back.
    virtual void OnRelayBytes(bool to_backend, size_t bytes) = 0;
    // Both streams are closed; called once. The relay must stay alive until the end of the
    // loop iteration (destroy it through EventLoop::DeleteLater).
    virtual void OnRelayEnd(End end) = 0;
  };

  struct Options {
    size_t buffer_bytes = 64 * 1024;
    uint64_t idle_timeout_ms = 300000;
  };

  // Both streams are registered with `loop` and connected. REQUIRES: buffer_bytes >= 1.
  Relay(net::EventLoop* loop, std::unique_ptr<net::Stream> client,
        std::unique_ptr<net::Stream> backend, Options options, Observer* observer);
  ~Relay() override;
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Starts moving bytes (input that arrived before is read now).
  void Start();
  // Closes both sides now (End::kClosed); nothing happens if already closed.
  void Close() { Finish(End::kClosed); }
  bool finished() const { return finished_; }

  // Bytes held for this connection now: read buffers and unsent output, both directions.
  size_t buffered_bytes() const;
  // Storage held for this connection's buffers: read buffers' capacity and unsent bytes.
  size_t buffer_capacity_bytes() const;

  void OnStreamReadable(net::Stream* stream) override;
  void OnStreamDrained(net::Stream* stream) override;
  void OnStreamConnected(net::Stream*, int) override {}

 private:
  struct Direction {
    net::Stream* from = nullptr;
    net::Stream* to = nullptr;
    net::IoBuffer buffer;
    bool ended = false;  // `from` reached end of input
    bool to_backend = false;
  };

  void Pump(Direction* d);
  void PumpReads(Direction* d);
  void MaybeDone();
  void Finish(End end);
  void Touch() { last_activity_ms_ = loop_->now_ms(); }
  void OnIdleTimer();

  net::EventLoop* loop_;
  std::unique_ptr<net::Stream> client_;
  std::unique_ptr<net::Stream> backend_;
  const Options options_;
  Observer* observer_;
  Direction up_;    // client → backend
  Direction down_;  // backend → client
  net::Timer idle_timer_;
  uint64_t last_activity_ms_ = 0;
  bool finished_ = false;
};

}  // namespace grid::router::l4
