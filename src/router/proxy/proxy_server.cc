#include "router/proxy/proxy_server.h"

#include <random>

namespace grid::router::proxy {

ProxyServer::ProxyServer(ServerOptions options, const TableHolder* tables, ProcessProtection* protection,
                         AccessLog* access_log)
    : options_(std::move(options)), tables_(tables), protection_(protection), access_log_(access_log) {
  if (protection_ == nullptr) {
    own_protection_ = std::make_unique<ProcessProtection>();
    protection_ = own_protection_.get();
  }
}

ProxyServer::~ProxyServer() { Stop(); }

Status ProxyServer::Start() {
  if (options_.loops < 1 || options_.loops > kMaxLoops) {
    return InvalidArgument("loops must be 1.." + std::to_string(kMaxLoops) + ", got " +
                           std::to_string(options_.loops));
  }
  GRID_RETURN_IF_ERROR(net::CheckSpinBeforeWaitUs(options_.spin_before_wait_us));
  GRID_ASSIGN_OR_RETURN(net::SocketAddress address, net::ParseSocketAddress(options_.listen));
  std::random_device rd;
  for (int i = 0; i < options_.loops; ++i) {
    const uint64_t seed = (uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(i);
    auto worker = std::make_unique<Worker>(options_.limits, tables_, protection_, access_log_, seed);
    worker->set_spin_before_wait_us(options_.spin_before_wait_us);
    // Every loop binds the port the first one got.
    GRID_RETURN_IF_ERROR(worker->Listen(address, true));
    if (i == 0) {
      address = worker->bound_address();
      address_ = address;
    }
    workers_.push_back(std::move(worker));
  }
  for (auto& w : workers_) w->Start();
  return Status::Ok();
}

void ProxyServer::BeginDrain() {
  for (auto& w : workers_) w->BeginDrain();
}

bool ProxyServer::Drained() const {
  for (const auto& w : workers_) {
    if (!w->drained()) return false;
  }
  return true;
}

void ProxyServer::CloseAll() {
  for (auto& w : workers_) w->CloseAll();
}

void ProxyServer::Stop() {
  for (auto& w : workers_) w->Stop();
  workers_.clear();
}

std::string ProxyServer::StatsJson() const {
  std::vector<const ProxyStats*> all;
  for (const auto& w : workers_) all.push_back(&w->stats());
  return proxy::StatsJson(all);
}

std::vector<std::pair<std::string_view, uint64_t>> ProxyServer::StatsSums() const {
  std::vector<const ProxyStats*> all;
  for (const auto& w : workers_) all.push_back(&w->stats());
  return SumStats(all);
}

}  // namespace grid::router::proxy
