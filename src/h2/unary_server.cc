#include "h2/unary_server.h"

#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>

#include "common/check.h"
#include "h2/relay.h"
#include "router/net/event_loop.h"
#include "router/net/io_buffer.h"
#include "router/net/stream.h"

namespace grid::h2 {

using router::net::EventLoop;
using router::net::IoBuffer;
using router::net::Stream;

namespace {

// Request headers (names and values) one call may carry; gRPC's own default hard limit.
constexpr size_t kMaxMetadataBytes = 16 * 1024;
// HTTP/2 flow-control windows this server advertises, for a stream and for a whole
// connection. A call's received bytes are given back at once (as gRPC servers do): what a
// connection buffers is bounded by max_concurrent_streams × max_request_bytes, not by the
// windows. A relayed call's bytes are given back when the fallback took them.
constexpr uint32_t kStreamWindowBytes = 1024 * 1024;
constexpr int32_t kConnectionWindowBytes = 16 * 1024 * 1024;

thread_local Loop* current_loop = nullptr;

nghttp2_nv Header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

// One HTTP/2 stream: the call as it arrives, then its answer as it leaves.
struct CallState {
  UnaryCall call;
  size_t metadata_bytes = 0;
  bool body_refused = false;     // over max_request_bytes: the rest is discarded
  bool metadata_refused = false;  // over kMaxMetadataBytes
  bool answered = false;
  std::string answer;  // framed response message (OK answers)
  size_t answer_sent = 0;
  // Pseudo-headers other than :path (kept for a relayed call).
  std::string verb, scheme, authority;
  // A call for the fallback (relay.h): its headers go there as they came, its body as it
  // comes; the answer comes back into `answer` (from answer_sent on) and `trailers`.
  bool relayed = false;
  bool relay_started = false;
  HeaderList headers;  // non-pseudo request headers, in order
  bool answer_ended = false;
  HeaderList trailers;
};

}  // namespace

class Connection;

// One thread's event loop, its listeners and its connections.
class Loop final {
 public:
  Loop(const ServerOptions& options, std::shared_ptr<const MethodTable> methods)
      : options_(options), methods_(std::move(methods)) {}
  ~Loop();

  const Status& init_status() const { return events_.init_status(); }
  void Run() {
    current_loop = this;
    events_.Run();
    CloseAll();
    current_loop = nullptr;
  }
  void Stop() { events_.Stop(); }
  void Post(std::function<void()> task) { events_.Post(std::move(task)); }
  bool OnLoopThread() const { return current_loop == this; }
  EventLoop* events() { return &events_; }
  const ServerOptions& options() const { return options_; }
  const MethodTable& methods() const { return *methods_; }

  // Loop thread.
  void AddListener(int fd);
  void Adopt(int fd);
  Connection* Find(uint64_t id) {
    auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second.get();
  }
  void Forget(uint64_t id);
  size_t StreamsHeld() const;
  // Writes `conn`'s output at the end of this iteration's posted work (with other answers).
  void QueueFlush(Connection* conn);
  // The answer to (connection, stream); writes it out with the iteration's other answers.
  void Deliver(uint64_t connection_id, int32_t stream_id, GrpcCode code, std::string payload);

 private:
  class Listener final : public router::net::IoHandler {
   public:
    Listener(Loop* loop, int fd) : loop_(loop), fd_(fd) {}
    ~Listener() override { close(fd_); }
    int fd() const { return fd_; }
    void OnIoEvent(uint32_t) override {
      for (;;) {
        const int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN, or an error the next connection may not have
        loop_->Adopt(fd);
      }
    }

   private:
    Loop* loop_;
    int fd_;
  };

  void FlushDirty();
  void CloseAll();

