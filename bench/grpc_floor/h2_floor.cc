// h2_floor: the same etcd v3 KV endpoint as grpc_floor (stores nothing, answers Put, Range,
// Txn and DeleteRange at once with responses of a store's size), served without the gRPC
// library: HTTP/2 framing by nghttp2 on one edge-triggered epoll loop per thread (the
// router's event loop), each answer written by the loop that read its request. It tells what
// a client-facing server of the project's own could reach on this machine, against
// grpc_floor's ceiling for any server built on gRPC.
//
//   --answer inline    the loop answers a request as soon as it has read it.
//   --answer handoff   the loop posts each call to a WorkerPool of one thread, which posts it
//                      back to the loop to be answered: the two hand-offs a store's write
//                      would make (to the thread that waits for the log sync, and back).
//
// What it speaks: gRPC over cleartext HTTP/2 (h2c with prior knowledge, as etcd clients dial
// http:// endpoints), unary calls only, uncompressed messages. Any other method is answered
// UNIMPLEMENTED, a compressed or malformed message INVALID_ARGUMENT, a message over
// kMaxRequestBytes RESOURCE_EXHAUSTED. Benchmark only; no test uses it.
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/worker_pool.h"
#include "floor_common.h"
#include "router/net/event_loop.h"
#include "router/net/io_buffer.h"
#include "router/net/socket.h"
#include "router/net/stream.h"

