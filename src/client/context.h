// Context: the cancellation signal and deadline of one blocking client call (Mutex::Lock,
// Election::Campaign, Election::Observe, ...), in the spirit of Go's context.Context.
//
// Thread-safety: a Context is copied by value; Done()/Err() may be called from any thread.
// Cancellation comes from a std::stop_token, a deadline, or a caller-supplied predicate
// (e.g. grpc::ServerContext::IsCancelled); blocking waits poll Done() every
// kContextPollInterval, so a cancellation is noticed within that interval.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>

#include "common/status.h"

namespace grid::client {

inline constexpr std::chrono::milliseconds kContextPollInterval{20};

// Messages of Go's context errors, which etcd's servers and clients report.
inline constexpr char kContextCanceledMessage[] = "context canceled";
inline constexpr char kContextDeadlineMessage[] = "context deadline exceeded";

class Context {
 public:
  using Clock = std::chrono::steady_clock;

  // Never cancelled, no deadline.
  Context() = default;

  Context WithStop(std::stop_token stop) const;
  Context WithDeadline(Clock::time_point deadline) const;
  Context WithTimeout(Clock::duration timeout) const { return WithDeadline(Clock::now() + timeout); }
  // `cancelled` must be cheap and thread-safe; it is polled.
  Context WithCancelPredicate(std::function<bool()> cancelled) const;

  const std::optional<Clock::time_point>& deadline() const { return deadline_; }

  bool Done() const;
  // OK while !Done(); else kCancelled "context canceled" or kDeadlineExceeded
  // "context deadline exceeded".
  Status Err() const;

 private:
  std::stop_token stop_;
  std::optional<Clock::time_point> deadline_;
  std::function<bool()> cancelled_;
};

}  // namespace grid::client
