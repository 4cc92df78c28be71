// ClientSession: admission of an attempt, upstream failures, retries and refusals.
#include <cerrno>

#include "router/proxy/client_session.h"

namespace grid::router::proxy {
namespace {

// The X-Grid-Refused value naming the cap that refused.
std::string_view RefusedField(protect::Refusal refusal) {
  switch (refusal) {
    case protect::Refusal::kCellConnections: return "X-Grid-Refused: cell-connections";
    case protect::Refusal::kBackendConnections: return "X-Grid-Refused: backend-connections";
    case protect::Refusal::kCellPending: return "X-Grid-Refused: cell-pending";
    case protect::Refusal::kBackendPending: return "X-Grid-Refused: backend-pending";
    case protect::Refusal::kRetryBudget:
    case protect::Refusal::kNone: break;
  }
  return "X-Grid-Refused: unknown";
}

// Retry-After of a cap refusal: caps free up as requests finish.
constexpr uint32_t kCapRetryAfterS = 1;

}  // namespace

bool ClientSession::BeginAttempt(const RouteResult& route) {
  cell_ = route.cell;
  group_ = route.group;
  group_index_ = route.group_index;
  backend_index_ = route.backend_index;
  group_health_ = route.health;
  limit_ = route.limit;
  pending_slot_.Release();
  if (limit_ != nullptr) {
    pending_slot_ =
        limit_->TryAcquire(protect::SlotKind::kPendingRequest, group_index_, backend_index_);
    if (!pending_slot_) {
      AnswerRefused(pending_slot_.refusal());
      return false;
    }
  }
  StartUpstream(route.slot);
  return true;
}

void ClientSession::Record(health::PassiveOutcome outcome) {
  if (group_health_ == nullptr) return;
  if (group_health_->Record(backend_index_, outcome, LoopTimePoint(ctx_->loop->now_ms()))) {
    ProxyStats::Add(ctx_->stats->outlier_ejections);
  }
}

void ClientSession::AnswerRefused(protect::Refusal refusal) {
  switch (refusal) {
    case protect::Refusal::kCellConnections:
      ProxyStats::Add(ctx_->stats->refused_cell_connections);
      break;
    case protect::Refusal::kBackendConnections:
      ProxyStats::Add(ctx_->stats->refused_backend_connections);
      break;
    case protect::Refusal::kCellPending:
      ProxyStats::Add(ctx_->stats->refused_cell_pending);
      break;
    case protect::Refusal::kBackendPending:
      ProxyStats::Add(ctx_->stats->refused_backend_pending);
      break;
    case protect::Refusal::kRetryBudget:
    case protect::Refusal::kNone:
      break;
  }
  ReleaseUpstream(false);
  if (response_started_) {
    Close();
    return;
  }
  // Refused before any body byte was read: the connection stays when there is no body.
  AnswerLocally(503, "over capacity\n", kCapRetryAfterS, request_done_ || !request_has_body_,
                RefusedField(refusal));
}

void ClientSession::EndRequestSlots() {
  if (kept_body_.capacity() > 0) std::string().swap(kept_body_);  // idle connections hold none
  retry_slot_.Release();
  pending_slot_.Release();
  request_slot_.Release();
}

void ClientSession::ConnectFailed(BackendSlot* slot, int error) {
  (void)error;
  ProxyStats::Add(ctx_->stats->upstream_connect_failures);
  if (cell_ != nullptr && UsesLoopConnectSkip(*cell_)) {
    slot->ejected_until_ms = ctx_->loop->now_ms() + ctx_->limits->connect_failure_eject_ms;
  }
  Record(health::PassiveOutcome::kConnectFailure);
  if (upstream_ != nullptr) {
    ctx_->pool->Discard(upstream_);
    upstream_ = nullptr;
  }
  upstream_timer_.Cancel();
  RetryElsewhere(protect::FailureStage::kConnect, slot);
}

bool ClientSession::RetryElsewhere(protect::FailureStage stage, BackendSlot* failed) {
  retry_slot_.Release();  // the attempt that failed
  table::RequestFacts facts;
  facts.client_ip = client_address_;
  const uint64_t now_ms = ctx_->loop->now_ms();
  const bool connect_stage = stage == protect::FailureStage::kConnect;
  if (!connect_stage && protect::RetryAllowedByRules(stage, method_name_, RequestReplayable(), 0,
                                                     1) != protect::RetryVerdict::kRetry) {
    AnswerUpstreamFailure(502);  // the backend may have acted on it: not replayed
    return false;
  }
  RouteResult route = ctx_->chooser->Rechoose(*state_, *cell_, *group_, facts, failed, now_ms);
  if (!route.to_backend) {
    if (!connect_stage) {
      AnswerUpstreamFailure(502);  // the backend failed, the others are unavailable
      return false;
    }
    ProxyStats::Add(ctx_->stats->no_backend);
    AnswerUpstreamFailure(route.status, route.retry_after_s);
    return false;
  }
  protect::RetryPolicy::Decision d = ctx_->protection->retry_policy.Decide(
      stage, method_name_, RequestReplayable(), retries_used_, LoopTimePoint(now_ms));
  if (d.verdict != protect::RetryVerdict::kRetry) {
    ProxyStats::Add(ctx_->stats->retries_refused);
    AnswerUpstreamFailure(502);
    return false;
  }
  ++retries_used_;
  ProxyStats::Add(ctx_->stats->retries);
  retry_slot_ = std::move(d.retry);
  if (route.set_cookie) set_cookie_ = std::move(route.set_cookie);
  return BeginAttempt(route);
}

void ClientSession::UpstreamEof() {
  upstream_eof_ = true;
  if (response_head_done_) {
    if (response_body_.FinishAtEof() == http::ParseState::kComplete) {
      FinishExchange(false);
    } else {
      Close();
    }
    return;
  }
  // Nothing of a response yet. A pooled connection the backend had already closed is
  // retried on a fresh one when replaying is safe (a pool race, not the backend's failure:
  // not counted against the budget or the backend).
  UpstreamConn* conn = upstream_;
  if (conn != nullptr && conn->reuse_count() > 0 && conn->in().empty() && !stale_retry_used_ &&
      RequestReplayable() && request_idempotent_) {
    stale_retry_used_ = true;
    BackendSlot* slot = conn->slot();
    ctx_->pool->Discard(conn);
    upstream_ = nullptr;
    ProxyStats::Add(ctx_->stats->retries);
    StartUpstream(slot);
    return;
  }
  // The backend took the request and closed without answering: a gateway error for its
  // health, and another backend may get the request if the rules allow.
  Record(health::PassiveOutcome::k5xx);
  BackendSlot* failed = conn != nullptr ? conn->slot() : nullptr;
  ReleaseUpstream(false);
  // Mid-body too when every byte sent is kept: the retry sends them and goes on with the rest.
  // A body not kept cannot be sent again: 502 below, as RetryElsewhere's rules would answer.
  if (conn != nullptr && !response_started_ && RequestReplayable()) {
    RetryElsewhere(protect::FailureStage::kRequestSent, failed);
    return;
  }
  AnswerUpstreamFailure(502);
}

void ClientSession::UpstreamTimedOut() {
  if (phase_ != Phase::kExchange || upstream_ == nullptr) return;
  if (!upstream_connected_) {
    ConnectFailed(upstream_->slot(), ETIMEDOUT);
    return;
  }
  ProxyStats::Add(ctx_->stats->upstream_timeouts);
  Record(health::PassiveOutcome::k5xx);
  if (response_started_) {
    Close();
  } else {
    AnswerUpstreamFailure(504);
  }
}

void ClientSession::AnswerUpstreamFailure(int status, uint32_t retry_after_s) {
  ReleaseUpstream(false);
  if (response_started_) {
    Close();
    return;
  }
  std::string_view body = status == 504   ? "upstream timeout\n"
                          : status == 502 ? "bad gateway\n"
                                          : "no backend available\n";
  // A request body that was not read through ends the connection after the answer.
  AnswerLocally(status, body, retry_after_s, request_done_);
}

}  // namespace grid::router::proxy
