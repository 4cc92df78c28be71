#include "transport/peer_sender.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include "common/grpc_status.h"
#include "transport/codec.h"
#include "transport/metadata.h"
#include "transport/snapshot_file.h"

namespace grid::transport {

PeerSender::PeerSender(const TransportOptions* options, const PeerCredentials* creds,
                       const TransportCallbacks* callbacks, raft::MemberId peer,
                       std::vector<PeerUrl> urls)
    : options_(options),
      creds_(creds),
      callbacks_(callbacks),
      peer_(peer),
      urls_(std::move(urls)),
      queue_(options->max_queued_msgs_per_peer, options->max_queued_bytes_per_peer) {
  GRID_CHECK(!urls_.empty()) << "peer without URLs";
  stream_thread_ = std::thread([this] { RunStream(); });
  snapshot_thread_ = std::thread([this] { RunSnapshots(); });
}

PeerSender::~PeerSender() { Stop(); }

bool PeerSender::Enqueue(raft::Message m) {
  std::lock_guard l(mu_);
  if (stopping_) return false;
  if (!queue_.Push(std::move(m))) {
    ++stats_.dropped_msgs;
    return false;
  }
  return true;
}

void PeerSender::Flush() {
  MessageStream* stream;
  std::vector<raft::Message> msgs;
  {
    std::lock_guard l(mu_);
    if (stopping_ || queue_.empty()) return;
    if (writable_stream_ == nullptr || stream_ended_ || !stream_thread_idle_ || flush_writing_ ||
        handoff_.has_value()) {
      cv_.notify_all();
      return;
    }
    stream = writable_stream_;
    msgs = queue_.PopBatch(options_->max_batch_bytes);
    flush_writing_ = true;
  }
  peerpb::MessageBatch batch;
  batch.mutable_messages()->Reserve(static_cast<int>(msgs.size()));
  for (const raft::Message& m : msgs) EncodeMessage(m, batch.add_messages());
  const MessageStream::TryWriteResult written = stream->TryWrite(batch);
  std::lock_guard l(mu_);
  flush_writing_ = false;
  if (written == MessageStream::TryWriteResult::kWritten) {
    stats_.sent_msgs += static_cast<uint64_t>(batch.messages_size());
    ++stats_.batches_written_by_flush;
  } else {
    ++stats_.batches_handed_off;
    handoff_ = Handoff{std::move(batch), written == MessageStream::TryWriteResult::kPartial};
  }
  // Wake the stream thread only when it has something to do, not for every batch written.
  if (stopping_ || stream_ended_ || handoff_.has_value() || !queue_.empty()) cv_.notify_all();
}

bool PeerSender::EnqueueSnapshot(raft::Message m) {
  std::lock_guard l(mu_);
  if (stopping_ || pending_snapshot_.has_value() || snapshot_busy_) return false;
  pending_snapshot_ = std::move(m);
  snap_cv_.notify_all();
  return true;
}

void PeerSender::UpdateUrls(std::vector<PeerUrl> urls) {
  GRID_CHECK(!urls.empty()) << "peer without URLs";
  std::lock_guard l(mu_);
  urls_ = std::move(urls);
  url_index_ = 0;
  ++urls_generation_;
  if (live_stream_ != nullptr) live_stream_->Cancel();
  cv_.notify_all();
}

void PeerSender::Stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
    queue_.Clear();
    pending_snapshot_.reset();
    if (live_stream_ != nullptr) live_stream_->Cancel();
    if (snap_ctx_ != nullptr) snap_ctx_->TryCancel();
    cv_.notify_all();
    snap_cv_.notify_all();
  }
  if (stream_thread_.joinable()) stream_thread_.join();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
}

PeerStats PeerSender::stats() const {
  std::lock_guard l(mu_);
  PeerStats s = stats_;
  s.connected = active_since_.has_value();
  s.queued_msgs = queue_.size();
  s.queued_bytes = queue_.bytes();
  return s;
}

