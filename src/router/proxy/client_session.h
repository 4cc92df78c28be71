// One client connection and the exchanges on it, one at a time in arrival order (pipelined
// requests wait in the input buffer). Per request: parse the head (strict; a refusal is
// answered with the codec's status and the connection closes), route it, take a pooled
// upstream connection or connect, send the rewritten head, stream the body as framed,
// parse the response head (relaying 1xx), stream the response body, then keep both sides
// when allowed. After a 101 the two connections are tunnelled byte for byte.
//
// Bodies are never buffered whole: at most one input buffer per side plus the pending
// output limit, with reading of one side stopped while the other's output is over the limit.
//
// Admission, in order: the tenant's rate limit (429 + Retry-After), the chosen backend's
// pending-request slot (cell and backend caps), and for a new upstream connection its
// connection slot (503 naming the cap in X-Grid-Refused). Outcomes go to the group's health
// (connect success or failure, 5xx, response). Failed attempts are retried on another backend
// by RetryPolicy (connect failure: any method; no response byte yet: idempotent, with no body
// or a body kept whole; never after a response byte) within max_retries_per_request and the
// retry budget. A body is kept as it is sent while it fits in max_replay_body_bytes; a retry
// sends the head and the kept bytes, then goes on with the rest. A pooled connection that
// turns out closed before any response byte is retried once on a fresh connection outside the
// budget under the same conditions (idempotent, body absent or kept). No
// backend available: the cell's fallback status with Retry-After. Upstream silence past the
// response timeout: 504 (not retried).
//
// Upstream failures, retries and refusals live in client_session_failures.cc.
//
// The loop's thread only. Deleted by its host (deferred) after it closes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "router/http/body_framer.h"
#include "router/http/request_parser.h"
#include "router/http/response_parser.h"
#include "router/net/io_buffer.h"
#include "router/net/socket.h"
#include "router/net/stream.h"
#include "router/net/timer_wheel.h"
#include "router/protect/retry_policy.h"
#include "router/proxy/loop_context.h"

namespace grid::router::proxy {

class ClientSession : public net::StreamOwner, public UpstreamUser, public net::Deferred {
 public:
  ClientSession(LoopContext* ctx, int fd, const net::SocketAddress& peer);
  ~ClientSession() override;

  [[nodiscard]] Status Start();
  // The loop drains: an idle connection closes now, a busy one after its current response.
  void Drain();
  // Closes at once (drain deadline passed).
  void Abort() { Close(); }
  bool closed() const { return phase_ == Phase::kClosed; }

  void OnStreamReadable(net::Stream* stream) override;
  void OnStreamDrained(net::Stream* stream) override;
  void OnStreamConnected(net::Stream* stream, int error) override {}

  void OnUpstreamConnected(UpstreamConn* conn, int error) override;
  void OnUpstreamReadable(UpstreamConn* conn) override;
  void OnUpstreamDrained(UpstreamConn* conn) override;

 private:
  enum class Phase : uint8_t {
    kReadingHead,  // waiting for (the rest of) a request head
    kExchange,     // a request is with an upstream
    kTunnel,       // after 101: bytes both ways
    kLingering,    // response sent, connection ending: draining client input until EOF
    kClosed,
  };

  // Client input.
  enum class ReadOutcome : uint8_t { kData, kNoMore, kFull, kEof, kError };
  ReadOutcome ReadClient();
  void ProcessClientInput();
  void ProcessClientInputLoop();
  bool HandleHead();  // false: the session left kReadingHead for good (closed or lingering)
  void ArmClientTimer();

  // Upstream.
  // Takes the pending slot of `route`'s backend and starts the attempt; false when refused
  // (answered).
  bool BeginAttempt(const RouteResult& route);
  void StartUpstream(BackendSlot* slot);
  void ConnectFailed(BackendSlot* slot, int error);
  bool RetryElsewhere(protect::FailureStage stage, BackendSlot* failed);
  void Record(health::PassiveOutcome outcome);
  void AnswerRefused(protect::Refusal refusal);
  // Gives back the request's slots (in flight, pending, retry): the exchange ended.
  void EndRequestSlots();
  // Every request byte sent so far can be sent again (none of the body was dropped).
  bool RequestReplayable() const { return !request_has_body_ || body_kept_whole_; }
  // Sends the head and the body kept so far on upstream_; false: the connection is gone.
  bool WriteRequestSoFar();
  // The head is on its way: stream the body, or start the response wait for a replay.
  void RequestSent();
  void PumpRequestBody();
  bool ProcessUpstreamInput();  // false: stop reading (exchange ended or paused)
  bool SendResponseHead(const http::ResponseHead& head);
  void UpstreamEof();
  void UpstreamTimedOut();
  void FinishExchange(bool upstream_reusable);
  void ReleaseUpstream(bool reusable);

