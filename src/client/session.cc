#include "client/session.h"

namespace grid::client {

Session::Session(Client* client, int64_t lease_id, int64_t ttl_seconds)
    : client_(client), lease_id_(lease_id), ttl_seconds_(ttl_seconds) {}

Result<std::unique_ptr<Session>> Session::Create(Client* client, const SessionOptions& options,
                                                 const Context& ctx) {
  const int64_t ttl = options.ttl_seconds > 0 ? options.ttl_seconds : kDefaultSessionTtlSeconds;
  int64_t id = options.lease_id;
  if (id == 0) {
    GRID_ASSIGN_OR_RETURN(auto grant, client->Grant(ttl, 0, ctx));
    if (!grant.error().empty()) return Internal(grant.error());
    id = grant.id();
  }
  std::unique_ptr<Session> s(new Session(client, id, ttl));
  if (options.keep_alive) s->keepalive_ = client->KeepAlive(id);
  return s;
}

Session::~Session() { Orphan(); }

bool Session::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keepalive_ == nullptr || keepalive_->lost();
}

void Session::Orphan() {
  std::unique_ptr<LeaseKeepAlive> keepalive;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keepalive = std::move(keepalive_);
  }
}

Status Session::Close(const Context& ctx) {
  Orphan();
  return client_->Revoke(lease_id_, ctx.WithTimeout(std::chrono::seconds(ttl_seconds_))).status();
}

}  // namespace grid::client