std::optional<std::chrono::steady_clock::time_point> PeerSender::active_since() const {
  std::lock_guard l(mu_);
  return active_since_;
}

bool PeerSender::IsStopping() const {
  std::lock_guard l(mu_);
  return stopping_;
}

PeerUrl PeerSender::CurrentUrl() const {
  std::lock_guard l(mu_);
  return urls_[url_index_ % urls_.size()];
}

Status PeerSender::Connect() {
  PeerUrl url = CurrentUrl();
  OpenStream s;
  s.stream = NewMessageStream(url, CallHeader{options_->cluster_id, options_->member_id, peer_},
                              options_, creds_);
  {
    std::lock_guard l(mu_);
    if (stopping_) return Unavailable("transport stopping");
    live_stream_ = s.stream.get();
  }
  Status opened = s.stream->Open();
  if (!opened.ok()) {
    std::lock_guard l(mu_);
    live_stream_ = nullptr;
    if (opened.code() == Code::kUnavailable) ++url_index_;  // try the peer's next URL next time
    return opened;
  }
  {
    std::lock_guard l(mu_);
    stream_ended_ = false;
    active_since_ = std::chrono::steady_clock::now();
    writable_stream_ = s.stream.get();
  }
  stream_ = std::move(s);
  stream_->watcher = std::thread([this, stream = stream_->stream.get()] { WatchStream(stream); });
  return Status::Ok();
}

void PeerSender::WatchStream(MessageStream* stream) {
  pthread_setname_np(pthread_self(), "grid-peer-watch");
  stream->WaitForEnd();
  std::lock_guard l(mu_);
  stream_ended_ = true;
  active_since_.reset();
  cv_.notify_all();
}

Status PeerSender::CloseStream() {
  if (!stream_) return Status::Ok();
  {
    // The stream thread is busy here, so no Flush() is writing and none starts.
    std::lock_guard l(mu_);
    writable_stream_ = nullptr;
  }
  {
    // Callers come here once the stream is over (the watcher saw it end, a write failed) or
    // cancelled, so the watcher returns; the bound only guards against a stream that never
    // reports its end.
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, options_->dial_timeout, [&] { return stream_ended_; })) {
      stream_->stream->Cancel();
    }
  }
  stream_->watcher.join();
  Status st = stream_->stream->Finish();
  {
    std::lock_guard l(mu_);
    live_stream_ = nullptr;
    active_since_.reset();
  }
  stream_.reset();
  return st;
}

void PeerSender::DropAll(size_t extra) {
  size_t dropped;
  {
    std::lock_guard l(mu_);
    dropped = queue_.Clear() + extra;
    stats_.dropped_msgs += dropped;
  }
  if (dropped > 0 && callbacks_->on_unreachable) callbacks_->on_unreachable(peer_);
}

bool PeerSender::Sleep(std::chrono::milliseconds d, bool until_message) {
  std::unique_lock l(mu_);
  uint64_t gen = urls_generation_;
  cv_.wait_for(l, d, [&] {
    return stopping_ || urls_generation_ != gen || (until_message && !queue_.empty());
  });
  return !stopping_;
}

void PeerSender::LogFailure(const Status& s) {
  std::string text = s.ToString();
  if (text == last_logged_failure_) return;
  last_logged_failure_ = text;
  spdlog::warn("peer {}: {} (dropping its messages and retrying with back-off)", IdHex(peer_),
               text);
}