namespace {

using grid::WorkerPool;
using grid::router::net::EventLoop;
using grid::router::net::IoBuffer;
using grid::router::net::Stream;

// A request message larger than this is refused (etcd's default --max-request-bytes is
// 1.5 MiB; the floor needs nothing near it).
constexpr size_t kMaxRequestBytes = 2 * 1024 * 1024;
// Input read per connection before it is handed to nghttp2.
constexpr size_t kMaxInputBufferBytes = 256 * 1024;
// Streams a client may open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS).
constexpr uint32_t kMaxConcurrentStreams = 4096;
// The gRPC length-prefixed message header: 1 byte compressed flag, 4 bytes big-endian length.
constexpr size_t kGrpcFrameHeaderBytes = 5;
// --answer handoff: one thread, as grpc_floor's handoff and gridkv's responder pool; a call it
// cannot queue is answered on the loop.
constexpr size_t kAnsweringThreads = 1;
constexpr size_t kMaxQueuedAnswers = 100000;

// Shared by every loop: the revision counter and the value a Range returns.
struct FloorState {
  std::atomic<int64_t> revision{1};
  std::string value;
  int64_t NextRevision() { return revision.fetch_add(1, std::memory_order_relaxed) + 1; }
};

// One request/response exchange on one HTTP/2 stream.
struct Call {
  std::string path;
  std::string request;  // the gRPC-framed request body as received
  std::string answer;   // the gRPC-framed response message
  size_t answer_sent = 0;
  const char* grpc_status = "0";
  bool refused = false;  // over kMaxRequestBytes: answered without reading further
};

template <typename Message>
bool ParseGrpcMessage(const std::string& body, Message* message, const char** status) {
  if (body.size() < kGrpcFrameHeaderBytes) {
    *status = "3";  // INVALID_ARGUMENT
    return false;
  }
  const auto* b = reinterpret_cast<const unsigned char*>(body.data());
  const uint32_t length = (uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) |
                          (uint32_t{b[3]} << 8) | uint32_t{b[4]};
  if (b[0] != 0 || length != body.size() - kGrpcFrameHeaderBytes ||
      !message->ParseFromArray(body.data() + kGrpcFrameHeaderBytes, static_cast<int>(length))) {
    *status = "3";
    return false;
  }
  return true;
}

template <typename Message>
void FrameGrpcMessage(const Message& message, std::string* out) {
  const size_t length = message.ByteSizeLong();
  out->resize(kGrpcFrameHeaderBytes + length);
  auto* b = reinterpret_cast<unsigned char*>(out->data());
  b[0] = 0;
  b[1] = static_cast<unsigned char>(length >> 24);
  b[2] = static_cast<unsigned char>(length >> 16);
  b[3] = static_cast<unsigned char>(length >> 8);
  b[4] = static_cast<unsigned char>(length);
  message.SerializeWithCachedSizesToArray(b + kGrpcFrameHeaderBytes);
}

// Parses call->request as a `Request`, lets `fill` build the `Response`, frames it into
// call->answer; INVALID_ARGUMENT in call->grpc_status when the request does not parse.
template <typename Request, typename Response, typename Fill>
void AnswerWith(Call* call, Fill fill) {
  Request req;
  if (!ParseGrpcMessage(call->request, &req, &call->grpc_status)) return;
  Response resp;
  fill(req, &resp);
  FrameGrpcMessage(resp, &call->answer);
}

// Fills call->answer or call->grpc_status from call->path and call->request.
void AnswerCall(FloorState* state, Call* call) {
  if (call->refused) {
    call->grpc_status = "8";  // RESOURCE_EXHAUSTED
    return;
  }
  const std::string_view method = call->path;
  if (method == "/etcdserverpb.KV/Put") {
    AnswerWith<etcdserverpb::PutRequest, etcdserverpb::PutResponse>(
        call, [&](const auto&, auto* resp) {
          grid::bench::FillFloorHeader(resp->mutable_header(), state->NextRevision());
        });
  } else if (method == "/etcdserverpb.KV/Range") {
    AnswerWith<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(
        call, [&](const auto& req, auto* resp) {
          grid::bench::FillFloorRange(req, state->revision.load(std::memory_order_relaxed),
                                      state->value, resp);
        });
  } else if (method == "/etcdserverpb.KV/DeleteRange") {
    AnswerWith<etcdserverpb::DeleteRangeRequest, etcdserverpb::DeleteRangeResponse>(
        call, [&](const auto&, auto* resp) {
          grid::bench::FillFloorHeader(resp->mutable_header(), state->NextRevision());
        });
  } else if (method == "/etcdserverpb.KV/Txn") {
    AnswerWith<etcdserverpb::TxnRequest, etcdserverpb::TxnResponse>(
        call, [&](const auto& req, auto* resp) {
          grid::bench::FillFloorTxn(req, state->NextRevision(), resp);
        });
  } else {
    call->grpc_status = "12";  // UNIMPLEMENTED
  }
}

nghttp2_nv Header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

class Loop;

// One client connection: bytes in → nghttp2 → calls answered → bytes out, on one loop.
class Connection final : public grid::router::net::StreamOwner,
                         public grid::router::net::Deferred {
 public:
  Connection(Loop* loop, uint64_t id, EventLoop* events, int fd, FloorState* state);
  ~Connection() override {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  bool Start();
  // --answer handoff: the call on `stream_id` came back from the answering thread.
  void AnswerHandedOff(int32_t stream_id);
  void OnStreamReadable(Stream*) override;
  void OnStreamDrained(Stream*) override { SendOutput(); }
  void OnStreamConnected(Stream*, int) override {}

 private:
  static int OnBeginHeaders(nghttp2_session* s, const nghttp2_frame* f, void* self);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*);
  static int OnDataChunk(nghttp2_session* s, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void*);
  static int OnFrameRecv(nghttp2_session* s, const nghttp2_frame* f, void* self);
  static int OnStreamClose(nghttp2_session* s, int32_t stream_id, uint32_t, void*);
  static ssize_t ReadAnswer(nghttp2_session* s, int32_t stream_id, uint8_t* buf, size_t length,
                            uint32_t* flags, nghttp2_data_source* source, void*);

  // The request on `stream_id` is complete: answers it now or hands it off.
  void Respond(int32_t stream_id, Call* call);
  void Answer(int32_t stream_id, Call* call);
  // Everything nghttp2 has to send goes out in one write.
  void SendOutput();
  void Close();

  Loop* loop_;
  const uint64_t id_;
  FloorState* state_;
  Stream stream_;
  IoBuffer input_;
  std::string output_;
  nghttp2_session* session_ = nullptr;
  bool closed_ = false;
};

// One thread's event loop, its listener and its connections.
class Loop final : public grid::router::net::IoHandler {
 public:
  // `answering`: nullptr answers inline.
  Loop(int listen_fd, FloorState* state, WorkerPool* answering)
      : listen_fd_(listen_fd), state_(state), answering_(answering) {}
  ~Loop() override { close(listen_fd_); }

  bool Start() {
    if (!events_.init_status().ok()) return false;
    return events_.AddReadOnly(listen_fd_, this).ok();
  }
  void Run() { events_.Run(); }
  void Stop() { events_.Stop(); }
  // Any thread.
  void Post(std::function<void()> task) { events_.Post(std::move(task)); }
  WorkerPool* answering() const { return answering_; }

  void OnIoEvent(uint32_t) override {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or an error the next connection may not have
      grid::router::net::SetNoDelay(fd);
      const uint64_t id = next_connection_id_++;
      auto conn = std::make_unique<Connection>(this, id, &events_, fd, state_);
      Connection* raw = conn.get();
      connections_.emplace(id, std::move(conn));
      if (!raw->Start()) Forget(id);
    }
  }

