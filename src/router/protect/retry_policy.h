// Whether a failed upstream attempt may be retried, by how far it got:
// - kConnect: the connection was never made, nothing was sent: any method may be retried.
// - kRequestSent: request bytes may have reached the backend, no response byte came back:
//   only idempotent methods (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE), and
//   only when the proxy can send the body again (it kept all of it, or there is none).
// - kResponseStarted: a response byte came back: never (the backend answered; even a 5xx is
//   passed on, not retried).
// Every retry also needs the request to be under max_retries_per_request and the RetryBudget
// to admit it.
#pragma once

#include <cstdint>
#include <string_view>

#include "router/protect/limits.h"
#include "router/protect/retry_budget.h"
#include "router/protect/slot.h"

namespace grid::router::protect {

enum class FailureStage { kConnect, kRequestSent, kResponseStarted };

enum class RetryVerdict {
  kRetry,
  kResponseStarted,    // never after response bytes
  kNotIdempotent,      // request bytes sent, method not idempotent
  kBodyNotReplayable,  // request bytes sent, body no longer held
  kPerRequestLimit,    // max_retries_per_request reached
  kBudget,             // the retry budget refused
};

// Method names are case-sensitive tokens (RFC 9110 §9.1): "get" is not GET.
bool IsIdempotentMethod(std::string_view method);

// The rules above without the budget.
RetryVerdict RetryAllowedByRules(FailureStage stage, std::string_view method, bool body_replayable,
                                 uint32_t retries_done, uint32_t max_retries_per_request);

class RetryPolicy {
 public:
  // `budget` must outlive the policy.
  explicit RetryPolicy(RetryBudget& budget) : budget_(budget) {}

  struct Decision {
    RetryVerdict verdict = RetryVerdict::kBudget;
    Slot retry;  // kRetry: hold it while the retry attempt runs
  };
  // `retries_done`: retries this request has had already. Any thread.
  Decision Decide(FailureStage stage, std::string_view method, bool body_replayable,
                  uint32_t retries_done, TimePoint now);

 private:
  RetryBudget& budget_;
};

}  // namespace grid::router::protect
