// health::Prober on an EventLoop: one small object per probe. A non-blocking TCP connect
// to the address the published AddressBook gives (an address the book does not hold is
// parsed, or resolved with a blocking getaddrinfo on the loop's thread, which is the health
// thread, never a proxy loop); for HTTP checks then
// "GET <path> HTTP/1.1" with Host (the backend address) and Connection: close, and the
// response's status line and head read by the codec's ResponseParser (1xx skipped). The
// result is reported once: kOk (with the status for HTTP), kConnectFailed, kTimedOut after the
// probe's timeout, or kError (reset, EOF or a malformed head). The connection is closed as
// soon as the result is known.
//
// The loop's thread only. Probes still running when the LoopProber is destroyed are dropped
// without calling `done`.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "router/health/prober.h"
#include "router/net/address_book.h"
#include "router/net/event_loop.h"

namespace grid::router::proxy {

// Bytes of response head a probe reads at most (the codec's limits apply within it).
inline constexpr size_t kMaxProbeResponseBytes = 16 * 1024;

class LoopProber : public health::Prober {
 public:
  explicit LoopProber(net::EventLoop* loop);
  ~LoopProber() override;
  LoopProber(const LoopProber&) = delete;
  LoopProber& operator=(const LoopProber&) = delete;

  void Probe(std::string_view backend, health::ProbeKind kind, std::string_view path,
             std::chrono::milliseconds timeout, health::ProbeDone done) override;

  // The book later probes take their addresses from (may be null).
  void set_addresses(std::shared_ptr<const net::AddressBook> book) { addresses_ = std::move(book); }

  size_t in_flight() const { return probes_.size(); }
  uint64_t started() const { return started_; }

 private:
  class Attempt;
  void Finished(Attempt* attempt);

  net::EventLoop* loop_;
  std::shared_ptr<const net::AddressBook> addresses_;
  std::unordered_map<Attempt*, std::unique_ptr<Attempt>> probes_;
  uint64_t started_ = 0;
};

}  // namespace grid::router::proxy
