// A gRPC server for unary calls without the gRPC library: HTTP/2 framing by nghttp2 on one
// edge-triggered epoll loop per thread (router/net's EventLoop); each connection lives on one
// loop, and a call's answer is written by that loop whichever thread finished it.
//
// What it speaks: cleartext HTTP/2 with prior knowledge (how etcd clients dial http://
// endpoints), unary calls, uncompressed messages. A method not in the table is relayed to the
// fallback server (ServerOptions::dial_fallback) or answered UNIMPLEMENTED; a body over
// max_request_bytes RESOURCE_EXHAUSTED (without buffering more of it); a body that is not
// exactly one uncompressed message INVALID_ARGUMENT. Answers written in one loop iteration
// leave in one write per connection.
//
// Threads: Create, Listen, Adopt and Stop from the controlling thread; handlers run on the
// loop threads and must not block; Responder::Finish/Fail from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "h2/grpc_wire.h"
#include "router/net/socket.h"

namespace grid::h2 {

class Loop;

struct ServerOptions {
  unsigned threads = 1;  // event loops, each with its own connections
  // Largest request body (message and prefix) accepted; etcd's default --max-request-bytes
  // (1.5 MiB) plus gRPC's allowance for framing (512 KiB).
  size_t max_request_bytes = 2 * 1024 * 1024;
  // SETTINGS_MAX_CONCURRENT_STREAMS advertised to every client.
  uint32_t max_concurrent_streams = 4096;
  // Bytes read from a connection in one go before they are handed to nghttp2.
  size_t read_chunk_bytes = 256 * 1024;
  // Where calls the table does not hold go (streaming ones too): a connected stream socket
  // to another HTTP/2 server, asked for on a connection's loop thread when the connection's
  // first such call comes; one per client connection, which relays its calls unchanged
  // (relay.h). Unset: such calls are answered UNIMPLEMENTED.
  std::function<Result<int>()> dial_fallback;
};

// One unary call as received.
struct UnaryCall {
  std::string method;  // the :path, e.g. "/etcdserverpb.KV/Put"
  std::string body;    // everything the DATA frames carried: prefix and message
  // Request headers other than pseudo-headers, content-type, te and grpc-timeout, in order.
  std::vector<std::pair<std::string, std::string>> metadata;
  std::optional<std::chrono::nanoseconds> timeout;  // grpc-timeout, when sent
  // The message inside body. REQUIRES: the server checked the framing (it has, when a
  // handler sees the call).
  std::string_view message() const { return std::string_view(body).substr(kMessagePrefixBytes); }
};

// Answers one call, once, from any thread. Destroyed without an answer, it answers INTERNAL
// ("call dropped by the server"). A call whose client went away meanwhile (stream reset,
// connection closed) takes the answer and drops it. REQUIRES: the server outlives it.
class Responder {
 public:
  Responder() = default;
  Responder(Loop* loop, uint64_t connection_id, int32_t stream_id)
      : loop_(loop), connection_id_(connection_id), stream_id_(stream_id) {}
  Responder(Responder&& other) noexcept { *this = std::move(other); }
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  // OK with `framed_message` (a message with its prefix: Frame / FrameMessage).
  void Finish(std::string framed_message);
  // `code` (not kOk) with grpc-message `message` (percent-encoded here).
  void Fail(GrpcCode code, std::string_view message);
  bool finished() const { return loop_ == nullptr; }
  // Runs `task` on the loop thread of the call's connection, queued behind what that loop is
  // doing (also when called there). It runs even if the connection has closed meanwhile; an
  // answer given then goes nowhere. REQUIRES: !finished().
  void RunOnLoop(std::function<void()> task) const;

 private:
  void Send(GrpcCode code, std::string payload);

  Loop* loop_ = nullptr;  // nullptr once answered (or moved from)
  uint64_t connection_id_ = 0;
  int32_t stream_id_ = 0;
};

// Runs on the loop thread of the call's connection; may finish `responder` at once or later.
using UnaryHandler = std::function<void(UnaryCall call, Responder responder)>;
using MethodTable = std::unordered_map<std::string, UnaryHandler>;

class UnaryServer {
 public:
  // Starts options.threads loops (threads running, no connections yet). Fails when a loop
  // cannot be set up (epoll or eventfd refused).
  static Result<std::unique_ptr<UnaryServer>> Start(ServerOptions options, MethodTable methods);
  ~UnaryServer();  // Stop()
  UnaryServer(const UnaryServer&) = delete;
  UnaryServer& operator=(const UnaryServer&) = delete;

  // Accepts on `address` (port 0: a free port), one SO_REUSEPORT listener per loop; returns
  // the port bound. REQUIRES: before Stop().
  Result<uint16_t> Listen(const router::net::SocketAddress& address);
  // Serves a connected socket (the server owns it from now on), on the next loop in turn.
  // From one thread at a time (the controlling thread, or the one thread that accepts).
  void Adopt(int fd);
  // Streams the connections' HTTP/2 sessions keep a record of: open calls only, as a closed
  // stream is freed at once. Asks every loop and waits for them. REQUIRES: before Stop().
  size_t StreamsHeld();
  // Closes listeners and connections (calls in flight are dropped: their answers go nowhere)
  // and joins the loops. Idempotent.
  void Stop();

 private:
  UnaryServer() = default;

  std::shared_ptr<const MethodTable> methods_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  size_t next_loop_ = 0;
  bool stopped_ = false;
};

}  // namespace grid::h2