  const ServerOptions options_;
  std::shared_ptr<const MethodTable> methods_;
  EventLoop events_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  // Ids, not pointers, travel through other threads: an answer may come back after its
  // connection closed.
  uint64_t next_connection_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<uint64_t> dirty_;  // connections with answers not yet written
};

// One client connection: bytes in → nghttp2 → calls → answers → bytes out, on one loop.
class Connection final : public router::net::StreamOwner,
                         public router::net::Deferred,
                         public RelaySink {
 public:
  Connection(Loop* loop, uint64_t id, int fd)
      : loop_(loop), id_(id), stream_(loop->events(), fd, this, /*connecting=*/false) {}
  uint64_t id() const { return id_; }
  ~Connection() override {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  bool Start();
  // Streams nghttp2 keeps a record of (open or closed), below the priority tree's root.
  size_t StreamsHeld() const;
  void Answer(int32_t stream_id, GrpcCode code, std::string payload);
  // True while its input is being handled: whatever is answered meanwhile is written when
  // that ends, without a flush of its own.
  bool reading() const { return reading_; }
  // Set while the connection waits in the loop's list of connections to flush.
  bool flush_queued = false;
  // Everything nghttp2 has to send goes out in one write.
  void SendOutput();
  void Close();

  void OnStreamReadable(Stream*) override;
  void OnStreamDrained(Stream*) override { SendOutput(); }
  void OnStreamConnected(Stream*, int) override {}

  void RelayHeaders(int32_t stream_id, HeaderList headers, bool trailers,
                    bool end_stream) override;
  void RelayData(int32_t stream_id, std::string_view data) override;
  void RelayEnd(int32_t stream_id) override;
  void RelayReset(int32_t stream_id, uint32_t error_code) override;
  void RelayConsumed(int32_t stream_id, size_t bytes) override;
  void RelayFlush() override { SendOutput(); }
  void RelayClosed() override;

 private:
  static int OnBeginHeaders(nghttp2_session* s, const nghttp2_frame* f, void* self);
  static int OnHeader(nghttp2_session* s, const nghttp2_frame* f, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* self);
  static int OnDataChunk(nghttp2_session* s, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* self);
  static int OnFrameRecv(nghttp2_session* s, const nghttp2_frame* f, void* self);
  static int OnStreamClose(nghttp2_session* s, int32_t stream_id, uint32_t, void* self);
  static ssize_t ReadAnswer(nghttp2_session* s, int32_t stream_id, uint8_t* buf, size_t length,
                            uint32_t* flags, nghttp2_data_source* source, void*);
  static ssize_t ReadRelayed(nghttp2_session* s, int32_t stream_id, uint8_t* buf,
                             size_t length, uint32_t* flags, nghttp2_data_source* source,
                             void* self);

  CallState* StateOf(int32_t stream_id) {
    return static_cast<CallState*>(nghttp2_session_get_stream_user_data(session_, stream_id));
  }
  // Sends the relayed call's headers to the fallback (dialing it first if need be).
  void StartRelay(int32_t stream_id, CallState* state, bool end_stream);

  // The request on `stream_id` is complete: refuses it or hands it to its handler.
  void Dispatch(int32_t stream_id, CallState* state);

  Loop* loop_;
  const uint64_t id_;
  Stream stream_;
  IoBuffer input_;
  std::string output_;
  nghttp2_session* session_ = nullptr;
  // Every open stream's state (nghttp2 holds raw pointers as stream user data and does not
  // report the streams it frees with the session).
  std::unordered_map<int32_t, std::unique_ptr<CallState>> calls_;
  std::unique_ptr<Relay> relay_;  // to the fallback, from the first relayed call on
  bool reading_ = false;
  bool closed_ = false;
};

// --- Responder ---------------------------------------------------------------------------

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (loop_ != nullptr) Send(GrpcCode::kInternal, "call dropped by the server");
    loop_ = std::exchange(other.loop_, nullptr);
    connection_id_ = other.connection_id_;
    stream_id_ = other.stream_id_;
  }
  return *this;
}

Responder::~Responder() {
  if (loop_ != nullptr) Send(GrpcCode::kInternal, "call dropped by the server");
}

void Responder::Finish(std::string framed_message) {
  GRID_CHECK(loop_ != nullptr) << "Responder answered twice";
  Send(GrpcCode::kOk, std::move(framed_message));
}

void Responder::Fail(GrpcCode code, std::string_view message) {
  GRID_CHECK(loop_ != nullptr) << "Responder answered twice";
  GRID_CHECK(code != GrpcCode::kOk) << "Fail needs an error code";
  Send(code, PercentEncode(message));
}

