#include "router/protect/retry_policy.h"

#include <utility>

namespace grid::router::protect {

bool IsIdempotentMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

RetryVerdict RetryAllowedByRules(FailureStage stage, std::string_view method, bool body_replayable,
                                 uint32_t retries_done, uint32_t max_retries_per_request) {
  switch (stage) {
    case FailureStage::kResponseStarted:
      return RetryVerdict::kResponseStarted;
    case FailureStage::kRequestSent:
      if (!IsIdempotentMethod(method)) return RetryVerdict::kNotIdempotent;
      if (!body_replayable) return RetryVerdict::kBodyNotReplayable;
      break;
    case FailureStage::kConnect:
      break;
  }
  if (retries_done >= max_retries_per_request) return RetryVerdict::kPerRequestLimit;
  return RetryVerdict::kRetry;
}

RetryPolicy::Decision RetryPolicy::Decide(FailureStage stage, std::string_view method,
                                          bool body_replayable, uint32_t retries_done,
                                          TimePoint now) {
  Decision d;
  d.verdict = RetryAllowedByRules(stage, method, body_replayable, retries_done,
                                  budget_.max_retries_per_request());
  if (d.verdict != RetryVerdict::kRetry) return d;
  d.retry = budget_.TryRetry(now);
  if (!d.retry) d.verdict = RetryVerdict::kBudget;
  return d;
}

}  // namespace grid::router::protect