void PeerSender::RunStream() {
  pthread_setname_np(pthread_self(), "grid-peer-send");
  Backoff backoff(options_->initial_backoff, options_->max_backoff);
  std::optional<peerpb::MessageBatch> retry;  // written to a stream that turned out broken
  for (;;) {
    bool ended;
    std::optional<Handoff> handed;
    {
      // Without a stream there is always work: keeping one open is what makes the peer active.
      // A Flush() writing on the stream finishes first.
      std::unique_lock l(mu_);
      stream_thread_idle_ = true;
      cv_.wait(l, [&] {
        return stopping_ ||
               (!flush_writing_ && (!queue_.empty() || handoff_.has_value() || retry.has_value() ||
                                    !stream_ || stream_ended_));
      });
      stream_thread_idle_ = false;
      if (stopping_) break;
      handed = std::move(handoff_);
      handoff_.reset();
      ended = stream_ && stream_ended_;
    }
    if (handed && (ended || handed->partial)) {
      if (!ended && stream_->stream->CompleteWrite()) {
        std::lock_guard l(mu_);
        stats_.sent_msgs += static_cast<uint64_t>(handed->batch.messages_size());
        continue;
      }
      // Not delivered whole on this stream: once more on a new one, as a failed Write.
      retry = std::move(handed->batch);
      handed.reset();
      if (!ended) {
        (void)CloseStream();
        if (IsStopping()) break;
        continue;
      }
    }
    if (ended) {
      // The peer ended the call (it stopped or refused us) or the connection broke. Nothing
      // queued is lost; the next stream opens after a back-off that a message cuts short.
      Status s = CloseStream();
      if (IsStopping()) break;
      spdlog::debug("peer {}: stream ended: {}", IdHex(peer_), s.ToString());
      if (!Sleep(backoff.Next(), /*until_message=*/true)) break;
      continue;
    }
    if (!stream_) {
      Status s = Connect();
      if (!s.ok()) {
        if (IsStopping()) break;
        LogFailure(s);
        if (s.code() == Code::kFailedPrecondition && callbacks_->on_removed &&
            s.message().find(" was removed from the cluster") != std::string::npos) {
          callbacks_->on_removed();
        }
        // A refusal (cluster mismatch, wrong member, removed) will not heal soon.
        auto delay = s.code() == Code::kFailedPrecondition ? backoff.Max() : backoff.Next();
        bool messages_waited;
        {
          std::lock_guard l(mu_);
          messages_waited = !queue_.empty() || retry.has_value();
          if (messages_waited) ++stats_.connect_failures;
        }
        if (!messages_waited) {
          // An idle attempt: the first message tries again at once.
          if (!Sleep(delay, /*until_message=*/true)) break;
          continue;
        }
        DropAll(retry ? static_cast<size_t>(retry->messages_size()) : 0);
        retry.reset();
        if (!Sleep(delay, /*until_message=*/false)) break;
        continue;
      }
      backoff.Reset();
      if (!last_logged_failure_.empty()) {
        spdlog::info("peer {}: stream open again", IdHex(peer_));
        last_logged_failure_.clear();
      }
    }

    peerpb::MessageBatch batch;
    bool is_retry = retry.has_value();
    if (is_retry) {
      batch = std::move(*retry);
      retry.reset();
    } else if (handed) {
      batch = std::move(handed->batch);
    } else {
      std::vector<raft::Message> msgs;
      {
        std::lock_guard l(mu_);
        msgs = queue_.PopBatch(options_->max_batch_bytes);
      }
      batch.mutable_messages()->Reserve(static_cast<int>(msgs.size()));
      for (const raft::Message& m : msgs) EncodeMessage(m, batch.add_messages());
    }
    if (batch.messages_size() == 0) continue;
    if (stream_->stream->Write(batch)) {
      std::lock_guard l(mu_);
      stats_.sent_msgs += static_cast<uint64_t>(batch.messages_size());
      continue;
    }
    // The call ended before this write: nothing of `batch` reached the peer.
    Status s = CloseStream();
    if (IsStopping()) break;
    if (!is_retry) {
      retry = std::move(batch);  // once more, on a new stream
      continue;
    }
    LogFailure(s.ok() ? Unavailable("stream closed by the peer") : s);
    DropAll(static_cast<size_t>(batch.messages_size()));
    if (!Sleep(backoff.Next(), /*until_message=*/false)) break;
  }
  {
    // Stop() came while a Flush() was writing: it returns soon (it does not block).
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !flush_writing_; });
    writable_stream_ = nullptr;
    handoff_.reset();
  }
  if (stream_) {
    stream_->stream->Cancel();
    (void)CloseStream();
  }
}

