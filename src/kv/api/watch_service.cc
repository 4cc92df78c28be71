#include "kv/api/watch_service.h"

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>

#include "kv/watch/event_encoding.h"

namespace grid::kv::api {

namespace {

// etcd 3.4's texts.
constexpr char kErrStopped[] = "etcdserver: server stopped";
constexpr char kErrWatchCanceled[] = "etcdserver: watch canceled";

// A response without events as wire bytes.
grpc::ByteBuffer Serialized(const etcdserverpb::WatchResponse& r) {
  const std::string bytes = r.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

// One Watch stream. Lifetime: created by WatchService::Watch, deletes itself in OnDone.
// Locks: the hub stream's callback lock, then mu_, then the hub's lock. gRPC operations
// (StartRead/StartWrite/Finish) are issued without mu_ held, since gRPC may run a reaction
// inline. Finish is never issued while a write is outstanding, and nothing is issued after it.
class WatchStreamReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit WatchStreamReactor(WatchService* service) : service_(service) {}

  // REQUIRES: registered with the service.
  void Start() {
    stream_ = service_->hub_->NewStream([this] { Pump(); });
    reading_ = true;
    StartRead(&request_);
  }

  void FinishWith(grpc::Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      status_ = std::move(status);
      if (writing_) return;  // OnWriteDone finishes
    }
    Finish(status_);
  }

  void OnReadDone(bool ok) override {
    bool read_more = false;
    etcdserverpb::WatchRequest request;
    if (ok) {
      grpc::ProtoBufferReader reader(&request_);
      const bool parsed = request.ParseFromZeroCopyStream(&reader);
      request_.Clear();
      if (!parsed) {
        // What gRPC answers a typed method's undecodable request with (etcd's too).
        {
          std::lock_guard<std::mutex> lock(mu_);
          reading_ = false;
        }
        FinishWith(grpc::Status(grpc::StatusCode::INTERNAL, "grpc: error unmarshalling request"));
        return;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      // !ok: the client half-closed or went away. Like etcd, keep sending until the call ends.
      if (!ok) return;
      Handle(request);
      if (!finished_) {
        read_more = out_.size() < service_->options_.max_queued_responses;
        read_paused_ = !read_more;
        reading_ = read_more;
      }
    }
    if (read_more) StartRead(&request_);
    Pump();
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok && !finished_) {
        finished_ = true;
        status_ = grpc::Status(grpc::StatusCode::CANCELLED, kErrWatchCanceled);
      }
      finish = finished_;
    }
    if (finish) {
      Finish(status_);
      return;
    }
    Pump();
  }

