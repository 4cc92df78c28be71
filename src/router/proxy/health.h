// The seam to the health and outlier state: which backends may take requests, and the
// outcomes the proxy observes. The default says every backend is available and ignores
// outcomes; the health module provides the real one. Called from every loop thread: an
// implementation must be thread-safe and cheap (it is asked per backend per request).
#pragma once

#include <string_view>

namespace grid::router::proxy {

enum class UpstreamOutcome {
  kConnectFailure,   // refused, unreachable or timed out
  kResponse5xx,
  kResponseOk,       // any other status
  kResponseTimeout,  // no response within the upstream response timeout
};

class BackendHealth {
 public:
  virtual ~BackendHealth() = default;
  virtual bool Available(std::string_view cell, std::string_view address) const = 0;
  virtual void Report(std::string_view cell, std::string_view address, UpstreamOutcome outcome) {
  }
};

class AlwaysHealthy : public BackendHealth {
 public:
  bool Available(std::string_view, std::string_view) const override { return true; }
};

}  // namespace grid::router::proxy
