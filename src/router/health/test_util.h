// Helpers shared by the health tests.
#pragma once

#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include "router/health/prober.h"

namespace grid::router::health::testing {

// A fixed origin for test clocks, far from the epoch.
inline TimePoint T0() { return TimePoint(std::chrono::hours(1000)); }

inline std::chrono::milliseconds Ms(int64_t ms) { return std::chrono::milliseconds(ms); }

// Records every probe; the test completes them with Finish.
class FakeProber final : public Prober {
 public:
  struct Call {
    std::string backend;
    ProbeKind kind;
    std::string path;
    std::chrono::milliseconds timeout;
    ProbeDone done;
  };

  void Probe(std::string_view backend, ProbeKind kind, std::string_view path,
             std::chrono::milliseconds timeout, ProbeDone done) override {
    calls.push_back({std::string(backend), kind, std::string(path), timeout, std::move(done)});
  }

  // Completes the oldest pending probe.
  Call Finish(ProbeOutcome outcome, int status, TimePoint at) {
    Call call = std::move(calls.front());
    calls.pop_front();
    call.done(ProbeResult{outcome, status, at});
    return call;
  }

  std::deque<Call> calls;
};

}  // namespace grid::router::health::testing
