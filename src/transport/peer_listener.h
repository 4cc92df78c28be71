// The plain-text peer port: owns the listening sockets of the http:// peer URLs and sorts each
// accepted connection by its first bytes (read with MSG_PEEK, so nothing is consumed):
//   - the HTTP/2 client preface: handed, as a connected fd, to the gRPC server (snapshots,
//     lease calls, cluster info, and the Stream call of peers that use it);
//   - kStreamMagic (stream_wire.h): a message stream, served on the connection's own thread:
//     the hello is checked (`admit`), answered kAccepted or kEnd, then every batch goes to
//     `deliver` in the order it was sent; a keepalive goes back every keepalive interval;
//   - anything else, or nothing within the handshake timeout: closed.
// https:// URLs are not served here: the gRPC server listens on them itself (TLS).
//
// Threads: one accept thread; one thread per accepted connection while it is sorted or
// serves a message stream (a handed-over connection's thread ends at once).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "grid/peer.pb.h"
#include "transport/metadata.h"
#include "transport/url.h"

namespace grid::transport {

struct PeerListenerOptions {
  // Connections being sorted or serving a message stream; beyond it a new one is closed at once.
  size_t max_connections = 256;
  // From accept to a complete hello (or to the start of the HTTP/2 preface); slower: closed.
  std::chrono::milliseconds handshake_timeout{10000};
  // A message stream's receiver writes a keepalive this often.
  std::chrono::milliseconds keepalive_interval{10000};
  // Largest batch frame accepted; a larger one ends the stream (ResourceExhausted).
  size_t max_frame_bytes = 17u << 20;
};

struct PeerListenerHandlers {
  // Takes an HTTP/2 connection (its first bytes still unread); owns it from then on.
  std::function<void(int fd)> adopt_http2;
  // OK accepts a message stream; otherwise the refusal sent back.
  std::function<Status(const CallHeader& hello)> admit;
  // One batch of the stream from `from`; a non-OK Status is sent back and ends the stream.
  std::function<Status(raft::MemberId from, const peerpb::MessageBatch& batch)> deliver;
};

class PeerListener {
 public:
  // Binds every URL (none may be https). Unavailable "cannot listen on <url>: <why>".
  static Result<std::unique_ptr<PeerListener>> Bind(const std::vector<PeerUrl>& urls,
                                                    PeerListenerOptions options);
  ~PeerListener();  // Stop()
  PeerListener(const PeerListener&) = delete;
  PeerListener& operator=(const PeerListener&) = delete;

  // The port bound for each URL given to Bind, in order.
  const std::vector<int>& ports() const { return ports_; }

  // Starts accepting. REQUIRES: once; the handlers stay valid until Stop() returned.
  Status Start(PeerListenerHandlers handlers);
  // Closes the listeners, ends every message stream, joins the threads. Connections handed
  // over are left to their owner. Idempotent.
  void Stop();

  // Connections being sorted or serving a message stream (tests).
  size_t connections() const;

 private:
  struct Connection {
    int fd;  // -1 once closed or handed over
    bool done = false;
    std::thread thread;
  };

  PeerListener(std::vector<int> listen_fds, std::vector<int> ports, PeerListenerOptions options);
  void RunAccept();
  void Serve(Connection* c);
  // Reads the stream's batches until it ends; returns why it ended (sent back when not OK).
  Status ServeStream(int fd, raft::MemberId from);
  void ReapDone();  // joins finished connection threads; REQUIRES: mu_ not held

  const PeerListenerOptions options_;
  std::vector<int> listen_fds_;
  const std::vector<int> ports_;
  PeerListenerHandlers handlers_;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the accept thread
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::list<Connection> connections_;  // GUARDED_BY(mu_)
  bool stopping_ = false;              // GUARDED_BY(mu_)
  bool started_ = false;
};

}  // namespace grid::transport
