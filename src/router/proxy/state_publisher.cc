#include "router/proxy/state_publisher.h"

#include <future>

namespace grid::router::proxy {

std::vector<std::string> BackendAddresses(const table::RouteTable& table) {
  std::vector<std::string> addresses;
  for (const auto& [name, cell] : table.parts().cells) {
    for (size_t g = 0; g < cell->group_count(); ++g) {
      for (const balance::BackendSpec& b : cell->group(g).backends()) addresses.push_back(b.address);
    }
  }
  return addresses;
}

std::shared_ptr<const ServingState> MakeServingState(std::shared_ptr<const table::RouteTable> table,
                                                     const ServingState* previous) {
  auto state = std::make_shared<ServingState>();
  state->addresses = net::AddressBook::Build(BackendAddresses(*table), net::ResolveSocketAddress,
                                             previous ? previous->addresses.get() : nullptr);
  state->health = health::HealthIndex::Build(table, previous ? previous->health.get() : nullptr);
  state->limits =
      protect::ConcurrencyIndex::Build(table, previous ? previous->limits.get() : nullptr);
  state->table = std::move(table);
  return state;
}

StatePublisher::StatePublisher(TableHolder* holder, ProcessProtection* protection, uint64_t seed,
                               PublisherOptions options)
    : holder_(holder),
      protection_(protection),
      options_(std::move(options)),
      prober_(&loop_),
      rearming_(this),
      monitor_(rearming_, seed),
      tick_timer_([this] { Tick(); }),
      dns_timer_([this] { RefreshAddresses(); }) {
  if (!options_.resolve) options_.resolve = net::ResolveSocketAddress;
}

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
  state->addresses = net::AddressBook::Build(BackendAddresses(*table), options_.resolve,
                                             previous ? previous->addresses.get() : nullptr);
  prober_.set_addresses(state->addresses);
  state->health = monitor_.Update(table, now);
  state->limits =
      protect::ConcurrencyIndex::Build(table, previous ? previous->limits.get() : nullptr);
  protection_->retry_budget.Reconfigure(table->settings().retry_budget, now);
  const int64_t revision = table->revision();
  state->table = std::move(table);
  holder_->Set(std::move(state));
  // After Set: whoever reads the revision (/routes) can count on every loop's next request
  // being served by this table.
  revision_.store(revision, std::memory_order_release);
  swaps_.fetch_add(1, std::memory_order_relaxed);
  ArmDnsRefresh();
  Tick();
}

void StatePublisher::ArmDnsRefresh() {
  std::shared_ptr<const ServingState> state = holder_->Get();
  if (options_.dns_refresh_ms == 0 || !thread_.joinable() || state == nullptr ||
      !state->addresses->has_names()) {
    dns_timer_.Cancel();
    return;
  }
  if (!dns_timer_.armed()) dns_timer_.Arm(loop_.timers(), options_.dns_refresh_ms);
}

void StatePublisher::RefreshAddresses() {
  std::shared_ptr<const ServingState> current = holder_->Get();
  dns_refreshes_.fetch_add(1, std::memory_order_relaxed);
  if (std::shared_ptr<const net::AddressBook> book =
          current->addresses->Refreshed(options_.resolve)) {
    // Same table, health and caps; only where some names point changed.
    auto state = std::make_shared<ServingState>(*current);
    state->addresses = std::move(book);
    prober_.set_addresses(state->addresses);
    holder_->Set(std::move(state));
    dns_changes_.fetch_add(1, std::memory_order_relaxed);
  }
  ArmDnsRefresh();
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
