#include "h2/relay.h"

#include <algorithm>
#include <cstring>

#include "h2/grpc_wire.h"

namespace grid::h2 {

std::vector<nghttp2_nv> NvOf(const HeaderList& headers) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                  value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv;
}

std::unique_ptr<Relay> Relay::Open(router::net::EventLoop* loop, int fd, RelaySink* sink) {
  std::unique_ptr<Relay> relay(new Relay(loop, fd, sink));
  if (!relay->Init()) {
    relay->closed_ = true;
    relay->stream_.Close();
    return nullptr;
  }
  return relay;
}

Relay::~Relay() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

bool Relay::Init() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Relay::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Relay::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Relay::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Relay::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Relay::OnStreamClose);
  nghttp2_option* option = nullptr;
  if (nghttp2_option_new(&option) != 0) {
    nghttp2_session_callbacks_del(cb);
    return false;
  }
  nghttp2_option_set_no_auto_window_update(option, 1);
  const int rv = nghttp2_session_client_new2(&session_, cb, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return false;
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                             {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
                                              kStreamWindowBytes}};
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2) != 0) return false;
  if (nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                            kConnectionWindowBytes) != 0) {
    return false;
  }
  if (!stream_.Register().ok()) return false;
  Flush();
  return !closed_;
}

bool Relay::StartCall(int32_t stream_id, const HeaderList& headers, bool end_stream) {
  if (closed_) return false;
  auto call = std::make_unique<Call>();
  call->client_stream = stream_id;
  call->body_ended = end_stream;
  const std::vector<nghttp2_nv> nv = NvOf(headers);
  nghttp2_data_provider body{};
  body.source.ptr = call.get();
  body.read_callback = &Relay::ReadBody;
  const int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                            end_stream ? nullptr : &body, call.get());
  if (id < 0) return false;
  call->fallback_stream = id;
  client_of_[id] = stream_id;
  calls_[stream_id] = std::move(call);
  return true;
}

void Relay::SendData(int32_t stream_id, std::string_view data, bool end_stream) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) {
    if (!data.empty()) sink_->RelayConsumed(stream_id, data.size());
    return;
  }
  Call* call = it->second.get();
  call->body.append(data);
  call->body_ended = call->body_ended || end_stream;
  (void)nghttp2_session_resume_data(session_, call->fallback_stream);  // not deferred: fine
}

void Relay::Cancel(int32_t stream_id) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  const int32_t fallback = it->second->fallback_stream;
  client_of_.erase(fallback);
  calls_.erase(it);
  if (!closed_) {
    (void)nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, fallback, NGHTTP2_CANCEL);
  }
}

void Relay::Consumed(int32_t stream_id, size_t bytes) {
  if (closed_ || bytes == 0) return;
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) {
    (void)nghttp2_session_consume_connection(session_, bytes);
    return;
  }
  (void)nghttp2_session_consume(session_, it->second->fallback_stream, bytes);
}

void Relay::Flush() {
  if (closed_) return;
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return Fail();
    if (n == 0) break;
    output_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (!output_.empty()) {
    if (!stream_.Write(output_)) return Fail();
    output_.clear();
  }
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
      stream_.pending_write_bytes() == 0) {
    Fail();  // the fallback said GOAWAY and every stream is done
  }
}

void Relay::Close() {
  if (closed_) return;
  closed_ = true;
  stream_.Close();
}

void Relay::Fail() {
  if (closed_) return;
  Close();
  // A lost fallback connection is UNAVAILABLE to gRPC clients, as a lost connection of their
  // own would be; they retry.
  std::vector<std::unique_ptr<Call>> calls;
  for (auto& [id, call] : calls_) calls.push_back(std::move(call));
  calls_.clear();
  client_of_.clear();
  for (const auto& call : calls) {
    HeaderList trailers;
    if (!call->answer_started) {
      trailers.emplace_back(":status", "200");
      trailers.emplace_back("content-type", "application/grpc");
    }
    trailers.emplace_back("grpc-status", StatusText(GrpcCode::kUnavailable));
    trailers.emplace_back("grpc-message", "connection to the fallback server lost");
    sink_->RelayHeaders(call->client_stream, std::move(trailers),
                        /*trailers=*/call->answer_started, /*end_stream=*/true);
  }
  sink_->RelayClosed();
}