  // Loop thread: the connection `id`, or nullptr once it was closed.
  Connection* Find(uint64_t id) {
    auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second.get();
  }

  // Destroys connection `id` at the end of this loop iteration.
  void Forget(uint64_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    events_.DeleteLater(std::move(it->second));
    connections_.erase(it);
  }

 private:
  EventLoop events_;
  int listen_fd_;
  FloorState* state_;
  WorkerPool* answering_;
  // Ids, not pointers, travel through the answering thread: a call handed off may come back
  // after its connection closed.
  uint64_t next_connection_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
};

Connection::Connection(Loop* loop, uint64_t id, EventLoop* events, int fd, FloorState* state)
    : loop_(loop), id_(id), state_(state), stream_(events, fd, this, /*connecting=*/false) {}

bool Connection::Start() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Connection::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Connection::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Connection::OnDataChunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Connection::OnFrameRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Connection::OnStreamClose);
  const int rv = nghttp2_session_server_new(&session_, cb, this);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams}};
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1) != 0) return false;
  if (!stream_.Register().ok()) return false;
  SendOutput();
  return !closed_;
}

void Connection::OnStreamReadable(Stream*) {
  while (!closed_ && stream_.readable()) {
    const Stream::ReadResult r = stream_.ReadInto(&input_, kMaxInputBufferBytes);
    if (r.status == Stream::ReadStatus::kWouldBlock) break;
    if (r.status != Stream::ReadStatus::kData) {
      Close();  // EOF, an error, or input nghttp2 left unconsumed (it consumes everything)
      return;
    }
    const std::string_view in = input_.readable();
    const ssize_t used = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const uint8_t*>(in.data()), in.size());
    if (used < 0) {
      Close();
      return;
    }
    input_.Consume(static_cast<size_t>(used));
  }
  if (input_.empty()) input_.Release();
  SendOutput();
}

void Connection::SendOutput() {
  if (closed_) return;
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
  if (!output_.empty()) {
    if (!stream_.Write(output_)) {
      Close();
      return;
    }
    output_.clear();
  }
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
      stream_.pending_write_bytes() == 0) {
    Close();
  }
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  stream_.Close();
  loop_->Forget(id_);
}

int Connection::OnBeginHeaders(nghttp2_session* s, const nghttp2_frame* f, void*) {
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  // Owned through the stream's user data until OnStreamClose.
  nghttp2_session_set_stream_user_data(s, f->hd.stream_id, new Call());
  return 0;
}

int Connection::OnHeader(nghttp2_session* s, const nghttp2_frame* f, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void*) {
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(s, f->hd.stream_id));
  if (call != nullptr && std::string_view(reinterpret_cast<const char*>(name), namelen) ==
                             ":path") {
    call->path.assign(reinterpret_cast<const char*>(value), valuelen);
  }
  return 0;
}

int Connection::OnDataChunk(nghttp2_session* s, uint8_t, int32_t stream_id, const uint8_t* data,
                            size_t len, void*) {
  auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(s, stream_id));
  if (call == nullptr || call->refused) return 0;
  if (call->request.size() + len > kMaxRequestBytes + kGrpcFrameHeaderBytes) {
    call->refused = true;
    call->request.clear();
    call->request.shrink_to_fit();
    return 0;
  }
  call->request.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int Connection::OnFrameRecv(nghttp2_session* s, const nghttp2_frame* f, void* self) {
  if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
      (f->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
    return 0;
  }
  auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(s, f->hd.stream_id));
  if (call != nullptr) static_cast<Connection*>(self)->Respond(f->hd.stream_id, call);
  return 0;
}

int Connection::OnStreamClose(nghttp2_session* s, int32_t stream_id, uint32_t, void*) {
  delete static_cast<Call*>(nghttp2_session_get_stream_user_data(s, stream_id));
  nghttp2_session_set_stream_user_data(s, stream_id, nullptr);
  return 0;
}

void Connection::Respond(int32_t stream_id, Call* call) {
  WorkerPool* pool = loop_->answering();
  if (pool == nullptr) {
    Answer(stream_id, call);
    return;
  }
  Loop* loop = loop_;
  const uint64_t id = id_;
  const bool queued = pool->Post([loop, id, stream_id] {
    loop->Post([loop, id, stream_id] {
      if (Connection* conn = loop->Find(id)) conn->AnswerHandedOff(stream_id);
    });
  });
  if (!queued) Answer(stream_id, call);
}

