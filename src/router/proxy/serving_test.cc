// The health and protection wiring: serving state publication (table, health index and
// concurrency index together, counters carried over), the loop prober against real sockets,
// and the proxy's 429 / 503 decisions in front of a controllable backend.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "router/net/clock.h"
#include "router/net/event_loop.h"
#include "router/net/socket.h"
#include "router/proxy/probe_client.h"
#include "router/proxy/proxy_server.h"
#include "router/proxy/state_publisher.h"
#include "router/table/table_builder.h"
#include "router/table/yaml_source.h"

namespace grid::router::proxy {
namespace {

bool PollUntil(const std::function<bool()>& done, uint64_t timeout_ms = 5000) {
  const uint64_t deadline = net::MonotonicMs() + timeout_ms;
  while (!done()) {
    if (net::MonotonicMs() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::shared_ptr<const table::RouteTable> Table(const std::string& yaml, int64_t revision) {
  auto source = table::YamlToSource(yaml, "/grid/routes");
  EXPECT_TRUE(source.ok()) << source.status().ToString();
  auto table = table::BuildTable(*source, revision);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return *table;
}

std::string OneCell(const std::string& backend, const std::string& cell_extra = "",
                    const std::string& tenants = "{}") {
  return "router:\n  tenant_key_sources: [{type: header, name: X-Tenant}]\n"
         "  unknown_tenant: {cell: c1}\ncells:\n  c1:\n    backends: [{address: \"" +
         backend + "\"}]\n" + cell_extra + "tenants: " + tenants + "\n";
}

// A blocking HTTP backend: per connection, reads one head, remembers it, and answers with
// `status` — unless `silent` (reads and never answers) or the path is /hold (answers once
// Release() is called). Closes after each answer.
class ScriptedBackend {
 public:
  ScriptedBackend() {
    listener_ = net::Listen(net::ParseSocketAddress("127.0.0.1:0").value(), false).value();
    address_ = net::LocalAddress(listener_).value().ToString();
    thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~ScriptedBackend() {
    Release();
    stop_ = true;
    shutdown(listener_, SHUT_RDWR);
    thread_.join();
    for (auto& t : conns_) t.join();
    close(listener_);
  }
  const std::string& address() const { return address_; }
  void set_status(int status) { status_ = status; }
  void set_silent(bool silent) { silent_ = silent; }
  // Answers carry an X-Pad field of this many bytes.
  void set_pad_bytes(size_t n) { pad_bytes_ = n; }
  // Closes each connection after reading its request, without an answer.
  void set_drop(bool drop) { drop_ = drop; }
  // Closes each connection right after reading its head, without reading the body.
  void set_drop_before_body(bool drop) { drop_before_body_ = drop; }
  int held() const { return held_.load(); }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  // Each request as received: the head, then the body when it has one (read through its
  // Content-Length or up to a chunked body's last chunk).
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int fd = accept4(listener_, nullptr, nullptr, 0);
      if (fd < 0) continue;
      conns_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    timeval tv{0, 50000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string in;
    char buf[4096];
    while (!stop_ && in.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == 0) break;
      if (n > 0) in.append(buf, static_cast<size_t>(n));
    }
    if (const size_t head_end = in.find("\r\n\r\n"); head_end != std::string::npos) {
      const size_t want =
          drop_before_body_ ? head_end + 4 : RequestBytes(in, head_end + 4);
      while (!stop_ && (want != std::string::npos ? in.size() < want
                                                   : !in.ends_with("\r\n0\r\n\r\n"))) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) break;
        if (n > 0) in.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        heads_.push_back(in);
      }
      if (in.starts_with("GET /hold ")) {
        ++held_;
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return released_; });
      }
      if (drop_ || drop_before_body_) {
        // nothing: the connection closes unanswered
      } else if (silent_) {
        while (!stop_ && recv(fd, buf, sizeof buf, 0) != 0) {
        }
      } else {
        const std::string answer = "HTTP/1.1 " + std::to_string(status_.load()) +
                                   " X\r\nX-Pad: " + std::string(pad_bytes_.load(), 'a') +
                                   "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      }
    }
    close(fd);
  }

  // Where the request that starts `in` ends: its head plus Content-Length (0 without one),
  // or npos for a chunked body.
  static size_t RequestBytes(const std::string& in, size_t head_bytes) {
    const std::string head = in.substr(0, head_bytes);
    if (head.find("\r\nTransfer-Encoding: chunked\r\n") != std::string::npos) {
      return std::string::npos;
    }
    const size_t at = head.find("\r\nContent-Length: ");
    if (at == std::string::npos) return head_bytes;
    return head_bytes + std::stoul(head.substr(at + 18));
  }

  int listener_ = -1;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<int> status_{200};
  std::atomic<bool> silent_{false};
  std::atomic<bool> drop_{false};
  std::atomic<bool> drop_before_body_{false};
  std::atomic<size_t> pad_bytes_{0};
  std::atomic<int> held_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<std::string> heads_;
  std::thread thread_;
  std::vector<std::thread> conns_;
};

// ---- state publication ----

TEST(StatePublisherTest, PublishesTableHealthAndLimitsTogetherAndCarriesCounters) {
  TableHolder holder;
  ProcessProtection protection;
  StatePublisher publisher(&holder, &protection, 1);
  ASSERT_TRUE(publisher.Start().ok());
  auto first = Table(OneCell("127.0.0.1:1"), 1);
  publisher.Publish(first);
  std::shared_ptr<const ServingState> s1 = holder.Get();
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->table, first);
  EXPECT_EQ(&s1->health->route_table(), first.get());
  const table::CellRoute* c1 = first->FindCell("c1");
  ASSERT_NE(s1->health->Find(c1->group(0)), nullptr);
  ASSERT_NE(s1->limits->Find(*c1), nullptr);
  EXPECT_EQ(publisher.swaps(), 1u);
  EXPECT_EQ(publisher.revision(), 1);