void Relay::OnStreamReadable(router::net::Stream*) {
  while (!closed_ && stream_.readable()) {
    const auto r = stream_.ReadInto(&input_, router::net::kMaxReadChunkBytes);
    if (r.status == router::net::Stream::ReadStatus::kWouldBlock) break;
    if (r.status != router::net::Stream::ReadStatus::kData) {
      Fail();
      break;
    }
    const std::string_view in = input_.readable();
    const ssize_t used = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const uint8_t*>(in.data()), in.size());
    if (used < 0) {
      Fail();
      break;
    }
    input_.Consume(static_cast<size_t>(used));
  }
  if (input_.empty()) input_.Release();
  Flush();
  sink_->RelayFlush();
}

Relay::Call* Relay::ByFallback(int32_t fallback_stream) {
  auto it = client_of_.find(fallback_stream);
  if (it == client_of_.end()) return nullptr;
  auto call = calls_.find(it->second);
  return call == calls_.end() ? nullptr : call->second.get();
}

int Relay::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* f, void* self) {
  if (Call* call = static_cast<Relay*>(self)->ByFallback(f->hd.stream_id)) call->headers.clear();
  return 0;
}

int Relay::OnHeader(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name,
                    size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* self) {
  if (Call* call = static_cast<Relay*>(self)->ByFallback(f->hd.stream_id)) {
    call->headers.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                               std::string(reinterpret_cast<const char*>(value), valuelen));
  }
  return 0;
}

int Relay::OnFrameRecv(nghttp2_session*, const nghttp2_frame* f, void* self) {
  auto* relay = static_cast<Relay*>(self);
  Call* call = relay->ByFallback(f->hd.stream_id);
  if (call == nullptr) return 0;
  const bool end_stream = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (f->hd.type == NGHTTP2_HEADERS) {
    const bool trailers = call->answer_started;
    call->answer_started = true;
    relay->sink_->RelayHeaders(call->client_stream, std::move(call->headers), trailers,
                               end_stream);
    call->headers.clear();
  } else if (f->hd.type == NGHTTP2_DATA && end_stream) {
    relay->sink_->RelayEnd(call->client_stream);
  }
  return 0;
}

int Relay::OnDataChunk(nghttp2_session* s, uint8_t, int32_t stream_id, const uint8_t* data,
                       size_t len, void* self) {
  auto* relay = static_cast<Relay*>(self);
  Call* call = relay->ByFallback(stream_id);
  if (call == nullptr) {
    (void)nghttp2_session_consume(s, stream_id, len);
    return 0;
  }
  relay->sink_->RelayData(call->client_stream,
                          std::string_view(reinterpret_cast<const char*>(data), len));
  return 0;
}

int Relay::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self) {
  auto* relay = static_cast<Relay*>(self);
  auto it = relay->client_of_.find(stream_id);
  if (it == relay->client_of_.end()) return 0;
  const int32_t client = it->second;
  relay->client_of_.erase(it);
  auto call_it = relay->calls_.find(client);
  if (call_it == relay->calls_.end()) return 0;
  std::unique_ptr<Call> call = std::move(call_it->second);
  relay->calls_.erase(call_it);
  // Request bytes the fallback will never take go back to the client.
  if (!call->body.empty()) relay->sink_->RelayConsumed(client, call->body.size());
  if (error_code != NGHTTP2_NO_ERROR) relay->sink_->RelayReset(client, error_code);
  return 0;
}

ssize_t Relay::ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                        uint32_t* flags, nghttp2_data_source* source, void* self) {
  auto* call = static_cast<Call*>(source->ptr);
  const size_t n = std::min(length, call->body.size());
  if (n == 0 && !call->body_ended) return NGHTTP2_ERR_DEFERRED;
  std::memcpy(buf, call->body.data(), n);
  call->body.erase(0, n);
  if (n > 0) static_cast<Relay*>(self)->sink_->RelayConsumed(call->client_stream, n);
  if (call->body.empty() && call->body_ended) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

}  // namespace grid::h2
