#include "router/l4/health_checks.h"

#include <unistd.h>

#include <chrono>
#include <functional>

#include "router/net/socket.h"

namespace grid::router::l4 {

// One TCP connect probe: reports once, connected or not, within its timeout.
class HealthChecks::Probe : public net::IoHandler, public net::Deferred {
 public:
  Probe(net::EventLoop* loop, std::function<void(Probe*, bool)> done)
      : loop_(loop), done_(std::move(done)), timer_([this] { Report(false); }) {}
  ~Probe() override { CloseFd(); }

  void Start(const net::SocketAddress& address, uint32_t timeout_ms) {
    Result<int> fd = net::StartConnect(address);
    if (!fd.ok()) return Report(false);
    fd_ = *fd;
    if (!loop_->Add(fd_, this).ok()) return Report(false);
    timer_.Arm(loop_->timers(), timeout_ms);
  }

  void OnIoEvent(uint32_t events) override {
    if (fd_ < 0 || (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    Report(net::ConnectResult(fd_) == 0);
  }

 private:
  void CloseFd() {
    if (fd_ < 0) return;
    loop_->Remove(fd_);
    close(fd_);
    fd_ = -1;
  }
  void Report(bool ok) {
    if (reported_) return;
    reported_ = true;
    timer_.Cancel();
    CloseFd();
    done_(this, ok);
  }

  net::EventLoop* loop_;
  std::function<void(Probe*, bool)> done_;
  net::Timer timer_;
  int fd_ = -1;
  bool reported_ = false;
};

HealthChecks::HealthChecks(uint64_t seed) : seed_(seed), tick_timer_([this] { Tick(); }) {}

HealthChecks::~HealthChecks() { Stop(); }

Status HealthChecks::Start() {
  GRID_RETURN_IF_ERROR(loop_.init_status());
  thread_ = std::thread([this] { loop_.Run(); });
  return Status::Ok();
}

void HealthChecks::Stop() {
  if (!thread_.joinable()) return;
  loop_.Stop();
  thread_.join();
  tick_timer_.Cancel();
  probes_.clear();
  groups_.clear();
}

void HealthChecks::Apply(std::vector<std::shared_ptr<BackendSet>> sets) {
  loop_.Post([this, sets = std::move(sets)]() mutable { ApplyOnLoop(std::move(sets)); });
}

void HealthChecks::ApplyOnLoop(std::vector<std::shared_ptr<BackendSet>> sets) {
  ++generation_;  // results of probes still running for the old groups are dropped
  groups_.clear();
  const auto now = std::chrono::steady_clock::now();
  for (auto& set : sets) {
    const auto& backends = set->backends();
    if (!set->config().health_check) {
      for (const auto& b : backends) b.stats->set_health({});
      continue;
    }
    const HealthCheckConfig hc = *set->config().health_check;
    auto group = std::unique_ptr<Group>(new Group{
        set, hc,
        health::ActiveHealth(backends.size(), hc.unhealthy_threshold, hc.healthy_threshold),
        health::ProbeSchedule(backends.size(), std::chrono::milliseconds(hc.interval_ms),
                              seed_ + generation_ * 7919 + groups_.size())});
    for (size_t i = 0; i < backends.size(); ++i) {
      group->active.Set(i, backends[i].stats->health().healthy);
    }
    group->schedule.Start(now);
    groups_.push_back(std::move(group));
  }
  Tick();
}

void HealthChecks::Tick() {
  const auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> next;
  for (size_t g = 0; g < groups_.size(); ++g) {
    while (std::optional<size_t> b = groups_[g]->schedule.PopDue(now)) StartProbe(g, *b);
    const auto due = groups_[g]->schedule.NextDue();
    if (due && (!next || *due < *next)) next = due;
  }
  if (!next) {
    tick_timer_.Cancel();
    return;
  }
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  tick_timer_.Arm(loop_.timers(), static_cast<uint64_t>(wait < 1 ? 1 : wait));
}

void HealthChecks::StartProbe(size_t group, size_t backend) {
  const uint64_t generation = generation_;
  auto probe =
      std::make_unique<Probe>(&loop_, [this, generation, group, backend](Probe* p, bool ok) {
        ProbeDone(p, generation, group, backend, ok);
      });
  Probe* raw = probe.get();
  probes_.emplace(raw, std::move(probe));
  const Group& g = *groups_[group];
  raw->Start(g.set->backends()[backend].config.resolved, g.config.timeout_ms);
}

void HealthChecks::ProbeDone(Probe* probe, uint64_t generation, size_t group, size_t backend,
                             bool ok) {
  if (auto it = probes_.find(probe); it != probes_.end()) {
    loop_.DeleteLater(std::move(it->second));
    probes_.erase(it);
  }
  if (generation != generation_) return;
  Group& g = *groups_[group];
  g.active.Record(backend, ok);
  BackendStats& stats = *g.set->backends()[backend].stats;
  const uint32_t failures = ok ? 0 : stats.health().probe_failures_in_a_row + 1;
  stats.set_health({g.active.healthy(backend), failures});
  g.schedule.Done(backend, std::chrono::steady_clock::now());
  Tick();
}

}  // namespace grid::router::l4
