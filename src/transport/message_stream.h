// One open stream of message batches from this member to a peer, accepted by the peer. Two
// kinds behind one interface:
//   - plain-text peers (http://): the message stream of stream_wire.h, a TCP connection
//     written with one send() per batch, no gRPC library on the path;
//   - TLS peers (https://): the gRPC Stream call of peer.proto.
// Both: the peer answers nothing after accepting but keepalives and, at its end, why.
//
// Threads: Open, then Write, TryWrite and CompleteWrite from one thread at a time (the owner
// orders them); WaitForEnd from the watcher thread; Cancel from any thread; Finish after
// WaitForEnd returned and no write is running.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <grpcpp/channel.h>

#include "common/status.h"
#include "grid/peer.pb.h"
#include "transport/metadata.h"
#include "transport/options.h"
#include "transport/tls.h"
#include "transport/url.h"

namespace grid::transport {

class MessageStream {
 public:
  virtual ~MessageStream() = default;
  // Connects (at most options.dial_timeout) and waits as long again for the peer's answer.
  // OK once the peer accepted the stream; its refusal as its status (FailedPrecondition for
  // an identity it refuses); Unavailable when it cannot be reached, or after Cancel().
  virtual Status Open() = 0;
  // Writes one batch; false once the stream has ended. A batch whose write failed was not
  // delivered (the receiver delivers whole batches only), so it may be written again on a
  // new stream.
  virtual bool Write(const peerpb::MessageBatch& batch) = 0;
  // Writes `batch` only as far as the connection takes it without blocking, so that a thread
  // with other work can send when the stream is idle. kPartial: the first bytes of its frame
  // went, the stream keeps the rest, and CompleteWrite() must send them before any other
  // Write. kNotWritten: nothing went (the socket is full, the stream has ended, or this kind
  // cannot write without blocking); the batch is to be written with Write().
  enum class TryWriteResult { kWritten, kPartial, kNotWritten };
  virtual TryWriteResult TryWrite(const peerpb::MessageBatch& batch) {
    (void)batch;
    return TryWriteResult::kNotWritten;
  }
  // Sends, blocking, what a kPartial TryWrite kept; false once the stream has ended (the batch
  // was then not delivered, as for a failed Write).
  virtual bool CompleteWrite() { return false; }
  // Blocks until the stream ends: the peer ended or refused it, the connection broke, no
  // keepalive came for keepalive_interval + keepalive_timeout, or Cancel().
  virtual void WaitForEnd() = 0;
  // Ends the stream: a blocked Write or WaitForEnd returns soon. Idempotent.
  virtual void Cancel() = 0;
  // Why the stream ended. REQUIRES: WaitForEnd returned.
  virtual Status Finish() = 0;
};

// A stream to `url` for `header`, not opened yet: the socket kind for http://, gRPC for
// https://. `options` and `creds` must outlive it.
std::unique_ptr<MessageStream> NewMessageStream(const PeerUrl& url, const CallHeader& header,
                                                const TransportOptions* options,
                                                const PeerCredentials* creds);
std::unique_ptr<MessageStream> NewGrpcMessageStream(const PeerUrl& url, const CallHeader& header,
                                                    const TransportOptions* options,
                                                    const PeerCredentials* creds);
std::unique_ptr<MessageStream> NewSocketMessageStream(const PeerUrl& url,
                                                      const CallHeader& header,
                                                      const TransportOptions* options);

// Asked while dialing: true makes the attempt give up (Unavailable "transport stopping").
using StopCheck = std::function<bool()>;

// A gRPC channel to `url` that is ready (connected), for the calls of peer.proto.
Result<std::shared_ptr<grpc::Channel>> DialPeerChannel(const PeerUrl& url,
                                                       const TransportOptions& options,
                                                       const PeerCredentials& creds,
                                                       const StopCheck& stopping);

}  // namespace grid::transport