void Responder::RunOnLoop(std::function<void()> task) const {
  GRID_CHECK(loop_ != nullptr) << "RunOnLoop on an answered call";
  loop_->Post(std::move(task));
}

void Responder::Send(GrpcCode code, std::string payload) {
  Loop* loop = std::exchange(loop_, nullptr);
  if (loop->OnLoopThread()) {
    loop->Deliver(connection_id_, stream_id_, code, std::move(payload));
    return;
  }
  loop->Post([loop, id = connection_id_, stream = stream_id_, code,
              payload = std::move(payload)]() mutable {
    loop->Deliver(id, stream, code, std::move(payload));
  });
}

// --- Loop --------------------------------------------------------------------------------

Loop::~Loop() { CloseAll(); }

void Loop::AddListener(int fd) {
  auto listener = std::make_unique<Listener>(this, fd);
  if (!events_.AddReadOnly(fd, listener.get()).ok()) return;  // listener closes fd
  listeners_.push_back(std::move(listener));
  listeners_.back()->OnIoEvent(0);  // connections that arrived before registration
}

void Loop::Adopt(int fd) {
  router::net::SetNoDelay(fd);
  const uint64_t id = next_connection_id_++;
  auto conn = std::make_unique<Connection>(this, id, fd);
  Connection* raw = conn.get();
  connections_.emplace(id, std::move(conn));
  if (!raw->Start()) raw->Close();
}

void Loop::Forget(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  events_.DeleteLater(std::move(it->second));
  connections_.erase(it);
}

void Loop::Deliver(uint64_t connection_id, int32_t stream_id, GrpcCode code,
                   std::string payload) {
  Connection* conn = Find(connection_id);
  if (conn == nullptr) return;  // the client went away
  conn->Answer(stream_id, code, std::move(payload));
  QueueFlush(conn);
}

void Loop::QueueFlush(Connection* conn) {
  if (conn->reading() || conn->flush_queued) return;
  if (dirty_.empty()) Post([this] { FlushDirty(); });
  conn->flush_queued = true;
  dirty_.push_back(conn->id());
}

void Loop::FlushDirty() {
  std::vector<uint64_t> ids;
  ids.swap(dirty_);
  for (uint64_t id : ids) {
    if (Connection* conn = Find(id)) {
      conn->flush_queued = false;
      conn->SendOutput();
    }
  }
}

void Loop::CloseAll() {
  for (auto& listener : listeners_) events_.Remove(listener->fd());
  listeners_.clear();
  std::vector<uint64_t> ids;
  for (const auto& [id, conn] : connections_) ids.push_back(id);
  for (uint64_t id : ids) {
    if (Connection* conn = Find(id)) conn->Close();
  }
  connections_.clear();
}

size_t Loop::StreamsHeld() const {
  size_t held = 0;
  for (const auto& [id, conn] : connections_) held += conn->StreamsHeld();
  return held;
}

// --- Connection --------------------------------------------------------------------------

size_t Connection::StreamsHeld() const {
  std::vector<nghttp2_stream*> pending{nghttp2_session_get_root_stream(session_)};
  size_t held = 0;
  while (!pending.empty()) {
    nghttp2_stream* stream = pending.back();
    pending.pop_back();
    for (nghttp2_stream* child = nghttp2_stream_get_first_child(stream); child != nullptr;
         child = nghttp2_stream_get_next_sibling(child)) {
      ++held;
      pending.push_back(child);
    }
  }
  return held;
}

bool Connection::Start() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Connection::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Connection::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Connection::OnDataChunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Connection::OnFrameRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Connection::OnStreamClose);
  nghttp2_option* option = nullptr;
  if (nghttp2_option_new(&option) != 0) {
    nghttp2_session_callbacks_del(cb);
    return false;
  }
  // Received bytes are given back explicitly (nghttp2_session_consume): at once for a call
  // served here, once the fallback took them for a relayed one.
  nghttp2_option_set_no_auto_window_update(option, 1);
  // gRPC's framing is checked here, not HTTP's: nghttp2 would reset a stream whose :authority
  // is not a bare host (etcd's Go client sends "http://host:port" when it dials one member).
  nghttp2_option_set_no_http_messaging(option, 1);
  // A closed stream is freed at once. nghttp2 would otherwise keep up to
  // max_concurrent_streams closed ones per connection for the priority tree (about 220 bytes
  // each, 4096 by default), which no gRPC client uses.
  nghttp2_option_set_no_closed_streams(option, 1);
  const int rv = nghttp2_session_server_new2(&session_, cb, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, loop_->options().max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindowBytes}};
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2) != 0) return false;
  if (nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                            kConnectionWindowBytes) != 0) {
    return false;
  }
  if (!stream_.Register().ok()) return false;
  SendOutput();
  return !closed_;
}

