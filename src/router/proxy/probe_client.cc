#include "router/proxy/probe_client.h"

#include <algorithm>
#include <cerrno>
#include <optional>

#include "router/http/response_parser.h"
#include "router/net/clock.h"
#include "router/net/io_buffer.h"
#include "router/net/socket.h"
#include "router/net/stream.h"
#include "router/net/timer_wheel.h"

namespace grid::router::proxy {

class LoopProber::Attempt : public net::StreamOwner, public net::Deferred {
 public:
  Attempt(LoopProber* prober, health::ProbeKind kind, health::ProbeDone done)
      : prober_(prober), kind_(kind), done_(std::move(done)), timer_([this] {
          Finish(health::ProbeOutcome::kTimedOut, 0);
        }) {}
  ~Attempt() override {
    timer_.Cancel();
    if (stream_) stream_->Close();
  }

  // Starts the attempt; may finish it at once.
  void Start(std::string_view backend, std::string_view path, std::chrono::milliseconds timeout) {
    if (kind_ == health::ProbeKind::kHttp) {
      request_.reserve(path.size() + backend.size() + 80);
      request_.append("GET ").append(path.empty() ? "/" : path).append(" HTTP/1.1\r\nHost: ");
      request_.append(backend).append(
          "\r\nUser-Agent: gridrouter-health\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    }
    const Result<net::SocketAddress>* known =
        prober_->addresses_ ? prober_->addresses_->Find(backend) : nullptr;
    Result<net::SocketAddress> address =
        known != nullptr ? *known : net::ResolveSocketAddress(backend);
    if (!address.ok()) {
      Finish(health::ProbeOutcome::kConnectFailed, 0);
      return;
    }
    Result<int> fd = net::StartConnect(*address);
    if (!fd.ok()) {
      Finish(health::ProbeOutcome::kConnectFailed, 0);
      return;
    }
    stream_.emplace(prober_->loop_, *fd, this, true);
    if (!stream_->Register().ok()) {
      Finish(health::ProbeOutcome::kError, 0);
      return;
    }
    // The wheel's time is the loop iteration's; measure from now so the probe gets its whole
    // timeout even when started late in an iteration.
    net::TimerWheel* wheel = prober_->loop_->timers();
    const uint64_t deadline_ms =
        net::MonotonicMs() + static_cast<uint64_t>(std::max<int64_t>(timeout.count(), 1));
    timer_.Arm(wheel, deadline_ms > wheel->now_ms() ? deadline_ms - wheel->now_ms() : 1);
  }

  void OnStreamConnected(net::Stream*, int error) override {
    if (finished_) return;
    if (error != 0) {
      Finish(health::ProbeOutcome::kConnectFailed, 0);
      return;
    }
    if (kind_ == health::ProbeKind::kTcp) {
      Finish(health::ProbeOutcome::kOk, 0);
      return;
    }
    if (!stream_->Write(request_)) Finish(health::ProbeOutcome::kError, 0);
  }

  void OnStreamReadable(net::Stream*) override {
    while (!finished_ && kind_ == health::ProbeKind::kHttp && !stream_->connecting()) {
      net::Stream::ReadResult r = stream_->ReadInto(&in_, kMaxProbeResponseBytes);
      if (r.status == net::Stream::ReadStatus::kWouldBlock) return;
      if (r.status != net::Stream::ReadStatus::kData) {
        // EOF, an error, or a head larger than the probe reads: no status line to report.
        Finish(health::ProbeOutcome::kError, 0);
        return;
      }
      ParseResponse();
    }
  }

  void OnStreamDrained(net::Stream*) override {}

 private:
  void ParseResponse() {
    while (!finished_) {
      http::ParseState st = parser_.Parse(in_.readable());
      if (st == http::ParseState::kNeedMore) return;
      if (st == http::ParseState::kError) {
        Finish(health::ProbeOutcome::kError, 0);
        return;
      }
      const http::ResponseHead& head = parser_.head();
      if (!head.interim) {
        Finish(health::ProbeOutcome::kOk, head.status_code);
        return;
      }
      in_.Consume(head.head_bytes);
      parser_.Reset();
    }
  }

  void Finish(health::ProbeOutcome outcome, int status) {
    if (finished_) return;
    finished_ = true;
    timer_.Cancel();
    if (stream_) stream_->Close();
    health::ProbeResult result;
    result.outcome = outcome;
    result.status = status;
    result.finished_at = std::chrono::steady_clock::now();
    health::ProbeDone done = std::move(done_);
    prober_->Finished(this);  // deletion deferred to the end of the loop iteration
    done(result);
  }

  LoopProber* prober_;
  const health::ProbeKind kind_;
  health::ProbeDone done_;
  net::Timer timer_;
  std::optional<net::Stream> stream_;
  std::string request_;
  net::IoBuffer in_;
  http::ResponseParser parser_;
  bool finished_ = false;
};

LoopProber::LoopProber(net::EventLoop* loop) : loop_(loop) {}

LoopProber::~LoopProber() = default;

void LoopProber::Probe(std::string_view backend, health::ProbeKind kind, std::string_view path,
                       std::chrono::milliseconds timeout, health::ProbeDone done) {
  ++started_;
  auto attempt = std::make_unique<Attempt>(this, kind, std::move(done));
  Attempt* raw = attempt.get();
  probes_.emplace(raw, std::move(attempt));
  raw->Start(backend, path, timeout);
}

void LoopProber::Finished(Attempt* attempt) {
  auto it = probes_.find(attempt);
  if (it == probes_.end()) return;
  loop_->DeleteLater(std::move(it->second));
  probes_.erase(it);
}

}  // namespace grid::router::proxy
