// The probe interface the proxy implements: it opens a connection to a backend (and for HTTP
// checks sends `GET <path>` and reads the status line) and reports what happened. The checker
// logic (HealthChecker) decides what counts as success, so it is tested with a fake prober.
#pragma once

#include <chrono>
#include <functional>
#include <string_view>

#include "router/health/limits.h"

namespace grid::router::health {

enum class ProbeKind { kTcp, kHttp };

enum class ProbeOutcome {
  kOk,             // kTcp: connected. kHttp: a response status line was read (see status).
  kConnectFailed,  // refused, unreachable, name not resolved
  kTimedOut,       // no result (connection or status line) within the timeout
  kError,          // anything else: reset, malformed response
};

struct ProbeResult {
  ProbeOutcome outcome = ProbeOutcome::kError;
  int status = 0;         // kHttp and kOk: the response status code; otherwise 0
  TimePoint finished_at;  // when the prober saw the result (the loop's clock)
};

// Called once per probe with its result.
using ProbeDone = std::function<void(const ProbeResult&)>;

class Prober {
 public:
  virtual ~Prober() = default;

  // Starts one probe of `backend` ("host:port", a DNS name is resolved by the prober). `path`
  // is the HTTP request target (empty for kTcp). The prober must call `done` exactly once, on
  // the thread that drives the checker that called Probe (its loop), with kTimedOut at the
  // latest `timeout` after the call. It may call `done` before Probe returns. The string views
  // are valid only during the call. `done` stays safe to call after the checker is gone (it
  // then does nothing), so the prober never needs to cancel.
  virtual void Probe(std::string_view backend, ProbeKind kind, std::string_view path,
                     std::chrono::milliseconds timeout, ProbeDone done) = 0;
};

}  // namespace grid::router::health