void Connection::OnStreamReadable(Stream*) {
  const size_t chunk = loop_->options().read_chunk_bytes;
  reading_ = true;
  while (!closed_ && stream_.readable()) {
    const Stream::ReadResult r = stream_.ReadInto(&input_, chunk);
    if (r.status == Stream::ReadStatus::kWouldBlock) break;
    if (r.status != Stream::ReadStatus::kData) {
      reading_ = false;
      Close();  // EOF or an error
      return;
    }
    const std::string_view in = input_.readable();
    const ssize_t used = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const uint8_t*>(in.data()), in.size());
    if (used < 0) {  // a protocol error nghttp2 could not answer with GOAWAY
      reading_ = false;
      Close();
      return;
    }
    input_.Consume(static_cast<size_t>(used));
  }
  reading_ = false;
  if (input_.empty()) input_.Release();
  SendOutput();
}

void Connection::SendOutput() {
  if (closed_) return;
  // Window updates for the fallback (answer bytes the client took) leave with this batch.
  if (relay_ != nullptr) relay_->Flush();
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      Close();
      return;
    }
    if (n == 0) break;
    output_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (relay_ != nullptr) relay_->Flush();
  if (!output_.empty()) {
    if (!stream_.Write(output_)) {
      Close();
      return;
    }
    output_.clear();
  }
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
      stream_.pending_write_bytes() == 0) {
    Close();  // GOAWAY sent and every stream done
  }
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  stream_.Close();
  if (relay_ != nullptr) relay_->Close();  // the fallback cancels what it still serves
  loop_->Forget(id_);
}

int Connection::OnBeginHeaders(nghttp2_session* s, const nghttp2_frame* f, void* self) {
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto state = std::make_unique<CallState>();
  nghttp2_session_set_stream_user_data(s, f->hd.stream_id, state.get());
  static_cast<Connection*>(self)->calls_[f->hd.stream_id] = std::move(state);
  return 0;
}

int Connection::OnHeader(nghttp2_session* s, const nghttp2_frame* f, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void* self) {
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto* state = static_cast<CallState*>(nghttp2_session_get_stream_user_data(s, f->hd.stream_id));
  if (state == nullptr) return 0;
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (!n.empty() && n[0] == ':') {
    if (n == ":path") {
      state->call.method.assign(v);
      auto* conn = static_cast<Connection*>(self);
      state->relayed = conn->loop_->options().dial_fallback &&
                       conn->loop_->methods().count(state->call.method) == 0;
    } else if (n == ":method") {
      state->verb.assign(v);
    } else if (n == ":scheme") {
      state->scheme.assign(v);
    } else if (n == ":authority") {
      state->authority.assign(v);
    }
    return 0;
  }
  if (state->relayed) {
    state->metadata_bytes += namelen + valuelen;
    if (state->metadata_bytes > kMaxMetadataBytes) {
      state->metadata_refused = true;
      state->headers.clear();
    }
    if (!state->metadata_refused) state->headers.emplace_back(n, v);
    return 0;
  }
  if (n == "content-type" || n == "te") return 0;
  if (n == "grpc-timeout") {
    state->call.timeout = ParseTimeout(v);
    return 0;
  }
  state->metadata_bytes += namelen + valuelen;
  if (state->metadata_bytes > kMaxMetadataBytes) {
    state->metadata_refused = true;
    state->call.metadata.clear();
    return 0;
  }
  if (!state->metadata_refused) state->call.metadata.emplace_back(n, v);
  return 0;
}