  // Tunnel.
  void EnterTunnel();
  void PumpTunnel();

  // Answers and endings.
  void AnswerLocally(int status, std::string_view body, uint32_t retry_after_s, bool keep_alive,
                     std::string_view extra_field = {});
  void AnswerUpstreamFailure(int status, uint32_t retry_after_s = 0);
  bool WriteClient(std::string_view a, std::string_view b = {});
  void Log(int status, std::string_view upstream);
  void CloseGracefully();
  void Close();

  const table::Timeouts& timeouts() const;

  LoopContext* ctx_;
  net::Stream client_;
  std::string client_address_;  // host part, for X-Forwarded-For and logs
  net::IoBuffer client_in_;
  Phase phase_ = Phase::kReadingHead;
  bool client_eof_ = false;
  bool received_any_ = false;  // a byte came from the client on this connection
  bool head_timer_armed_ = false;
  bool processing_input_ = false;
  net::Timer client_timer_;    // idle / header read / linger
  net::Timer upstream_timer_;  // connect / upstream response
  http::RequestParser request_parser_;
  http::ResponseParser response_parser_;
  http::BodyFramer request_body_;
  http::BodyFramer response_body_;

  // The current exchange.
  std::shared_ptr<const ServingState> state_;
  const table::CellRoute* cell_ = nullptr;
  const table::BackendGroup* group_ = nullptr;
  size_t group_index_ = 0;
  size_t backend_index_ = 0;
  health::GroupHealth* group_health_ = nullptr;    // into state_
  const protect::ConcurrencyLimit* limit_ = nullptr;  // into state_
  std::optional<std::string> set_cookie_;
  UpstreamConn* upstream_ = nullptr;
  std::string_view upstream_address_;  // the backend slot's address (lives with the pool)
  bool upstream_connected_ = false;
  bool upstream_eof_ = false;
  bool client_write_paused_upstream_ = false;  // upstream reads wait for the client to drain
  std::string upstream_head_;  // kept for a retry until the exchange ends
  std::string kept_body_;      // the body bytes sent so far, while body_kept_whole_
  bool body_kept_whole_ = true;
  std::string response_head_;
  std::string request_id_;
  std::string generated_id_;  // kept to reuse its storage
  std::string log_method_;
  std::string log_target_;
  http::ResponseContext response_context_;
  http::HttpVersion client_version_ = http::HttpVersion::kHttp11;
  bool request_keep_alive_ = false;
  bool request_idempotent_ = false;
  bool request_has_body_ = false;
  bool request_done_ = false;
  bool response_started_ = false;  // a byte of the final response went to the client
  bool response_head_done_ = false;
  bool response_head_unsent_ = false;  // response_head_ waits to go out with body bytes
  bool client_keep_alive_ = false;
  bool stale_retry_used_ = false;
  uint32_t retries_used_ = 0;
  int response_status_ = 0;
  uint64_t request_bytes_ = 0;
  uint64_t response_bytes_ = 0;
  uint64_t exchange_start_us_ = 0;
  std::string_view method_name_;  // canonical ("GET") for the retry rules; empty: other
  // Declared after state_: released before the counters they point into can go.
  protect::Slot request_slot_;  // the retry budget's request in flight
  protect::Slot pending_slot_;  // the cell's pending-request cap
  protect::Slot retry_slot_;    // the retry budget's retry in flight

  // Tunnel state.
  bool tunnel_client_eof_ = false;
  bool tunnel_upstream_eof_ = false;
  bool tunnel_upstream_shut_ = false;  // the client's EOF was passed on
};

}  // namespace grid::router::proxy