  void OnCancel() override {
    FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, kErrWatchCanceled));
  }

  void OnDone() override {
    stream_->Close();  // no ready callback runs after this
    service_->Unregister(this);
    delete this;
  }

 private:
  // Writes the next response if none is being written.
  void Pump() {
    bool resume_read = false;
    // Released after the write is issued: dropping the last reference to 10,000 shared events
    // frees them, which takes milliseconds.
    std::optional<watch::WatchOutput> next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (writing_ || finished_) return;
      if (out_.empty()) {
        next = stream_->Next();
        if (next) Append(*next);
      }
      if (out_.empty()) return;
      current_ = std::move(out_.front());
      out_.pop_front();
      writing_ = true;
      if (read_paused_ && out_.size() < service_->options_.max_queued_responses) {
        read_paused_ = false;
        reading_ = true;
        resume_read = true;
      }
    }
    // Read first: once the write is issued, OnWriteDone may finish the call.
    if (resume_read) StartRead(&request_);
    StartWrite(&current_);
  }

  // REQUIRES: mu_ held.
  void Handle(const etcdserverpb::WatchRequest& request) {
    switch (request.request_union_case()) {
      case etcdserverpb::WatchRequest::kCreateRequest: {
        const etcdserverpb::WatchCreateRequest& c = request.create_request();
        watch::WatchSpec spec;
        spec.watch_id = c.watch_id();
        spec.key = c.key();
        spec.range_end = c.range_end();
        spec.start_revision = c.start_revision();
        spec.prev_kv = c.prev_kv();
        spec.fragment = c.fragment();
        spec.progress_notify = c.progress_notify();
        for (int f : c.filters()) {
          if (f == etcdserverpb::WatchCreateRequest::NOPUT) spec.no_put = true;
          if (f == etcdserverpb::WatchCreateRequest::NODELETE) spec.no_delete = true;
        }
        etcdserverpb::WatchResponse r;
        r.set_created(true);
        Result<watch::WatchCreated> created = stream_->Watch(spec);
        if (created.ok()) {
          Header(&r, created->revision);
          r.set_watch_id(created->watch_id);
        } else {
          Header(&r, stream_->Revision());
          r.set_watch_id(watch::kInvalidWatchId);
          r.set_canceled(true);
          r.set_cancel_reason(created.status().message());
        }
        out_.push_back(Serialized(r));
        break;
      }
      case etcdserverpb::WatchRequest::kCancelRequest: {
        // etcd 3.4 answers nothing for an unknown id.
        const int64_t id = request.cancel_request().watch_id();
        if (!stream_->Cancel(id)) break;
        etcdserverpb::WatchResponse r;
        Header(&r, stream_->Revision());
        r.set_watch_id(id);
        r.set_canceled(true);
        out_.push_back(Serialized(r));
        break;
      }
      case etcdserverpb::WatchRequest::kProgressRequest:
        stream_->RequestProgress();
        break;
      default:
        break;  // like etcd: ignore, keep the stream
    }
  }

  void Header(etcdserverpb::WatchResponse* r, int64_t revision) const {
    service_->identity_->FillHeader(r->mutable_header(), revision);
  }

  // Turns one hub output into responses (several when fragmenting). REQUIRES: mu_ held.
  void Append(const watch::WatchOutput& o) {
    etcdserverpb::WatchResponse r;
    Header(&r, o.revision);
    r.set_watch_id(o.watch_id);
    switch (o.kind) {
      case watch::WatchOutput::Kind::kEvents:
        break;
      case watch::WatchOutput::Kind::kCompacted:
        // etcd sets no cancel_reason here; clients map compact_revision to ErrCompacted.
        r.set_canceled(true);
        r.set_compact_revision(o.compact_revision);
        out_.push_back(Serialized(r));
        return;
      case watch::WatchOutput::Kind::kProgress:
      case watch::WatchOutput::Kind::kProgressAll:
        out_.push_back(Serialized(r));
        return;
    }
    const size_t max_bytes = service_->hub_->options().max_response_bytes;
    // Events go out written straight from the hub's shared events (see event_encoding.h).
    std::vector<uint32_t> sizes(o.events.size());
    size_t events_bytes = 0;
    for (size_t i = 0; i < o.events.size(); ++i) {
      sizes[i] = static_cast<uint32_t>(watch::EncodedEventBytes(*o.events[i], o.prev_kv));
      events_bytes += watch::EventFieldBytes(sizes[i]);
    }
    const std::span<const std::shared_ptr<const mvccpb::Event>> events(o.events);
    // etcd's sendFragments: only when asked, only if too big, only with more than one event;
    // each fragment is filled until it would reach max_bytes (but holds at least one event).
    if (!o.fragment || events.size() < 2 || r.ByteSizeLong() + events_bytes < max_bytes) {
      out_.push_back(EventsResponse(r, events, sizes, events_bytes, o.prev_kv));
      return;
    }
    r.set_fragment(true);
    const size_t base_bytes = r.ByteSizeLong();
    size_t i = 0;
    while (i < events.size()) {
      const size_t first = i;
      size_t bytes = base_bytes;
      while (i < events.size()) {
        const size_t add = watch::EventFieldBytes(sizes[i]);
        if (i > first && bytes + add >= max_bytes) break;
        bytes += add;
        ++i;
      }
      r.set_fragment(i < events.size());
      out_.push_back(EventsResponse(r, events.subspan(first, i - first),
                                    std::span<const uint32_t>(sizes).subspan(first, i - first),
                                    bytes - base_bytes, o.prev_kv));
    }
  }

  // `head` with `events` after it, in one buffer. `events_bytes`: their EventFieldBytes sum.
  static grpc::ByteBuffer EventsResponse(const etcdserverpb::WatchResponse& head,
                                         std::span<const std::shared_ptr<const mvccpb::Event>> events,
                                         std::span<const uint32_t> sizes, size_t events_bytes,
                                         bool prev_kv) {
    const std::string head_bytes = head.SerializeAsString();
    grpc::Slice slice(head_bytes.size() + events_bytes);
    watch::WriteEventsResponse(head_bytes, events, sizes, prev_kv,
                               const_cast<uint8_t*>(slice.begin()));
    return grpc::ByteBuffer(&slice, 1);
  }

  WatchService* const service_;
  std::shared_ptr<watch::WatchStream> stream_;
  grpc::ByteBuffer request_;  // owned by gRPC while reading_

  std::mutex mu_;
  bool reading_ = false;
  bool read_paused_ = false;  // stopped reading because out_ reached its bound
  bool writing_ = false;      // current_ is owned by gRPC
  bool finished_ = false;     // Finish issued or pending the current write
  grpc::Status status_;
  grpc::ByteBuffer current_;
  std::deque<grpc::ByteBuffer> out_;
};

WatchService::WatchService(watch::WatchHub* hub, const MemberIdentity* identity,
                           WatchServiceOptions options)
    : hub_(hub), identity_(identity), options_(options) {
  GRID_CHECK(hub_ != nullptr && identity_ != nullptr);
  GRID_CHECK(options_.max_queued_responses > 0);
}

WatchService::~WatchService() {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return streams_.empty(); });
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WatchService::Watch(grpc::CallbackServerContext* context) {
  auto* reactor = new WatchStreamReactor(this);
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.insert(reactor);
    stopped = stopped_;
  }
  reactor->Start();
  if (stopped) {
    reactor->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, kErrStopped));
  } else if (options_.is_learner && options_.is_learner()) {
    reactor->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                     "etcdserver: rpc not supported for learner"));
  }
  return reactor;
}

void WatchService::Stop() {
  // Holding mu_ keeps every reactor alive (OnDone unregisters under mu_, and gRPC never runs
  // OnDone inline from Finish for these reactors).
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  for (WatchStreamReactor* r : streams_) {
    r->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, kErrStopped));
  }
}

size_t WatchService::OpenStreamsForTest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

void WatchService::Unregister(WatchStreamReactor* reactor) {
  std::lock_guard<std::mutex> lock(mu_);
  streams_.erase(reactor);
  if (streams_.empty()) done_cv_.notify_all();
}

}  // namespace grid::kv::api