  // A slot taken under the first state still counts under the second (same cell name and
  // backend address), and is given back into the counters both share.
  protect::Slot pending = s1->limits->Find(*c1)->TryAcquire(protect::SlotKind::kPendingRequest, 0, 0);
  ASSERT_TRUE(pending);
  const std::string changed = OneCell("127.0.0.1:1", "    limits: {max_pending_requests: 7}\n");
  auto second = Table(changed, 2);
  publisher.Publish(second);
  std::shared_ptr<const ServingState> s2 = holder.Get();
  EXPECT_EQ(s2->table, second);
  EXPECT_EQ(&s2->health->route_table(), second.get());
  const protect::ConcurrencyLimit* l2 = s2->limits->Find(*second->FindCell("c1"));
  ASSERT_NE(l2, nullptr);
  EXPECT_EQ(l2->caps().max_pending_requests, 7u);
  EXPECT_EQ(l2->cell_pending(), 1u);
  pending.Release();
  EXPECT_EQ(l2->cell_pending(), 0u);
  EXPECT_EQ(publisher.swaps(), 2u);
  EXPECT_EQ(publisher.revision(), 2);
  publisher.Stop();
}

TEST(StatePublisherTest, ReconfiguresTheRetryBudgetFromTheRouterSettings) {
  TableHolder holder;
  ProcessProtection protection;
  StatePublisher publisher(&holder, &protection, 1);  // not started: publishes on the caller
  std::string yaml = OneCell("127.0.0.1:1");
  yaml.replace(yaml.find("cells:"), 0,
               "  retry_budget: {percent: 10, min_retries_per_s: 0, max_retries_per_request: 3}\n");
  publisher.Publish(Table(yaml, 5));
  EXPECT_EQ(protection.retry_budget.max_retries_per_request(), 3u);
  EXPECT_EQ(publisher.revision(), 5);
}

TEST(StatePublisherTest, ActiveChecksTakeAFailingBackendOutAfterTheThreshold) {
  ScriptedBackend backend;
  backend.set_status(500);
  TableHolder holder;
  ProcessProtection protection;
  StatePublisher publisher(&holder, &protection, 7);
  ASSERT_TRUE(publisher.Start().ok());
  publisher.Publish(Table(OneCell(backend.address(),
                                  "    health_check: {type: http, path: /hz, interval_ms: 100, "
                                  "timeout_ms: 100, unhealthy_threshold: 2, healthy_threshold: 1}\n"),
                          1));
  std::shared_ptr<const ServingState> s = holder.Get();
  const health::GroupHealth* gh = s->health->Find(s->table->FindCell("c1")->group(0));
  ASSERT_NE(gh, nullptr);
  ASSERT_TRUE(PollUntil([&] { return !gh->table().ActiveHealthy(0); }));
  EXPECT_GE(publisher.probes_started(), 2u);
  backend.set_status(200);
  ASSERT_TRUE(PollUntil([&] { return gh->table().ActiveHealthy(0); }));
  publisher.Stop();
}

TEST(StatePublisherTest, ABackendNameThatMovesIsFollowedByProbesAndNewConnections) {
  ScriptedBackend old_home;
  old_home.set_status(500);
  ScriptedBackend new_home;
  new_home.set_status(200);
  std::mutex mu;
  std::string target = old_home.address();
  PublisherOptions options;
  options.dns_refresh_ms = 20;
  options.resolve = [&](std::string_view text) -> Result<net::SocketAddress> {
    std::lock_guard<std::mutex> lock(mu);
    if (text != "backend.test:80") return Unavailable("unexpected name");
    return net::ParseSocketAddress(target);
  };
  TableHolder holder;
  ProcessProtection protection;
  StatePublisher publisher(&holder, &protection, 3, options);
  ASSERT_TRUE(publisher.Start().ok());
  publisher.Publish(Table(OneCell("backend.test:80",
                                  "    health_check: {type: http, path: /hz, interval_ms: 100, "
                                  "timeout_ms: 100, unhealthy_threshold: 1, healthy_threshold: 1}\n"),
                          1));
  std::shared_ptr<const ServingState> first = holder.Get();
  EXPECT_EQ(first->addresses->Find("backend.test:80")->value().ToString(), old_home.address());
  const health::GroupHealth* gh = first->health->Find(first->table->FindCell("c1")->group(0));
  ASSERT_NE(gh, nullptr);
  ASSERT_TRUE(PollUntil([&] { return !old_home.heads().empty() && !gh->table().ActiveHealthy(0); }));
  EXPECT_TRUE(new_home.heads().empty());
  ASSERT_TRUE(PollUntil([&] { return publisher.dns_refreshes() >= 2; }));
  EXPECT_EQ(publisher.dns_changes(), 0u);
  EXPECT_EQ(holder.Get(), first);  // an unchanged answer publishes nothing

  {
    std::lock_guard<std::mutex> lock(mu);
    target = new_home.address();
  }
  ASSERT_TRUE(PollUntil([&] { return publisher.dns_changes() == 1; }));
  std::shared_ptr<const ServingState> moved = holder.Get();
  EXPECT_EQ(moved->table, first->table);  // same table, health and caps
  EXPECT_EQ(moved->health, first->health);
  EXPECT_EQ(moved->limits, first->limits);
  EXPECT_EQ(moved->addresses->Find("backend.test:80")->value().ToString(), new_home.address());
  ASSERT_TRUE(PollUntil([&] { return gh->table().ActiveHealthy(0); }));
  EXPECT_FALSE(new_home.heads().empty());
  publisher.Stop();
}

// ---- the prober ----

class ProberTest : public ::testing::Test {
 protected:
  std::optional<health::ProbeResult> Run(const std::string& backend, health::ProbeKind kind,
                                         std::chrono::milliseconds timeout) {
    LoopProber prober(&loop_);
    std::optional<health::ProbeResult> result;
    int calls = 0;
    prober.Probe(backend, kind, kind == health::ProbeKind::kHttp ? "/health" : "", timeout,
                 [&](const health::ProbeResult& r) {
                   result = r;
                   ++calls;
                 });
    const uint64_t deadline = net::MonotonicMs() + 5000;
    while (!result && net::MonotonicMs() < deadline) loop_.RunOnce(5);
    loop_.RunOnce(0);  // deferred deletion
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(prober.in_flight(), 0u);
    return result;
  }