void PeerSender::RunSnapshots() {
  pthread_setname_np(pthread_self(), "grid-peer-snap");
  for (;;) {
    raft::Message m;
    {
      std::unique_lock l(mu_);
      snap_cv_.wait(l, [&] { return stopping_ || pending_snapshot_.has_value(); });
      if (stopping_) return;
      m = std::move(*pending_snapshot_);
      pending_snapshot_.reset();
      snapshot_busy_ = true;
    }
    Status s = SendSnapshot(m);
    {
      std::lock_guard l(mu_);
      snapshot_busy_ = false;
    }
    uint64_t index = m.snapshot ? m.snapshot->meta.index.value() : 0;
    if (s.ok()) {
      spdlog::info("peer {}: sent snapshot at index {}", IdHex(peer_), index);
    } else {
      spdlog::warn("peer {}: sending snapshot at index {} failed: {}", IdHex(peer_), index,
                   s.ToString());
    }
    if (callbacks_->on_snapshot_status) callbacks_->on_snapshot_status(peer_, s.ok());
  }
}

Status PeerSender::SendSnapshot(const raft::Message& m) {
  if (!callbacks_->snapshot_source) return FailedPrecondition("no snapshot source configured");
  GRID_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotReader> reader, callbacks_->snapshot_source(m));
  const uint64_t size = reader->size_bytes();
  if (size > options_->max_snapshot_bytes) {
    return ResourceExhausted("snapshot of " + std::to_string(size) + " bytes exceeds the limit");
  }
  PeerUrl url = CurrentUrl();
  GRID_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                        DialPeerChannel(url, *options_, *creds_, [this] { return IsStopping(); }));
  auto stub = peerpb::Peer::NewStub(channel);
  grpc::ClientContext ctx;
  AddCallHeader(CallHeader{options_->cluster_id, options_->member_id, peer_}, &ctx);
  {
    std::lock_guard l(mu_);
    if (stopping_) return Unavailable("transport stopping");
    snap_ctx_ = &ctx;
  }
  struct ClearCtx {
    PeerSender* self;
    ~ClearCtx() {
      std::lock_guard l(self->mu_);
      self->snap_ctx_ = nullptr;
    }
  } clear_ctx{this};

  peerpb::SnapshotReceived received;
  auto writer = stub->SendSnapshot(&ctx, &received);
  peerpb::SnapshotChunk chunk;
  EncodeMessage(m, chunk.mutable_header()->mutable_message());
  chunk.mutable_header()->set_size_bytes(size);
  bool call_alive = writer->Write(chunk);
  Status local;
  Sha256 sha;
  uint64_t sent = 0;
  std::string buf(options_->snapshot_chunk_bytes, '\0');
  while (call_alive) {
    Result<size_t> n = reader->Read(buf.data(), buf.size());
    if (!n.ok()) {
      local = n.status().WithContext("read snapshot");
      break;
    }
    if (*n == 0) break;
    sent += *n;
    if (sent > size) break;
    sha.Update(buf.data(), *n);
    chunk.Clear();
    chunk.set_data(buf.data(), *n);
    call_alive = writer->Write(chunk);
  }
  if (local.ok() && call_alive && sent != size) {
    local = Internal("snapshot source returned " + std::string(sent > size ? "more" : "fewer") +
                     " than the announced " + std::to_string(size) + " bytes");
  }
  if (!local.ok()) {
    ctx.TryCancel();
    (void)writer->Finish();
    return local;
  }
  if (call_alive) {
    chunk.Clear();
    chunk.mutable_trailer()->set_sha256(sha.Finish());
    if (writer->Write(chunk)) writer->WritesDone();
  }
  return FromGrpc(writer->Finish());
}

}  // namespace grid::transport
