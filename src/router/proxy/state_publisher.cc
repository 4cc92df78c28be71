#include "router/proxy/state_publisher.h"

#include <future>

namespace grid::router::proxy {

std::shared_ptr<const ServingState> MakeServingState(std::shared_ptr<const table::RouteTable> table,
                                                     const ServingState* previous) {
  auto state = std::make_shared<ServingState>();
  state->health = health::HealthIndex::Build(table, previous ? previous->health.get() : nullptr);
  state->limits =
      protect::ConcurrencyIndex::Build(table, previous ? previous->limits.get() : nullptr);
  state->table = std::move(table);
  return state;
}

StatePublisher::StatePublisher(TableHolder* holder, ProcessProtection* protection, uint64_t seed)
    : holder_(holder),
      protection_(protection),
      prober_(&loop_),
      rearming_(this),
      monitor_(rearming_, seed),
      tick_timer_([this] { Tick(); }) {}

StatePublisher::~StatePublisher() { Stop(); }

Status StatePublisher::Start() {
  GRID_RETURN_IF_ERROR(loop_.init_status());
  thread_ = std::thread([this] { loop_.Run(); });
  return Status::Ok();
}

void StatePublisher::Stop() {
  if (!thread_.joinable()) return;
  loop_.Stop();
  thread_.join();
}

void StatePublisher::Publish(std::shared_ptr<const table::RouteTable> table) {
  if (!thread_.joinable()) {
    PublishHere(std::move(table));
    return;
  }
  std::promise<void> published;
  std::future<void> done = published.get_future();
  loop_.Post([this, &table, &published] {
    PublishHere(std::move(table));
    published.set_value();
  });
  done.wait();
}

void StatePublisher::PublishHere(std::shared_ptr<const table::RouteTable> table) {
  const health::TimePoint now = std::chrono::steady_clock::now();
  std::shared_ptr<const ServingState> previous = holder_->Get();
  auto state = std::make_shared<ServingState>();
  state->health = monitor_.Update(table, now);
  state->limits =
      protect::ConcurrencyIndex::Build(table, previous ? previous->limits.get() : nullptr);
  protection_->retry_budget.Reconfigure(table->settings().retry_budget, now);
  revision_.store(table->revision(), std::memory_order_relaxed);
  state->table = std::move(table);
  holder_->Set(std::move(state));
  swaps_.fetch_add(1, std::memory_order_relaxed);
  Tick();
}

void StatePublisher::Tick() {
  monitor_.Tick(std::chrono::steady_clock::now());
  Rearm();
}

void StatePublisher::Rearm() {
  std::optional<health::TimePoint> due = monitor_.NextDue();
  if (!due) {
    tick_timer_.Cancel();
    return;
  }
  // The wheel counts CLOCK_MONOTONIC milliseconds, as steady_clock does: arm for the due
  // time itself (the wheel's time is the loop iteration's, which may be behind).
  const int64_t due_ms =
      std::chrono::ceil<std::chrono::milliseconds>(due->time_since_epoch()).count();
  const int64_t wheel_ms = static_cast<int64_t>(loop_.timers()->now_ms());
  tick_timer_.Arm(loop_.timers(), static_cast<uint64_t>(std::max<int64_t>(0, due_ms - wheel_ms)));
}

void StatePublisher::RearmingProber::Probe(std::string_view backend, health::ProbeKind kind,
                                           std::string_view path,
                                           std::chrono::milliseconds timeout,
                                           health::ProbeDone done) {
  owner_->probes_started_.fetch_add(1, std::memory_order_relaxed);
  owner_->prober_.Probe(backend, kind, path, timeout,
                        [owner = owner_, done = std::move(done)](const health::ProbeResult& r) {
                          done(r);
                          owner->Rearm();
                        });
}

}  // namespace grid::router::proxy