  static std::string ClosedPort() {
    const int fd = net::Listen(net::ParseSocketAddress("127.0.0.1:0").value(), false).value();
    const std::string address = net::LocalAddress(fd).value().ToString();
    close(fd);
    return address;
  }

  net::EventLoop loop_;
};

TEST_F(ProberTest, TcpConnectsToAListeningSocket) {
  const int fd = net::Listen(net::ParseSocketAddress("127.0.0.1:0").value(), false).value();
  auto r = Run(net::LocalAddress(fd).value().ToString(), health::ProbeKind::kTcp,
               std::chrono::milliseconds(1000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, health::ProbeOutcome::kOk);
  close(fd);
}

TEST_F(ProberTest, TcpToAClosedPortFailsToConnect) {
  auto r = Run(ClosedPort(), health::ProbeKind::kTcp, std::chrono::milliseconds(1000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, health::ProbeOutcome::kConnectFailed);
  r = Run(ClosedPort(), health::ProbeKind::kHttp, std::chrono::milliseconds(1000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, health::ProbeOutcome::kConnectFailed);
}

TEST_F(ProberTest, HttpReadsTheStatusAndSendsAClosingGet) {
  ScriptedBackend backend;
  auto r = Run(backend.address(), health::ProbeKind::kHttp, std::chrono::milliseconds(2000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, health::ProbeOutcome::kOk);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(backend.heads().size(), 1u);
  const std::string head = backend.heads()[0];
  EXPECT_TRUE(head.starts_with("GET /health HTTP/1.1\r\n")) << head;
  EXPECT_NE(head.find("\r\nHost: " + backend.address() + "\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos) << head;

  backend.set_status(500);
  r = Run(backend.address(), health::ProbeKind::kHttp, std::chrono::milliseconds(2000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, health::ProbeOutcome::kOk);
  EXPECT_EQ(r->status, 500);
}

TEST_F(ProberTest, ASilentBackendTimesOut) {
  ScriptedBackend backend;
  backend.set_silent(true);
  const uint64_t start = net::MonotonicMs();
  auto r = Run(backend.address(), health::ProbeKind::kHttp, std::chrono::milliseconds(100));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, health::ProbeOutcome::kTimedOut);
  std::printf("silent backend: timed out after %llu ms (timeout 100 ms)\n",
              static_cast<unsigned long long>(net::MonotonicMs() - start));
}

TEST_F(ProberTest, AResponseHeadIsReadUpToTheProbeLimit) {
  ScriptedBackend backend;
  // "HTTP/1.1 200 X\r\nX-Pad: " is 24 bytes; the rest of the head 40 more: well inside.
  backend.set_pad_bytes(kMaxProbeResponseBytes - 200);
  auto r = Run(backend.address(), health::ProbeKind::kHttp, std::chrono::milliseconds(2000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, health::ProbeOutcome::kOk);
  EXPECT_EQ(r->status, 200);
  // A head that does not fit (the codec would take up to 32 KiB) is an error, not a status.
  backend.set_pad_bytes(kMaxProbeResponseBytes);
  r = Run(backend.address(), health::ProbeKind::kHttp, std::chrono::milliseconds(2000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, health::ProbeOutcome::kError);
}

// ---- 429 and 503 decisions ----

class AdmissionTest : public ::testing::Test {
 protected:
  // `published`: through a StatePublisher (not started: on this thread), which also
  // reconfigures the retry budget; else straight into the holder.
  void Start(const std::string& yaml, bool published = false, ProxyLimits limits = {}) {
    if (published) {
      publisher_ = std::make_unique<StatePublisher>(&tables_, &protection_, 1);
      publisher_->Publish(Table(yaml, 1));
    } else {
      tables_.Set(Table(yaml, 1));
    }
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.limits = limits;
    server_ = std::make_unique<ProxyServer>(options, &tables_, &protection_, &log_);
    ASSERT_TRUE(server_->Start().ok());
  }

  // Sends one request on a new connection; returns the response head and body (until close)
  // or, with `wait` false, the connected socket for Finish().
  int Send(const std::string& path, const std::string& tenant, const std::string& method = "GET") {
    const std::string body = method == "POST" ? "x" : "";
    return SendRaw(method + " " + path + " HTTP/1.1\r\nHost: x\r\nX-Tenant: " + tenant +
                   "\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\nConnection: close\r\n\r\n" + body);
  }
  int SendRaw(const std::string& req) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const net::SocketAddress& a = server_->address();
    EXPECT_EQ(connect(fd, a.get(), a.length), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_EQ(send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    return fd;
  }
  static std::string Put(const std::string& body) {
    return "PUT /doc HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body;
  }
  static std::string Finish(int fd) {
    std::string out;
    char buf[4096];
    while (true) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return out;
  }
  std::string Get(const std::string& path, const std::string& tenant = "acme") {
    return Finish(Send(path, tenant));
  }
  uint64_t Stat(std::string_view name) {
    for (const auto& [n, v] : server_->StatsSums()) {
      if (n == name) return v;
    }
    return ~uint64_t{0};
  }

  ScriptedBackend backend_;
  TableHolder tables_;
  ProcessProtection protection_;
  std::unique_ptr<StatePublisher> publisher_;
  AccessLog log_;
  std::unique_ptr<ProxyServer> server_;
};

TEST_F(AdmissionTest, RateLimitAllowsTheBurstThenAnswers429WithRetryAfter) {
  Start(OneCell(backend_.address(), "", "{acme: {cell: c1, rate_limit: {rps: 1, burst: 3}}}"));
  for (int i = 0; i < 3; ++i) {
    const std::string r = Get("/");
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 ")) << i << r;
  }
  const std::string refused = Get("/");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 429 ")) << refused;
  EXPECT_NE(refused.find("\r\nRetry-After: 1\r\n"), std::string::npos) << refused;
  EXPECT_NE(refused.find("\r\nX-Grid-Refused: rate-limit\r\n"), std::string::npos) << refused;
  EXPECT_EQ(backend_.heads().size(), 3u);  // the refused request cost the backend nothing
  EXPECT_EQ(Stat("refused_rate_limit"), 1u);
  // Another tenant (no limit) is not affected.
  EXPECT_TRUE(Get("/", "other").starts_with("HTTP/1.1 200 "));
}

TEST_F(AdmissionTest, BackendPendingCapAnswers503NamingIt) {
  Start(OneCell(backend_.address(), "    limits: {max_pending_requests_per_backend: 1}\n"));
  const int held = Send("/hold", "acme");
  ASSERT_TRUE(PollUntil([&] { return backend_.held() == 1; }));
  const std::string refused = Get("/");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 503 ")) << refused;
  EXPECT_NE(refused.find("\r\nX-Grid-Refused: backend-pending\r\n"), std::string::npos) << refused;
  EXPECT_NE(refused.find("\r\nRetry-After: 1\r\n"), std::string::npos) << refused;
  EXPECT_EQ(Stat("refused_backend_pending"), 1u);
  backend_.Release();
  EXPECT_TRUE(Finish(held).starts_with("HTTP/1.1 200 "));
  // The slot came back: the next request passes.
  EXPECT_TRUE(Get("/").starts_with("HTTP/1.1 200 "));
}

TEST_F(AdmissionTest, CellConnectionCapAnswers503NamingIt) {
  Start(OneCell(backend_.address(), "    limits: {max_connections: 1}\n"));
  const int held = Send("/hold", "acme");
  ASSERT_TRUE(PollUntil([&] { return backend_.held() == 1; }));
  const std::string refused = Get("/");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 503 ")) << refused;
  EXPECT_NE(refused.find("\r\nX-Grid-Refused: cell-connections\r\n"), std::string::npos)
      << refused;
  EXPECT_EQ(Stat("refused_cell_connections"), 1u);
  backend_.Release();
  EXPECT_TRUE(Finish(held).starts_with("HTTP/1.1 200 "));
  // The backend closed that connection (Connection: close): its slot is free again.
  ASSERT_TRUE(PollUntil([&] {
    const auto s = tables_.Get();
    return s->limits->Find(*s->table->FindCell("c1"))->cell_connections() == 0;
  }));
  EXPECT_TRUE(Get("/").starts_with("HTTP/1.1 200 "));
}

TEST_F(AdmissionTest, ZeroPendingCapRefusesEveryRequest) {
  Start(OneCell(backend_.address(), "    limits: {max_pending_requests: 0}\n"));
  const std::string refused = Get("/");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 503 ")) << refused;
  EXPECT_NE(refused.find("\r\nX-Grid-Refused: cell-pending\r\n"), std::string::npos) << refused;
  EXPECT_TRUE(backend_.heads().empty());
}

TEST_F(AdmissionTest, OutlierEjectionAfterExactlyConsecutive5xxMovesRequestsToTheOtherBackend) {
  ScriptedBackend healthy;
  const std::string yaml =
      "router:\n  tenant_key_sources: [{type: header, name: X-Tenant}]\n"
      "  unknown_tenant: {cell: c1}\ncells:\n  c1:\n    backends: [{address: \"" +
      backend_.address() + "\"}, {address: \"" + healthy.address() +
      "\"}]\n    policy: round_robin\n"
      "    outlier_detection: {consecutive_connect_failures: 0, consecutive_5xx: 2, "
      "base_ejection_ms: 60000, max_ejected_percent: 50}\ntenants: {}\n";
  backend_.set_status(500);
  Start(yaml);
  int errors = 0;
  for (int i = 0; i < 8; ++i) {
    if (Get("/").starts_with("HTTP/1.1 500 ")) ++errors;
  }
  EXPECT_EQ(errors, 2);  // then ejected: every later request goes to the healthy backend
  EXPECT_EQ(Stat("outlier_ejections"), 1u);
}

std::string TwoBackends(const std::string& a, const std::string& b,
                        const std::string& router_extra = "") {
  return "router:\n  tenant_key_sources: [{type: header, name: X-Tenant}]\n"
         "  unknown_tenant: {cell: c1}\n" + router_extra + "cells:\n  c1:\n    backends: [{address: \"" +
         a + "\"}, {address: \"" + b + "\"}]\ntenants: {}\n";
}

TEST_F(AdmissionTest, AnIdempotentRequestTheBackendDroppedIsRetriedElsewhere) {
  ScriptedBackend good;
  backend_.set_drop(true);
  Start(TwoBackends(backend_.address(), good.address()));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(Get("/").starts_with("HTTP/1.1 200 ")) << i;
  EXPECT_EQ(backend_.heads().size(), 2u);  // round robin: every other first attempt
  EXPECT_EQ(Stat("retries"), 2u);
  EXPECT_EQ(Stat("retries_refused"), 0u);
}

TEST_F(AdmissionTest, APostTheBackendMayHaveSeenIsNotRetried) {
  ScriptedBackend good;
  backend_.set_drop(true);
  Start(TwoBackends(backend_.address(), good.address()));
  int bad_gateway = 0;
  for (int i = 0; i < 4; ++i) {
    if (Finish(Send("/", "acme", "POST")).starts_with("HTTP/1.1 502 ")) ++bad_gateway;
  }
  EXPECT_EQ(bad_gateway, 2);
  EXPECT_EQ(Stat("retries"), 0u);
}

constexpr size_t kTestReplayLimit = 64;

ProxyLimits SmallReplayLimit() {
  ProxyLimits limits;
  limits.max_replay_body_bytes = kTestReplayLimit;
  return limits;
}

// Round robin starts at the dropping backend: the first request is its, the second the good
// one's, so two requests give one retry when the body was kept.
TEST_F(AdmissionTest, APutWhoseBodyIsAtTheReplayLimitIsSentWholeToTheOtherBackend) {
  ScriptedBackend good;
  backend_.set_drop(true);
  Start(TwoBackends(backend_.address(), good.address()), false, SmallReplayLimit());
  const std::string body(kTestReplayLimit, 'b');
  for (int i = 0; i < 2; ++i) {
    const std::string r = Finish(SendRaw(Put(body)));
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 ")) << i << r;
  }
  EXPECT_EQ(Stat("retries"), 1u);
  ASSERT_EQ(backend_.heads().size(), 1u);
  EXPECT_TRUE(backend_.heads()[0].ends_with("\r\n\r\n" + body));
  ASSERT_EQ(good.heads().size(), 2u);
  for (const std::string& request : good.heads()) {
    EXPECT_TRUE(request.starts_with("PUT /doc HTTP/1.1\r\n")) << request;
    EXPECT_TRUE(request.ends_with("\r\n\r\n" + body)) << request;  // once, whole
  }
}

TEST_F(AdmissionTest, AChunkedPutIsReplayedWithItsFramingUnchanged) {
  ScriptedBackend good;
  backend_.set_drop(true);
  Start(TwoBackends(backend_.address(), good.address()), false, SmallReplayLimit());
  const std::string chunked = "5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n";
  const std::string req =
      "PUT /doc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      chunked;
  for (int i = 0; i < 2; ++i) {
    const std::string r = Finish(SendRaw(req));
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 ")) << i << r;
  }
  EXPECT_EQ(Stat("retries"), 1u);
  ASSERT_EQ(good.heads().size(), 2u);
  for (const std::string& request : good.heads()) {
    EXPECT_TRUE(request.ends_with("\r\n\r\n" + chunked)) << request;
  }
}

TEST_F(AdmissionTest, APutWhoseBackendFailsMidBodyGoesOnAtTheOtherBackend) {
  ScriptedBackend good;
  backend_.set_drop_before_body(true);
  // Smooth round robin with equal weights picks the first backend first: the dropper.
  Start(TwoBackends(backend_.address(), good.address()), false, SmallReplayLimit());
  const std::string first(10, 'a');
  const std::string rest(10, 'z');
  const int fd = SendRaw(
      "PUT /doc HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\nConnection: close\r\n\r\n" +
      first);
  // The dropper closed after the head; the retry is under way with half the body sent.
  ASSERT_TRUE(PollUntil([&] { return backend_.heads().size() == 1 && Stat("retries") == 1u; }));
  EXPECT_TRUE(good.heads().empty());  // it waits for the rest of the body
  ASSERT_EQ(send(fd, rest.data(), rest.size(), 0), static_cast<ssize_t>(rest.size()));
  const std::string r = Finish(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 ")) << r;
  ASSERT_EQ(good.heads().size(), 1u);
  EXPECT_TRUE(good.heads()[0].ends_with("\r\n\r\n" + first + rest)) << good.heads()[0];
}

TEST_F(AdmissionTest, APutWhoseBodyIsOverTheReplayLimitIsNotRetried) {
  ScriptedBackend good;
  backend_.set_drop(true);
  Start(TwoBackends(backend_.address(), good.address()), false, SmallReplayLimit());
  const std::string body(kTestReplayLimit + 1, 'b');
  int bad_gateway = 0;
  for (int i = 0; i < 2; ++i) {
    if (Finish(SendRaw(Put(body))).starts_with("HTTP/1.1 502 ")) ++bad_gateway;
  }
  EXPECT_EQ(bad_gateway, 1);  // the dropped one: its body was not kept
  EXPECT_EQ(Stat("retries"), 0u);
  EXPECT_EQ(good.heads().size(), 1u);
}

TEST_F(AdmissionTest, AZeroReplayLimitKeepsNoBody) {
  ScriptedBackend good;
  backend_.set_drop(true);
  ProxyLimits limits;
  limits.max_replay_body_bytes = 0;
  Start(TwoBackends(backend_.address(), good.address()), false, limits);
  EXPECT_TRUE(Finish(SendRaw(Put("x"))).starts_with("HTTP/1.1 502 "));
  EXPECT_EQ(Stat("retries"), 0u);
  // Body-less idempotent requests are still retried: one of the next two meets the dropper.
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(Get("/").starts_with("HTTP/1.1 200 ")) << i;
  EXPECT_EQ(Stat("retries"), 1u);
}

TEST_F(AdmissionTest, AnEmptyRetryBudgetRefusesTheRetry) {
  ScriptedBackend good;
  backend_.set_drop(true);
  Start(TwoBackends(backend_.address(), good.address(),
                    "  retry_budget: {percent: 0, min_retries_per_s: 0, max_retries_per_request: 1}\n"),
        true);
  int bad_gateway = 0;
  for (int i = 0; i < 4; ++i) {
    if (Get("/").starts_with("HTTP/1.1 502 ")) ++bad_gateway;
  }
  EXPECT_EQ(bad_gateway, 2);
  EXPECT_EQ(Stat("retries"), 0u);
  EXPECT_EQ(Stat("retries_refused"), 2u);
}

}  // namespace
}  // namespace grid::router::proxy