int Connection::OnDataChunk(nghttp2_session* s, uint8_t, int32_t stream_id, const uint8_t* data,
                            size_t len, void* self) {
  auto* conn = static_cast<Connection*>(self);
  auto* state = static_cast<CallState*>(nghttp2_session_get_stream_user_data(s, stream_id));
  const std::string_view chunk(reinterpret_cast<const char*>(data), len);
  if (state != nullptr && state->relay_started && conn->relay_ != nullptr) {
    conn->relay_->SendData(stream_id, chunk, /*end_stream=*/false);  // gives the bytes back
    return 0;
  }
  (void)nghttp2_session_consume(s, stream_id, len);
  // Discarded: already answered (an unknown method), or over the limit.
  if (state == nullptr || state->answered || state->body_refused) return 0;
  if (state->call.body.size() + len > conn->loop_->options().max_request_bytes) {
    state->body_refused = true;
    state->call.body.clear();
    state->call.body.shrink_to_fit();
    return 0;
  }
  state->call.body.append(chunk);
  return 0;
}

int Connection::OnFrameRecv(nghttp2_session* s, const nghttp2_frame* f, void* self) {
  if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
  auto* state = static_cast<CallState*>(nghttp2_session_get_stream_user_data(s, f->hd.stream_id));
  if (state == nullptr) return 0;
  auto* conn = static_cast<Connection*>(self);
  const bool end_stream = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (state->relay_started) {
    // The client's half-close (by DATA, or by trailers, which gRPC clients do not send).
    if (end_stream && conn->relay_ != nullptr) {
      conn->relay_->SendData(f->hd.stream_id, {}, /*end_stream=*/true);
    }
    return 0;
  }
  if (state->answered) return 0;
  if (state->relayed && !state->metadata_refused) {
    if (f->hd.type == NGHTTP2_HEADERS) conn->StartRelay(f->hd.stream_id, state, end_stream);
    return 0;
  }
  if (end_stream) {
    conn->Dispatch(f->hd.stream_id, state);
  } else if (f->hd.type == NGHTTP2_HEADERS &&
             conn->loop_->methods().count(state->call.method) == 0) {
    // An unknown method (a streaming one, say) is answered at its headers, as gRPC servers
    // do: a client that keeps its side open would wait for its own half-close otherwise.
    conn->Dispatch(f->hd.stream_id, state);
  }
  return 0;
}

int Connection::OnStreamClose(nghttp2_session* s, int32_t stream_id, uint32_t, void* self) {
  auto* conn = static_cast<Connection*>(self);
  auto* state = static_cast<CallState*>(nghttp2_session_get_stream_user_data(s, stream_id));
  if (state != nullptr && state->relay_started && conn->relay_ != nullptr) {
    // Answer bytes the client will never read go back to the fallback; what it still serves
    // of the stream is cancelled.
    conn->relay_->Consumed(stream_id, state->answer.size() - state->answer_sent);
    conn->relay_->Cancel(stream_id);
  }
  nghttp2_session_set_stream_user_data(s, stream_id, nullptr);
  conn->calls_.erase(stream_id);
  return 0;
}

void Connection::Dispatch(int32_t stream_id, CallState* state) {
  Responder responder(loop_, id_, stream_id);
  const size_t max_bytes = loop_->options().max_request_bytes;
  if (state->body_refused) {
    responder.Fail(GrpcCode::kResourceExhausted,
                   "grpc: received message larger than max (over " + std::to_string(max_bytes) +
                       " bytes)");
    return;
  }
  if (state->metadata_refused) {
    responder.Fail(GrpcCode::kResourceExhausted,
                   "grpc: request metadata over " + std::to_string(kMaxMetadataBytes) + " bytes");
    return;
  }
  auto it = loop_->methods().find(state->call.method);
  if (it == loop_->methods().end()) {
    responder.Fail(GrpcCode::kUnimplemented, "unknown method " + state->call.method);
    return;
  }
  if (Result<std::string_view> m = UnframeOne(state->call.body); !m.ok()) {
    responder.Fail(GrpcCode::kInvalidArgument, m.status().message());
    return;
  }
  it->second(std::move(state->call), std::move(responder));
}

