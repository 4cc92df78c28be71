// Carries HTTP/2 streams, unchanged, from one client connection of a UnaryServer to another
// server (the fallback: in gridkv, the gRPC library's server, which serves the streaming
// calls) over one HTTP/2 connection of its own. Headers, DATA and trailers go through as they
// come, in both directions, and so do resets.
//
// Flow control is end to end: bytes read from one side are given back (WINDOW_UPDATE) to that
// side only when the other side has taken them, so a relayed stream buffers at most one
// flow-control window in each direction, and a slow reader slows its writer.
//
// Not thread-safe: the loop's thread only. Destroyed through EventLoop::DeleteLater (it may be
// dropped from inside its own callbacks).
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "router/net/event_loop.h"
#include "router/net/io_buffer.h"
#include "router/net/stream.h"

namespace grid::h2 {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// `headers` as nghttp2 name/value pairs pointing into it (nghttp2 copies them on submit).
std::vector<nghttp2_nv> NvOf(const HeaderList& headers);

// The client-facing side, told what the fallback answered. Stream ids are the client's.
class RelaySink {
 public:
  virtual ~RelaySink() = default;
  // Response headers (`trailers` false) or trailers; `end_stream` also ends the stream (a
  // trailers-only answer, or trailers).
  virtual void RelayHeaders(int32_t stream_id, HeaderList headers, bool trailers,
                            bool end_stream) = 0;
  virtual void RelayData(int32_t stream_id, std::string_view data) = 0;
  // The fallback ended the stream's body without trailers.
  virtual void RelayEnd(int32_t stream_id) = 0;
  // The fallback reset the stream (or its connection went away): reset it with `error_code`.
  virtual void RelayReset(int32_t stream_id, uint32_t error_code) = 0;
  // The fallback took `bytes` of the stream's request body: give them back to the client.
  virtual void RelayConsumed(int32_t stream_id, size_t bytes) = 0;
  // Output for the client is ready (after the relay handled input from the fallback).
  virtual void RelayFlush() = 0;
  // The connection to the fallback is gone (every stream was reset first); the sink drops
  // the relay (DeleteLater) and dials again for the next call.
  virtual void RelayClosed() = 0;
};

class Relay final : public router::net::StreamOwner, public router::net::Deferred {
 public:
  // Flow-control windows this side advertises to the fallback (as the client's server side
  // does to the client).
  static constexpr uint32_t kStreamWindowBytes = 1024 * 1024;
  static constexpr int32_t kConnectionWindowBytes = 16 * 1024 * 1024;

  // Takes `fd` (connected to the fallback). nullptr when the HTTP/2 session or the socket
  // registration fails (fd closed).
  static std::unique_ptr<Relay> Open(router::net::EventLoop* loop, int fd, RelaySink* sink);
  ~Relay() override;

  // Starts the client's stream `stream_id` on the fallback with `headers` (pseudo-headers
  // first). `end_stream`: the request has no body. false when the fallback connection cannot
  // take it (the caller resets the stream).
  bool StartCall(int32_t stream_id, const HeaderList& headers, bool end_stream);
  // Request body bytes for `stream_id` (`end_stream`: the last). Bytes for a stream the relay
  // no longer carries are given back to the client at once.
  void SendData(int32_t stream_id, std::string_view data, bool end_stream);
  // The client's stream ended early (reset, connection closing): cancels it on the fallback.
  void Cancel(int32_t stream_id);
  // The client took `bytes` of the stream's answer: gives them back to the fallback.
  void Consumed(int32_t stream_id, size_t bytes);
  // Writes what the session has for the fallback.
  void Flush();
  // Closes the connection to the fallback, which cancels every relayed stream there.
  void Close();

  void OnStreamReadable(router::net::Stream*) override;
  void OnStreamDrained(router::net::Stream*) override { Flush(); }
  void OnStreamConnected(router::net::Stream*, int) override {}

 private:
  struct Call {
    int32_t client_stream = 0;
    int32_t fallback_stream = 0;
    std::string body;  // request bytes not yet framed for the fallback
    bool body_ended = false;
    bool answer_started = false;  // response headers seen
    HeaderList headers;           // the HEADERS frame being received
  };

  Relay(router::net::EventLoop* loop, int fd, RelaySink* sink)
      : stream_(loop, fd, this, /*connecting=*/false), sink_(sink) {}
  bool Init();
  void Fail();  // resets every stream, closes, tells the sink

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* f, void* self);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* self);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* f, void* self);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* self);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void* self);

  Call* ByFallback(int32_t fallback_stream);

  router::net::Stream stream_;
  RelaySink* sink_;
  nghttp2_session* session_ = nullptr;
  router::net::IoBuffer input_;
  std::string output_;
  std::unordered_map<int32_t, std::unique_ptr<Call>> calls_;  // by client stream id
  std::unordered_map<int32_t, int32_t> client_of_;            // fallback id → client id
  bool closed_ = false;
};

}  // namespace grid::h2
