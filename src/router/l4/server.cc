#include "router/l4/server.h"

#include <nlohmann/json.hpp>

#include "common/check.h"

namespace grid::router::l4 {

Server::Server(Config config, ServerOptions options)
    : config_(std::move(config)), options_(options), health_(options.seed ^ 0x9e3779b97f4a7c15u) {
  GRID_CHECK(options_.threads >= 1 && options_.threads <= kMaxThreads) << "threads out of range";
  registry_.resize(config_.listeners.size());
  for (size_t i = 0; i < config_.listeners.size(); ++i) {
    listener_stats_.push_back(std::make_shared<ListenerStats>());
  }
  sets_ = BuildSets(config_);
}

Server::~Server() { Stop(); }

std::vector<std::shared_ptr<BackendSet>> Server::BuildSets(const Config& config) {
  std::vector<std::shared_ptr<BackendSet>> sets;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    auto& registry = registry_[i];
    std::vector<std::shared_ptr<BackendStats>> stats;
    for (const BackendConfig& b : config.listeners[i].backends) {
      std::shared_ptr<BackendStats>& entry = registry[b.address];
      if (!entry) entry = std::make_shared<BackendStats>();
      stats.push_back(entry);
    }
    sets.push_back(std::make_shared<BackendSet>(config.listeners[i], std::move(stats)));
  }
  return sets;
}

Status Server::Start() {
  std::vector<net::SocketAddress> wanted;
  for (const ListenerConfig& l : config_.listeners) wanted.push_back(l.listen_address);
  GRID_RETURN_IF_ERROR(net::CheckSpinBeforeWaitUs(options_.spin_before_wait_us));
  for (int t = 0; t < options_.threads; ++t) {
    auto worker = std::make_unique<Worker>([this](size_t i) { return Current(i); }, listener_stats_,
                                           options_.seed + 1 + t);
    worker->set_spin_before_wait_us(options_.spin_before_wait_us);
    // The first loop binds what the file says; the others bind the same ports (port 0 → the
    // port the first loop got).
    GRID_RETURN_IF_ERROR(worker->Listen(t == 0 ? wanted : addresses_));
    if (t == 0) addresses_ = worker->bound();
    workers_.push_back(std::move(worker));
  }
  GRID_RETURN_IF_ERROR(health_.Start());
  health_.Apply(sets_);
  for (auto& w : workers_) w->StartThread();
  return Status::Ok();
}

std::shared_ptr<BackendSet> Server::Current(size_t listener) const {
  std::lock_guard<std::mutex> lock(mu_);
  return sets_[listener];
}

Status Server::Reload(Config next) {
  GRID_RETURN_IF_ERROR(CheckReloadable(config_, next));
  std::vector<std::shared_ptr<BackendSet>> sets = BuildSets(next);
  {
    std::lock_guard<std::mutex> lock(mu_);
    sets_ = sets;
    ++generation_;
    // Forget counters of backends no longer configured once nothing uses them.
    for (size_t i = 0; i < registry_.size(); ++i) {
      for (auto it = registry_[i].begin(); it != registry_[i].end();) {
        bool configured = false;
        for (const BackendConfig& b : next.listeners[i].backends)
          configured |= b.address == it->first;
        if (!configured && it->second->active.load() == 0) {
          it = registry_[i].erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  health_.Apply(std::move(sets));
  config_ = std::move(next);
  return Status::Ok();
}

void Server::BeginDrain() {
  draining_ = true;
  for (auto& w : workers_) w->StopAccepting();
}

uint64_t Server::active_connections() const {
  uint64_t n = 0;
  for (const auto& s : listener_stats_) n += s->active.load();
  return n;
}

void Server::CloseAll() {
  for (auto& w : workers_) w->CloseAll();
}

void Server::Stop() {
  health_.Stop();
  for (auto& w : workers_) w->Stop();
  workers_.clear();
}

std::string Server::StatsJson() const {
  using nlohmann::json;
  json out;
  std::lock_guard<std::mutex> lock(mu_);
  out["draining"] = draining_.load();
  out["generation"] = generation_;
  json listeners = json::array();
  for (size_t i = 0; i < sets_.size(); ++i) {
    const BackendSet& set = *sets_[i];
    const ListenerStats& ls = *listener_stats_[i];
    json l;
    l["name"] = set.config().name;
    l["address"] = i < addresses_.size() ? addresses_[i].ToString() : set.config().listen;
    l["policy"] = std::string(PolicyName(set.config().policy));
    l["max_connections"] = set.config().max_connections;
    l["active_connections"] = ls.active.load();
    l["total_connections"] = ls.total.load();
    l["rejected_connections"] = ls.rejected.load();
    l["no_backend"] = ls.no_backend.load();
    json backends = json::array();
    auto add = [&backends](const std::string& address, uint32_t weight, bool in_config,
                           const BackendStats& s) {
      const BackendStats::Health h = s.health();
      backends.push_back({{"address", address},
                          {"weight", weight},
                          {"in_config", in_config},
                          {"healthy", h.healthy},
                          {"probe_failures_in_a_row", h.probe_failures_in_a_row},
                          {"active_connections", s.active.load()},
                          {"total_connections", s.total.load()},
                          {"bytes_in", s.bytes_in.load()},
                          {"bytes_out", s.bytes_out.load()},
                          {"connect_failures", s.connect_failures.load()}});
    };
    for (const auto& b : set.backends()) add(b.config.address, b.config.weight, true, *b.stats);
    // Backends removed from the configuration whose connections are still open.
    for (const auto& [address, stats] : registry_[i]) {
      bool configured = false;
      for (const auto& b : set.backends()) configured |= b.config.address == address;
      if (!configured) add(address, 0, false, *stats);
    }
    l["backends"] = std::move(backends);
    listeners.push_back(std::move(l));
  }
  out["listeners"] = std::move(listeners);
  return out.dump();
}

}  // namespace grid::router::l4
