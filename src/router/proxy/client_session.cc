#include "router/proxy/client_session.h"

#include <fmt/format.h>

#include <cerrno>

#include "router/balance/hash.h"
#include "router/http/head_writer.h"
#include "router/net/clock.h"
#include "router/proxy/local_answer.h"

namespace grid::router::proxy {
namespace {

// The method's token as the retry rules know it; empty for methods the codec does not name.
std::string_view CanonicalMethodName(http::Method m) {
  switch (m) {
    case http::Method::kGet: return "GET";
    case http::Method::kHead: return "HEAD";
    case http::Method::kPost: return "POST";
    case http::Method::kPut: return "PUT";
    case http::Method::kDelete: return "DELETE";
    case http::Method::kConnect: return "CONNECT";
    case http::Method::kOptions: return "OPTIONS";
    case http::Method::kTrace: return "TRACE";
    case http::Method::kPatch: return "PATCH";
    case http::Method::kOther: return "";
  }
  return "";
}

const table::Timeouts kDefaultTimeouts{};

}  // namespace

void LoopContext::NextRequestId(std::string* out) {
  uint64_t id = balance::Mix64(request_id_prefix ^ ++request_counter);
  out->resize(16);
  for (int i = 15; i >= 0; --i, id >>= 4) (*out)[static_cast<size_t>(i)] = "0123456789abcdef"[id & 15];
}

ClientSession::ClientSession(LoopContext* ctx, int fd, const net::SocketAddress& peer)
    : ctx_(ctx),
      client_(ctx->loop, fd, this, false),
      client_address_(peer.HostText()),
      client_timer_([this] {
        if (phase_ == Phase::kReadingHead && !client_in_.empty()) {
          AnswerLocally(408, "request head timeout\n", 0, false);
        } else {
          Close();
        }
      }),
      upstream_timer_([this] { UpstreamTimedOut(); }),
      request_parser_(ctx->limits->codec),
      response_parser_(ctx->limits->codec),
      request_body_(http::MessageKind::kRequest, ctx->limits->codec),
      response_body_(http::MessageKind::kResponse, ctx->limits->codec) {}

ClientSession::~ClientSession() {
  if (upstream_ != nullptr) ctx_->pool->Discard(upstream_);
}

Status ClientSession::Start() {
  net::SetNoDelay(client_.fd());
  GRID_RETURN_IF_ERROR(client_.Register());
  ArmClientTimer();
  return Status::Ok();
}

const table::Timeouts& ClientSession::timeouts() const {
  if (state_) return state_->table->settings().timeouts;  // during an exchange: its table
  const auto& t = ctx_->tables->Current();
  return t ? t->table->settings().timeouts : kDefaultTimeouts;
}

void ClientSession::ArmClientTimer() {
  if (client_in_.empty()) {
    head_timer_armed_ = false;
    client_timer_.Arm(ctx_->loop->timers(), timeouts().idle_ms);
  } else if (!head_timer_armed_) {
    // Armed once per head: a client trickling bytes does not extend it.
    head_timer_armed_ = true;
    client_timer_.Arm(ctx_->loop->timers(), timeouts().header_read_ms);
  }
}

void ClientSession::Drain() {
  if (phase_ != Phase::kReadingHead) return;
  // A request may have arrived without its event being dispatched yet: look before closing.
  client_.AssumeReadable();
  ProcessClientInput();
}

// ---- client input ----

ClientSession::ReadOutcome ClientSession::ReadClient() {
  if (client_eof_) return ReadOutcome::kEof;
  if (!client_.readable()) return ReadOutcome::kNoMore;
  net::Stream::ReadResult r = client_.ReadInto(&client_in_, ctx_->limits->max_client_buffer_bytes);
  switch (r.status) {
    case net::Stream::ReadStatus::kData:
      received_any_ = true;
      ProxyStats::Add(ctx_->stats->bytes_from_clients, r.bytes);
      return ReadOutcome::kData;
    case net::Stream::ReadStatus::kWouldBlock: return ReadOutcome::kNoMore;
    case net::Stream::ReadStatus::kFull: return ReadOutcome::kFull;
    case net::Stream::ReadStatus::kEof: client_eof_ = true; return ReadOutcome::kEof;
    case net::Stream::ReadStatus::kError: return ReadOutcome::kError;
  }
  return ReadOutcome::kError;
}

void ClientSession::OnStreamReadable(net::Stream*) {
  switch (phase_) {
    case Phase::kReadingHead:
      ProcessClientInput();
      return;
    case Phase::kExchange:
      if (!request_done_) {
        PumpRequestBody();
        return;
      }
      // Pipelined bytes wait in the buffer; a client that closes its side still gets the
      // response (half-close), a broken connection ends the exchange.
      while (phase_ == Phase::kExchange) {
        ReadOutcome r = ReadClient();
        if (r == ReadOutcome::kError) {
          Close();
          return;
        }
        if (r != ReadOutcome::kData) return;
      }
      return;
    case Phase::kTunnel:
      PumpTunnel();
      return;
    case Phase::kLingering:
      while (phase_ == Phase::kLingering) {
        client_in_.Clear();
        ReadOutcome r = ReadClient();
        if (r == ReadOutcome::kError || (r == ReadOutcome::kEof && client_.pending_write_bytes() == 0)) {
          Close();
          return;
        }
        if (r != ReadOutcome::kData) return;  // EOF with output pending: closes once drained
      }
      return;
    case Phase::kClosed:
      return;
  }
}

void ClientSession::ProcessClientInput() {
  // Answers that end an exchange synchronously come back here; the outermost call loops
  // instead of recursing once per pipelined request.
  if (processing_input_) return;
  processing_input_ = true;
  ProcessClientInputLoop();
  processing_input_ = false;
}

void ClientSession::ProcessClientInputLoop() {
  while (phase_ == Phase::kReadingHead) {
    if (!client_in_.empty()) {
      http::ParseState st = request_parser_.Parse(client_in_.readable());
      if (st == http::ParseState::kComplete) {
        if (!HandleHead()) return;
        continue;
      }
      if (st == http::ParseState::kError) {
        const http::CodecError& e = request_parser_.error();
        exchange_start_us_ = net::MonotonicUs();
        log_method_.assign("-");
        log_target_.assign("-");
        request_bytes_ = 0;
        AnswerLocally(e.status, fmt::format("{}\n", e.reason), 0, false);
        return;
      }
    }
    ReadOutcome r = ReadClient();
    if (r == ReadOutcome::kData) continue;
    if (r == ReadOutcome::kEof || r == ReadOutcome::kError) {
      Close();  // mid-head or between requests: nothing to answer
      return;
    }
    if (ctx_->draining && client_in_.empty()) {
      if (received_any_) {
        Close();  // idle keep-alive connection of a draining loop
        return;
      }
      // Accepted just before the drain, its first request may still be on its way: it gets
      // drain_first_request_grace_ms to arrive (then it is served with Connection: close).
      client_timer_.Arm(ctx_->loop->timers(), ctx_->limits->drain_first_request_grace_ms);
      return;
    }
    if (r == ReadOutcome::kFull) {
      // The codec limits fit in the buffer, so a full buffer without a head is a bug.
      GRID_CHECK(false) << "client buffer full without a complete head";
    }
    ArmClientTimer();
    if (client_in_.empty()) client_in_.Release();
    return;
  }
}

bool ClientSession::HandleHead() {
  const http::RequestHead& head = request_parser_.head();
  ProxyStats::Add(ctx_->stats->requests);
  exchange_start_us_ = net::MonotonicUs();
  client_version_ = head.version;
  request_keep_alive_ = head.keep_alive;
  method_name_ = CanonicalMethodName(head.method);
  request_idempotent_ = protect::IsIdempotentMethod(method_name_);
  request_has_body_ = head.framing.kind != http::BodyKind::kNone &&
                      !(head.framing.kind == http::BodyKind::kContentLength &&
                        head.framing.content_length == 0);
  response_context_ = {head.method, head.upgrade};
  request_bytes_ = response_bytes_ = 0;
  response_status_ = 0;
  retries_used_ = 0;
  stale_retry_used_ = false;
  kept_body_.clear();
  body_kept_whole_ = true;
  request_done_ = false;
  response_started_ = false;
  response_head_done_ = false;
  response_head_unsent_ = false;
  upstream_eof_ = false;
  set_cookie_.reset();
  request_id_.clear();
  if (ctx_->access_log->enabled()) {
    log_method_.assign(head.method_name);
    log_target_.assign(head.target);
  }

  state_ = ctx_->tables->Current();
  if (!state_) {
    AnswerLocally(503, "no route table\n", 0, !request_has_body_);
    return phase_ == Phase::kReadingHead;
  }
  request_slot_ = ctx_->protection->retry_budget.StartRequest();
  HeaderLookup headers(head.headers);
  CookieLookup cookies(head.headers);
  table::RequestFacts facts{head.host, head.target, &headers, &cookies, client_address_};
  RouteResult route = ctx_->chooser->Route(*state_, facts, ctx_->loop->now_ms());
  if (!route.to_backend) {
    if (route.unknown_tenant) ProxyStats::Add(ctx_->stats->unknown_tenant);
    if (route.no_backend) ProxyStats::Add(ctx_->stats->no_backend);
    if (route.rate_limited) ProxyStats::Add(ctx_->stats->refused_rate_limit);
    // The request body is not read: the connection can stay only when there is none.
    AnswerLocally(route.status, route.body, route.retry_after_s, !request_has_body_,
                  route.rate_limited ? "X-Grid-Refused: rate-limit" : "");
    return phase_ == Phase::kReadingHead;
  }
  set_cookie_ = std::move(route.set_cookie);

  ctx_->NextRequestId(&generated_id_);
  http::UpstreamRequestOptions options;
  options.client_address = client_address_;
  options.request_id = generated_id_;
  upstream_head_.clear();
  std::string_view id = http::AppendUpstreamRequestHead(head, options, &upstream_head_);
  request_id_.assign(id);
  request_body_.Reset(head.framing);
  client_in_.Consume(head.head_bytes);
  request_parser_.Reset();
  head_timer_armed_ = false;
  client_timer_.Cancel();
  phase_ = Phase::kExchange;
  BeginAttempt(route);
  return phase_ == Phase::kReadingHead;
}

// ---- upstream ----

void ClientSession::StartUpstream(BackendSlot* slot) {
  upstream_address_ = slot->address;
  upstream_connected_ = false;
  client_write_paused_upstream_ = false;
  response_parser_.Reset(response_context_);
  if (UpstreamConn* idle = ctx_->pool->TakeIdle(slot, this)) {
    ProxyStats::Add(ctx_->stats->upstream_reuses);
    upstream_ = idle;
    upstream_connected_ = true;
    if (!WriteRequestSoFar()) {
      UpstreamEof();
      return;
    }
    RequestSent();
    return;
  }
  ConnectionSlot limit_slot;
  if (limit_ != nullptr) {
    limit_slot.slot = limit_->TryAcquire(protect::SlotKind::kConnection, group_index_,
                                         backend_index_);
    if (!limit_slot.slot) {
      AnswerRefused(limit_slot.slot.refusal());
      return;
    }
    limit_slot.cell = limit_->cell_counters();
    limit_slot.backend = limit_->backend_counters(group_index_, backend_index_);
  }
  ProxyStats::Add(ctx_->stats->upstream_connects);
  Result<UpstreamConn*> conn = ctx_->pool->Connect(slot, this);
  if (!conn.ok()) {
    ConnectFailed(slot, ECONNREFUSED);
    return;
  }
  upstream_ = *conn;
  upstream_->set_limit_slot(std::move(limit_slot));
  // The head (and on a retry the body kept so far) waits in the stream until the connect
  // completes; the rest of the body waits in the client buffer, so a failed connect can be
  // retried elsewhere with nothing lost.
  [[maybe_unused]] bool queued = WriteRequestSoFar();
  upstream_timer_.Arm(ctx_->loop->timers(), timeouts().connect_ms);
}

void ClientSession::OnUpstreamConnected(UpstreamConn* conn, int error) {
  if (conn != upstream_) return;
  if (error != 0) {
    ConnectFailed(conn->slot(), error);
    return;
  }
  upstream_connected_ = true;
  upstream_timer_.Cancel();  // the connect timer
  Record(health::PassiveOutcome::kConnectSuccess);
  RequestSent();
}

bool ClientSession::WriteRequestSoFar() {
  if (!upstream_->stream().Write(upstream_head_)) return false;
  return kept_body_.empty() || upstream_->stream().Write(kept_body_);
}

void ClientSession::RequestSent() {
  if (request_done_) {
    // A replay (the body-less request was complete before): the response wait starts now.
    upstream_timer_.Arm(ctx_->loop->timers(), timeouts().upstream_response_ms);
    return;
  }
  PumpRequestBody();
}

void ClientSession::PumpRequestBody() {
  const size_t limit = ctx_->limits->max_pending_write_bytes;
  while (phase_ == Phase::kExchange && !request_done_) {
    if (!upstream_connected_ || upstream_ == nullptr) return;
    if (upstream_->stream().pending_write_bytes() > limit) {
      // Resumes when drained; an upstream that stops reading times out like a silent one.
      upstream_timer_.Arm(ctx_->loop->timers(), timeouts().upstream_response_ms);
      return;
    }
    http::FrameResult fr = request_body_.Consume(client_in_.readable());
    if (fr.body_bytes > 0) {
      request_bytes_ += fr.body_bytes;
      const std::string_view bytes = client_in_.readable().substr(0, fr.body_bytes);
      if (body_kept_whole_) {
        if (!response_started_ &&
            kept_body_.size() + bytes.size() <= ctx_->limits->max_replay_body_bytes) {
          kept_body_.append(bytes);
        } else {
          body_kept_whole_ = false;  // no retry can send it again
          std::string().swap(kept_body_);
        }
      }
      const bool sent = upstream_->stream().Write(bytes);
      client_in_.Consume(fr.body_bytes);
      if (!sent) {
        UpstreamEof();
        return;
      }
    }
    if (fr.state == http::ParseState::kError) {
      if (!response_started_) {
        const http::CodecError& e = request_body_.error();
        ReleaseUpstream(false);
        request_keep_alive_ = false;
        AnswerLocally(e.status, fmt::format("{}\n", e.reason), 0, false);
      } else {
        Close();
      }
      return;
    }
    if (fr.state == http::ParseState::kComplete) {
      request_done_ = true;
      client_timer_.Cancel();
      upstream_timer_.Arm(ctx_->loop->timers(), timeouts().upstream_response_ms);
      return;
    }
    ReadOutcome r = ReadClient();
    if (r == ReadOutcome::kData) continue;
    if (r == ReadOutcome::kNoMore || r == ReadOutcome::kFull) {
      // Waiting for the client: its idle timeout runs, the upstream's does not.
      client_timer_.Arm(ctx_->loop->timers(), timeouts().idle_ms);
      upstream_timer_.Cancel();
      return;
    }
    // The client went away mid-body: nothing can be answered.
    Close();
    return;
  }
}

void ClientSession::OnUpstreamDrained(UpstreamConn* conn) {
  if (conn != upstream_) return;
  if (phase_ == Phase::kExchange && !request_done_) {
    PumpRequestBody();
  } else if (phase_ == Phase::kTunnel) {
    PumpTunnel();
  }
}

void ClientSession::OnStreamDrained(net::Stream*) {
  if (phase_ == Phase::kExchange && client_write_paused_upstream_ && upstream_ != nullptr) {
    client_write_paused_upstream_ = false;
    client_timer_.Cancel();
    if (request_done_) {
      upstream_timer_.Arm(ctx_->loop->timers(), timeouts().upstream_response_ms);
    }
    OnUpstreamReadable(upstream_);
  } else if (phase_ == Phase::kTunnel) {
    PumpTunnel();
  } else if (phase_ == Phase::kLingering) {
    if (client_eof_) {
      Close();
    } else {
      client_timer_.Arm(ctx_->loop->timers(), ctx_->limits->linger_ms);
    }
  }
}

void ClientSession::OnUpstreamReadable(UpstreamConn* conn) {
  if (conn != upstream_) return;
  if (phase_ == Phase::kTunnel) {
    PumpTunnel();
    return;
  }
  if (phase_ != Phase::kExchange || !upstream_connected_) return;
  const size_t limit = ctx_->limits->max_pending_write_bytes;
  while (phase_ == Phase::kExchange && upstream_ == conn) {
    if (client_.pending_write_bytes() > limit) {
      // OnStreamDrained resumes. Meanwhile the wait is the client's: its idle timeout runs
      // and the upstream's does not.
      client_write_paused_upstream_ = true;
      client_timer_.Arm(ctx_->loop->timers(), timeouts().idle_ms);
      upstream_timer_.Cancel();
      return;
    }
    if (!conn->in().empty() && !ProcessUpstreamInput()) return;
    if (phase_ != Phase::kExchange || upstream_ != conn) return;
    if (!conn->stream().readable()) return;
    net::Stream::ReadResult r =
        conn->stream().ReadInto(&conn->in(), ctx_->limits->max_upstream_buffer_bytes);
    switch (r.status) {
      case net::Stream::ReadStatus::kData:
        if (request_done_) {
          upstream_timer_.Arm(ctx_->loop->timers(), timeouts().upstream_response_ms);
        }
        continue;
      case net::Stream::ReadStatus::kWouldBlock:
        return;
      case net::Stream::ReadStatus::kFull:
        // Only a head can fill the buffer without being consumed, and the codec limits fit.
        AnswerUpstreamFailure(502);
        return;
      case net::Stream::ReadStatus::kEof:
      case net::Stream::ReadStatus::kError:
        UpstreamEof();
        return;
    }
  }
}

bool ClientSession::ProcessUpstreamInput() {
  UpstreamConn* conn = upstream_;
  while (phase_ == Phase::kExchange && !response_head_done_) {
    http::ParseState st = response_parser_.Parse(conn->in().readable());
    if (st == http::ParseState::kNeedMore) return true;
    if (st == http::ParseState::kError) {
      AnswerUpstreamFailure(502);
      return false;
    }
    const http::ResponseHead& head = response_parser_.head();
    const size_t head_bytes = head.head_bytes;
    if (head.interim) {
      // 100 Continue and other 1xx go to an HTTP/1.1 client as they come.
      response_head_.clear();
      http::ClientResponseOptions o{client_version_, true, {}};
      if (http::AppendClientResponseHead(head, o, &response_head_).ok()) {
        if (!WriteClient(response_head_)) return false;
      }
      conn->in().Consume(head_bytes);
      response_parser_.Reset(response_context_);
      if (conn->in().empty()) return true;
      continue;
    }
    if (!SendResponseHead(head)) return false;
    conn->in().Consume(head_bytes);
    if (phase_ == Phase::kTunnel) {
      PumpTunnel();
      return false;
    }
  }
  if (phase_ != Phase::kExchange) return false;
  http::FrameResult fr = response_body_.Consume(conn->in().readable());
  if (fr.body_bytes > 0 || response_head_unsent_) {
    std::string_view head = response_head_unsent_ ? std::string_view(response_head_) : "";
    response_head_unsent_ = false;
    if (!WriteClient(head, conn->in().readable().substr(0, fr.body_bytes))) return false;
    response_bytes_ += fr.body_bytes;
    conn->in().Consume(fr.body_bytes);
  }
  if (fr.state == http::ParseState::kComplete) {
    FinishExchange(response_parser_.head().keep_alive && conn->in().empty());
    return false;
  }
  if (fr.state == http::ParseState::kError) {
    Close();  // the client has part of a response: only closing tells it
    return false;
  }
  return true;
}

bool ClientSession::SendResponseHead(const http::ResponseHead& head) {
  response_status_ = head.status_code;
  const bool tunnel = head.framing.kind == http::BodyKind::kTunnel;
  client_keep_alive_ = request_keep_alive_ && !ctx_->draining && request_done_ &&
                       !client_eof_ && head.framing.kind != http::BodyKind::kUntilClose;
  response_head_.clear();
  http::ClientResponseOptions o{client_version_, client_keep_alive_, request_id_};
  Status s = http::AppendClientResponseHead(head, o, &response_head_);
  if (!s.ok()) {
    AnswerUpstreamFailure(502);
    return false;
  }
  if (set_cookie_ && response_head_.size() >= 2) {
    response_head_.insert(response_head_.size() - 2, "Set-Cookie: " + *set_cookie_ + "\r\n");
  }
  response_started_ = true;
  response_head_done_ = true;
  if (head.status_code >= 500) ProxyStats::Add(ctx_->stats->upstream_5xx);
  Record(head.status_code >= 500 ? health::PassiveOutcome::k5xx
                                 : health::PassiveOutcome::kResponse);
  response_bytes_ += response_head_.size();
  if (tunnel) {
    if (!WriteClient(response_head_)) return false;
    EnterTunnel();
    return true;
  }
  // Sent with the first body bytes (one send for a small response).
  response_head_unsent_ = true;
  response_body_.Reset(head.framing);
  return true;
}

void ClientSession::ReleaseUpstream(bool reusable) {
  upstream_timer_.Cancel();
  if (upstream_ == nullptr) return;
  UpstreamConn* conn = upstream_;
  upstream_ = nullptr;
  if (reusable && !ctx_->draining) {
    ctx_->pool->Release(conn, timeouts().idle_ms);
  } else {
    ctx_->pool->Discard(conn);
  }
}

void ClientSession::FinishExchange(bool upstream_reusable) {
  ReleaseUpstream(upstream_reusable && request_done_ && !upstream_eof_);
  Log(response_status_, upstream_address_);
  EndRequestSlots();
  state_.reset();
  if (!client_keep_alive_) {
    CloseGracefully();
    return;
  }
  phase_ = Phase::kReadingHead;
  ProcessClientInput();
}

// ---- tunnel ----

void ClientSession::EnterTunnel() {
  ProxyStats::Add(ctx_->stats->upgrades);
  phase_ = Phase::kTunnel;
  tunnel_client_eof_ = client_eof_;
  tunnel_upstream_eof_ = false;
  tunnel_upstream_shut_ = false;
  upstream_timer_.Cancel();
  client_timer_.Arm(ctx_->loop->timers(), timeouts().idle_ms);
  Log(response_status_, upstream_address_);
  EndRequestSlots();  // the upstream connection keeps its connection slot
}

void ClientSession::PumpTunnel() {
  const size_t limit = ctx_->limits->max_pending_write_bytes;
  bool progress = true;
  while (phase_ == Phase::kTunnel && progress) {
    progress = false;
    UpstreamConn* up = upstream_;
    // Client to upstream.
    if (!client_in_.empty()) {
      if (!up->stream().Write(client_in_.readable())) {
        Close();
        return;
      }
      client_in_.Clear();
      progress = true;
    }
    if (tunnel_client_eof_ && !tunnel_upstream_shut_) {
      tunnel_upstream_shut_ = true;  // the client's half-close, passed on after its bytes
      up->stream().ShutdownWriteWhenDrained();
    }
    if (!tunnel_client_eof_ && up->stream().pending_write_bytes() <= limit && client_.readable()) {
      net::Stream::ReadResult r = client_.ReadInto(&client_in_, ctx_->limits->max_client_buffer_bytes);
      if (r.status == net::Stream::ReadStatus::kData) {
        ProxyStats::Add(ctx_->stats->bytes_from_clients, r.bytes);
        progress = true;
      } else if (r.status == net::Stream::ReadStatus::kEof) {
        tunnel_client_eof_ = true;
        progress = true;
      } else if (r.status == net::Stream::ReadStatus::kError) {
        Close();
        return;
      }
    }
    // Upstream to client.
    if (!up->in().empty()) {
      if (!WriteClient(up->in().readable())) return;
      up->in().Clear();
      progress = true;
    }
    if (!tunnel_upstream_eof_ && client_.pending_write_bytes() <= limit && up->stream().readable()) {
      net::Stream::ReadResult r = up->stream().ReadInto(&up->in(), ctx_->limits->max_upstream_buffer_bytes);
      if (r.status == net::Stream::ReadStatus::kData) {
        progress = true;
      } else if (r.status == net::Stream::ReadStatus::kEof) {
        tunnel_upstream_eof_ = true;
        client_.ShutdownWriteWhenDrained();
      } else if (r.status == net::Stream::ReadStatus::kError) {
        Close();
        return;
      }
    }
    if (progress) client_timer_.Arm(ctx_->loop->timers(), timeouts().idle_ms);
  }
  if (phase_ == Phase::kTunnel && tunnel_client_eof_ && tunnel_upstream_eof_ &&
      client_.pending_write_bytes() == 0) {
    Close();
  }
}

// ---- answers and endings ----

bool ClientSession::WriteClient(std::string_view a, std::string_view b) {
  if (client_.Write(a, b)) {
    ProxyStats::Add(ctx_->stats->bytes_to_clients, a.size() + b.size());
    return true;
  }
  Close();
  return false;
}

void ClientSession::AnswerLocally(int status, std::string_view body, uint32_t retry_after_s,
                                  bool keep_alive, std::string_view extra_field) {
  ProxyStats::Add(ctx_->stats->local_answers);
  const bool keep = keep_alive && request_keep_alive_ && !ctx_->draining && !client_eof_;
  if (request_id_.empty()) ctx_->NextRequestId(&request_id_);
  response_head_.clear();
  AppendLocalAnswer(status, body, retry_after_s, keep, request_id_, &response_head_, extra_field);
  response_status_ = status;
  response_bytes_ = response_head_.size();
  if (!WriteClient(response_head_)) return;
  Log(status, "");
  request_id_.clear();
  EndRequestSlots();
  state_.reset();
  if (!keep) {
    CloseGracefully();
    return;
  }
  head_timer_armed_ = false;
  if (phase_ == Phase::kReadingHead) {
    // Answered from HandleHead: the parser holds the head; drop it, the caller goes on.
    client_in_.Consume(request_parser_.head().head_bytes);
    request_parser_.Reset();
    return;
  }
  // Answered in place of an upstream's response: the next request is read now.
  phase_ = Phase::kReadingHead;
  ProcessClientInput();
}

void ClientSession::Log(int status, std::string_view upstream) {
  ctx_->stats->CountStatus(status);
  if (!ctx_->access_log->enabled()) return;
  AccessRecord r;
  r.client = client_address_;
  r.method = log_method_;
  r.target = log_target_;
  r.status = status;
  r.bytes_in = request_bytes_;
  r.bytes_out = response_bytes_;
  r.upstream = upstream;
  r.duration_us = net::MonotonicUs() - exchange_start_us_;
  r.request_id = request_id_;
  ctx_->access_log->Write(r);
}

void ClientSession::CloseGracefully() {
  if (phase_ == Phase::kClosed) return;
  ReleaseUpstream(false);
  phase_ = Phase::kLingering;
  client_.ShutdownWriteWhenDrained();
  client_timer_.Arm(ctx_->loop->timers(), client_.pending_write_bytes() == 0
                                              ? ctx_->limits->linger_ms
                                              : timeouts().idle_ms);
  OnStreamReadable(&client_);
}

void ClientSession::Close() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  ReleaseUpstream(false);
  client_timer_.Cancel();
  client_.Close();
  EndRequestSlots();
  state_.reset();
  ctx_->host->OnSessionClosed(this);
}

}  // namespace grid::router::proxy