void Connection::AnswerHandedOff(int32_t stream_id) {
  // nullptr: the client reset the stream meanwhile.
  auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(session_, stream_id));
  if (call == nullptr || closed_) return;
  Answer(stream_id, call);
  SendOutput();
}

void Connection::Answer(int32_t stream_id, Call* call) {
  AnswerCall(state_, call);
  call->request.clear();
  if (call->answer.empty()) {
    // Trailers-only: the status in the one HEADERS frame, which ends the stream.
    const nghttp2_nv headers[] = {Header(":status", "200"),
                                  Header("content-type", "application/grpc"),
                                  Header("grpc-status", call->grpc_status)};
    nghttp2_submit_response(session_, stream_id, headers, 3, nullptr);
    return;
  }
  const nghttp2_nv headers[] = {Header(":status", "200"),
                                Header("content-type", "application/grpc")};
  nghttp2_data_provider body{};
  body.source.ptr = call;
  body.read_callback = &Connection::ReadAnswer;
  nghttp2_submit_response(session_, stream_id, headers, 2, &body);
}

ssize_t Connection::ReadAnswer(nghttp2_session* s, int32_t stream_id, uint8_t* buf,
                               size_t length, uint32_t* flags, nghttp2_data_source* source,
                               void*) {
  auto* call = static_cast<Call*>(source->ptr);
  const size_t n = std::min(length, call->answer.size() - call->answer_sent);
  std::memcpy(buf, call->answer.data() + call->answer_sent, n);
  call->answer_sent += n;
  if (call->answer_sent == call->answer.size()) {
    // The stream ends with the trailers, not with this DATA frame.
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    const nghttp2_nv trailers[] = {Header("grpc-status", "0")};
    if (nghttp2_submit_trailer(s, stream_id, trailers, 1) != 0) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"h2_floor: an etcd KV endpoint on nghttp2 that stores nothing (benchmark)"};
  std::string listen = "http://127.0.0.1:2379";
  size_t value_bytes = 256;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string answer = "inline";
  app.add_option("--listen-client-urls", listen, "where to serve (http only)");
  app.add_option("--value-bytes", value_bytes, "size of the value a Range returns")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--threads", threads, "event loops (default: one per CPU)")
      ->check(CLI::Range(1, 64));
  app.add_option("--answer", answer, "inline or handoff")
      ->check(CLI::IsMember({"inline", "handoff"}));
  CLI11_PARSE(app, argc, argv);

  // SIGTERM and SIGINT are blocked in every thread and taken by sigwait below.
  sigset_t stop_signals = grid::bench::BlockStopSignals();
  signal(SIGPIPE, SIG_IGN);
  std::optional<grid::transport::PeerUrl> url =
      grid::bench::ParseFloorListenUrl("h2_floor", listen);
  if (!url) return 2;
  grid::Result<grid::router::net::SocketAddress> address =
      grid::router::net::ParseSocketAddress(url->target());
  if (!address.ok()) {
    std::cerr << "h2_floor: " << address.status().ToString() << "\n";
    return 2;
  }

  FloorState state;
  state.value.assign(value_bytes, 'v');
  // Declared after `loops`, so destroyed first: its thread posts to the loops.
  std::vector<std::unique_ptr<Loop>> loops;
  std::unique_ptr<WorkerPool> answering;
  if (answer == "handoff") {
    answering = std::make_unique<WorkerPool>(kAnsweringThreads, kMaxQueuedAnswers);
  }
  for (unsigned i = 0; i < threads; ++i) {
    grid::Result<int> fd = grid::router::net::Listen(*address, /*reuse_port=*/true);
    if (!fd.ok()) {
      std::cerr << "h2_floor: cannot listen on " << listen << ": " << fd.status().ToString()
                << "\n";
      return 1;
    }
    if (i == 0) {  // port 0: every further listener binds the port the first one got
      grid::Result<grid::router::net::SocketAddress> bound =
          grid::router::net::LocalAddress(*fd);
      if (bound.ok()) address = *bound;
    }
    loops.push_back(std::make_unique<Loop>(*fd, &state, answering.get()));
    if (!loops.back()->Start()) {
      std::cerr << "h2_floor: cannot start an event loop\n";
      return 1;
    }
  }
  std::cout << "h2_floor: serving on port " << address->port() << " (" << threads
            << " threads, answer " << answer << ")" << std::endl;

  std::vector<std::thread> running;
  for (auto& loop : loops) running.emplace_back([l = loop.get()] { l->Run(); });
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  for (auto& loop : loops) loop->Stop();
  for (std::thread& t : running) t.join();
  return 0;
}