void Connection::StartRelay(int32_t stream_id, CallState* state, bool end_stream) {
  auto refuse = [&](const std::string& why) {
    Responder(loop_, id_, stream_id).Fail(GrpcCode::kUnavailable, why);
  };
  if (relay_ == nullptr) {
    Result<int> fd = loop_->options().dial_fallback();
    if (!fd.ok()) return refuse("cannot reach the fallback server: " + fd.status().message());
    relay_ = Relay::Open(loop_->events(), *fd, this);
    if (relay_ == nullptr) return refuse("cannot open a session with the fallback server");
  }
  HeaderList headers;
  headers.reserve(4 + state->headers.size());
  headers.emplace_back(":method", std::move(state->verb));
  headers.emplace_back(":scheme", std::move(state->scheme));
  if (!state->authority.empty()) headers.emplace_back(":authority", std::move(state->authority));
  headers.emplace_back(":path", state->call.method);
  for (auto& header : state->headers) headers.push_back(std::move(header));
  state->headers = HeaderList();
  if (!relay_->StartCall(stream_id, headers, end_stream)) {
    return refuse("the fallback server refused the call");
  }
  state->relay_started = true;
}

void Connection::RelayHeaders(int32_t stream_id, HeaderList headers, bool trailers,
                              bool end_stream) {
  CallState* state = closed_ ? nullptr : StateOf(stream_id);
  if (state == nullptr) return;
  if (trailers) {
    state->trailers = std::move(headers);
    state->answer_ended = true;
    (void)nghttp2_session_resume_data(session_, stream_id);
    return;
  }
  state->answered = true;
  const std::vector<nghttp2_nv> nv = NvOf(headers);
  if (end_stream) {  // trailers-only
    (void)nghttp2_submit_response(session_, stream_id, nv.data(), nv.size(), nullptr);
    return;
  }
  nghttp2_data_provider body{};
  body.source.ptr = state;
  body.read_callback = &Connection::ReadRelayed;
  (void)nghttp2_submit_response(session_, stream_id, nv.data(), nv.size(), &body);
}

void Connection::RelayData(int32_t stream_id, std::string_view data) {
  CallState* state = closed_ ? nullptr : StateOf(stream_id);
  if (state == nullptr) {
    if (relay_ != nullptr) relay_->Consumed(stream_id, data.size());
    return;
  }
  state->answer.append(data);
  (void)nghttp2_session_resume_data(session_, stream_id);
}

void Connection::RelayEnd(int32_t stream_id) {
  CallState* state = closed_ ? nullptr : StateOf(stream_id);
  if (state == nullptr) return;
  state->answer_ended = true;
  (void)nghttp2_session_resume_data(session_, stream_id);
}

void Connection::RelayReset(int32_t stream_id, uint32_t error_code) {
  if (closed_) return;
  (void)nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

void Connection::RelayConsumed(int32_t stream_id, size_t bytes) {
  if (closed_) return;
  (void)nghttp2_session_consume(session_, stream_id, bytes);
}

void Connection::RelayClosed() {
  if (relay_ != nullptr) loop_->events()->DeleteLater(std::move(relay_));
  loop_->QueueFlush(this);
}

ssize_t Connection::ReadRelayed(nghttp2_session* s, int32_t stream_id, uint8_t* buf,
                                size_t length, uint32_t* flags, nghttp2_data_source* source,
                                void* self) {
  auto* conn = static_cast<Connection*>(self);
  auto* state = static_cast<CallState*>(source->ptr);
  const size_t n = std::min(length, state->answer.size() - state->answer_sent);
  if (n == 0 && !state->answer_ended) return NGHTTP2_ERR_DEFERRED;
  std::memcpy(buf, state->answer.data() + state->answer_sent, n);
  state->answer_sent += n;
  if (state->answer_sent == state->answer.size()) {
    state->answer.clear();
    state->answer_sent = 0;
  }
  if (n > 0 && conn->relay_ != nullptr) conn->relay_->Consumed(stream_id, n);
  if (state->answer.empty() && state->answer_ended) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!state->trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const std::vector<nghttp2_nv> nv = NvOf(state->trailers);
      if (nghttp2_submit_trailer(s, stream_id, nv.data(), nv.size()) != 0) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
    }
  }
  return static_cast<ssize_t>(n);
}

