// Everything this member sends to one peer: a bounded queue drained by a stream thread (one
// MessageStream, batches written in queue order, kept open even while idle, as etcd keeps its
// peer streams; while that thread is idle the queuing thread writes a batch itself when the
// connection takes it without blocking), a watcher thread per open stream (notices the call
// ending even while nothing is written) and a snapshot thread (one SendSnapshot call at a
// time). Connection failures drop what is queued, report the peer unreachable, and back off.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "common/status.h"
#include "grid/peer.grpc.pb.h"
#include "raft/types.h"
#include "transport/message_stream.h"
#include "transport/options.h"
#include "transport/outgoing_queue.h"
#include "transport/tls.h"
#include "transport/url.h"

namespace grid::transport {

struct PeerStats {
  size_t queued_msgs = 0;
  uint64_t queued_bytes = 0;
  uint64_t sent_msgs = 0;     // written to a stream
  // Batches Flush() wrote whole from the queuing thread, and batches it handed to the stream
  // thread because the connection did not take them whole without blocking.
  uint64_t batches_written_by_flush = 0;
  uint64_t batches_handed_off = 0;
  uint64_t dropped_msgs = 0;  // queue full, oversized, or lost with a failed connection
  // Streams that could not be opened (dial or refusal) while messages waited for them.
  uint64_t connect_failures = 0;
  bool connected = false;         // a stream is open (PeerSender::active_since() is set)
};

// Exponential back-off between connection attempts, bounded by `max`.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial) {}
  std::chrono::milliseconds Next() {
    auto d = next_;
    next_ = std::min(max_, next_ * 2);
    return d;
  }
  std::chrono::milliseconds Max() {
    next_ = max_;
    return max_;
  }
  void Reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, next_;
};

class PeerSender {
 public:
  PeerSender(const TransportOptions* options, const PeerCredentials* creds,
             const TransportCallbacks* callbacks, raft::MemberId peer, std::vector<PeerUrl> urls);
  ~PeerSender();  // Stop()
  PeerSender(const PeerSender&) = delete;
  PeerSender& operator=(const PeerSender&) = delete;

  // Queues `m` (not kSnap) without sending it; Flush() sends. False when it was dropped (a
  // limit was hit, or the sender stopped).
  bool Enqueue(raft::Message m);
  // Sends what is queued. When the stream is open and idle, the calling thread writes the
  // batch itself if the connection takes it without blocking, sparing the stream thread's
  // wake-up (one per batch); otherwise, or for what it could not write, the stream thread is
  // woken. Never blocks on the network.
  void Flush();
  // Hands a kSnap to the snapshot thread; false when a snapshot to this peer is already waiting
  // or being sent (the limit is one at a time), or the sender stopped.
  bool EnqueueSnapshot(raft::Message m);
  // The next connection uses `urls`; an open stream is closed.
  void UpdateUrls(std::vector<PeerUrl> urls);
  // Cancels calls in flight, joins the threads. Queued messages are dropped silently.
  void Stop();

  PeerStats stats() const;

  // When the open stream to the peer became active: the peer accepted it (answered kAccepted,
  // or StreamAccepted on the gRPC kind) at that time and it has not ended since. nullopt while no accepted call is
  // open: before the first one, after the call ended (the peer stopped, refused a batch or
  // cancelled; the connection broke or keepalive found it dead; a write failed; the URLs
  // changed) until the next accepted call, while the peer refuses or cannot be reached, and
  // after Stop(). The stream thread keeps a call open whether or not there is anything to send.
  std::optional<std::chrono::steady_clock::time_point> active_since() const;

 private:
  struct OpenStream {
    std::unique_ptr<MessageStream> stream;
    // Blocks in stream->WaitForEnd() (the peer sends nothing but keepalives after accepting)
    // until the stream ends, then sets stream_ended_. Joined by CloseStream() before Finish().
    std::thread watcher;
  };

  void RunStream();
  void RunSnapshots();
  // Opens a stream to the current URL that the peer accepted.
  Status Connect();
  // Waits for the watcher (cancelling the stream if it has not ended within dial_timeout),
  // finishes the open stream; returns its status.
  Status CloseStream();
  // The watcher thread's body.
  void WatchStream(MessageStream* stream);
  Status SendSnapshot(const raft::Message& m);
  // Drops everything queued (plus `extra` messages already taken out), reports unreachable.
  void DropAll(size_t extra);
  // Waits `d` or until stopped / the URLs changed / (`until_message`) a message is queued.
  // False when stopped.
  bool Sleep(std::chrono::milliseconds d, bool until_message);
  void LogFailure(const Status& s);
  PeerUrl CurrentUrl() const;
  bool IsStopping() const;

  // A batch a Flush() could not write whole: its rest (`partial`, written with
  // CompleteWrite() on the same stream) or all of it, for the stream thread.
  struct Handoff {
    peerpb::MessageBatch batch;
    bool partial = false;
  };

  const TransportOptions* const options_;
  const PeerCredentials* const creds_;
  const TransportCallbacks* const callbacks_;
  const raft::MemberId peer_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // stream thread: work, stop, new URLs
  std::condition_variable snap_cv_;  // snapshot thread: a snapshot, stop
  bool stopping_ = false;                      // GUARDED_BY(mu_)
  std::vector<PeerUrl> urls_;                  // GUARDED_BY(mu_)
  size_t url_index_ = 0;                       // GUARDED_BY(mu_)
  uint64_t urls_generation_ = 0;               // GUARDED_BY(mu_)
  OutgoingQueue queue_;                        // GUARDED_BY(mu_)
  MessageStream* live_stream_ = nullptr;       // GUARDED_BY(mu_): cancelled by Stop()
  grpc::ClientContext* snap_ctx_ = nullptr;    // GUARDED_BY(mu_)
  std::optional<raft::Message> pending_snapshot_;  // GUARDED_BY(mu_)
  bool snapshot_busy_ = false;                     // GUARDED_BY(mu_)
  PeerStats stats_;                                // GUARDED_BY(mu_); `connected` unused
  // Set when a stream is accepted, cleared when it ends or is closed.
  std::optional<std::chrono::steady_clock::time_point> active_since_;  // GUARDED_BY(mu_)
  bool stream_ended_ = false;  // GUARDED_BY(mu_): the open call ended (the watcher saw it)
  // Flush() may write on it: the accepted stream, set from Connect() to CloseStream().
  MessageStream* writable_stream_ = nullptr;  // GUARDED_BY(mu_)
  // The stream thread waits for work with nothing in hand; while it does not, Flush() leaves
  // the writing to it.
  bool stream_thread_idle_ = false;  // GUARDED_BY(mu_)
  // A Flush() is writing on writable_stream_ (outside mu_); the stream thread waits for it.
  bool flush_writing_ = false;        // GUARDED_BY(mu_)
  std::optional<Handoff> handoff_;    // GUARDED_BY(mu_)

  // Used by the stream thread only (the watcher uses the stream through its own pointer).
  std::optional<OpenStream> stream_;
  std::string last_logged_failure_;  // a failure is logged once until the peer is reachable

  std::thread stream_thread_;
  std::thread snapshot_thread_;
};

}  // namespace grid::transport