void Connection::Answer(int32_t stream_id, GrpcCode code, std::string payload) {
  auto* state = static_cast<CallState*>(nghttp2_session_get_stream_user_data(session_, stream_id));
  if (state == nullptr || state->answered || closed_) return;  // reset by the client meanwhile
  state->answered = true;
  if (code != GrpcCode::kOk) {
    // Trailers-only: the status in the one HEADERS frame, which ends the stream.
    state->answer = std::move(payload);  // the encoded grpc-message, kept for NO_COPY
    const nghttp2_nv headers[] = {Header(":status", "200"),
                                  Header("content-type", "application/grpc"),
                                  Header("grpc-status", StatusText(code)),
                                  Header("grpc-message", state->answer)};
    nghttp2_submit_response(session_, stream_id, headers, state->answer.empty() ? 3 : 4,
                            nullptr);
    return;
  }
  state->answer = std::move(payload);
  const nghttp2_nv headers[] = {Header(":status", "200"),
                                Header("content-type", "application/grpc")};
  nghttp2_data_provider body{};
  body.source.ptr = state;
  body.read_callback = &Connection::ReadAnswer;
  nghttp2_submit_response(session_, stream_id, headers, 2, &body);
}

ssize_t Connection::ReadAnswer(nghttp2_session* s, int32_t stream_id, uint8_t* buf,
                               size_t length, uint32_t* flags, nghttp2_data_source* source,
                               void*) {
  auto* state = static_cast<CallState*>(source->ptr);
  const size_t n = std::min(length, state->answer.size() - state->answer_sent);
  std::memcpy(buf, state->answer.data() + state->answer_sent, n);
  state->answer_sent += n;
  if (state->answer_sent == state->answer.size()) {
    // The stream ends with the trailers, not with this DATA frame.
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    const nghttp2_nv trailers[] = {Header("grpc-status", "0")};
    if (nghttp2_submit_trailer(s, stream_id, trailers, 1) != 0) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
  }
  return static_cast<ssize_t>(n);
}

// --- UnaryServer -------------------------------------------------------------------------

Result<std::unique_ptr<UnaryServer>> UnaryServer::Start(ServerOptions options,
                                                        MethodTable methods) {
  GRID_CHECK(options.threads >= 1);
  std::unique_ptr<UnaryServer> server(new UnaryServer());
  server->methods_ = std::make_shared<const MethodTable>(std::move(methods));
  for (unsigned i = 0; i < options.threads; ++i) {
    auto loop = std::make_unique<Loop>(options, server->methods_);
    if (!loop->init_status().ok()) return loop->init_status();
    server->loops_.push_back(std::move(loop));
  }
  for (auto& loop : server->loops_) {
    server->threads_.emplace_back([l = loop.get()] { l->Run(); });
  }
  return server;
}

UnaryServer::~UnaryServer() { Stop(); }

Result<uint16_t> UnaryServer::Listen(const router::net::SocketAddress& address) {
  GRID_CHECK(!stopped_);
  router::net::SocketAddress bind_to = address;
  uint16_t port = 0;
  for (auto& loop : loops_) {
    Result<int> fd = router::net::Listen(bind_to, /*reuse_port=*/true);
    if (!fd.ok()) return fd.status();
    if (port == 0) {  // port 0: every further listener binds the port the first one got
      Result<router::net::SocketAddress> bound = router::net::LocalAddress(*fd);
      if (!bound.ok()) {
        close(*fd);
        return bound.status();
      }
      bind_to = *bound;
      port = bound->port();
    }
    loop->Post([l = loop.get(), fd = *fd] { l->AddListener(fd); });
  }
  return port;
}

void UnaryServer::Adopt(int fd) {
  GRID_CHECK(!stopped_);
  Loop* loop = loops_[next_loop_++ % loops_.size()].get();
  loop->Post([loop, fd] { loop->Adopt(fd); });
}

size_t UnaryServer::StreamsHeld() {
  GRID_CHECK(!stopped_);
  size_t held = 0;
  for (auto& loop : loops_) {
    std::promise<size_t> counted;
    std::future<size_t> count = counted.get_future();
    loop->Post([l = loop.get(), &counted] { counted.set_value(l->StreamsHeld()); });
    held += count.get();
  }
  return held;
}

void UnaryServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& loop : loops_) loop->Stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace grid::h2
