#include "mas/controller/leadership.h"

#include "client/election.h"
#include "client/ops.h"
#include "client/session.h"

namespace grid::mas::controller {

etcdserverpb::Compare Fence::Compare() const {
  return client::CompareCreateRevision(key, etcdserverpb::Compare::EQUAL, token);
}

Leadership::Leadership(client::Client* client, LeadershipOptions options)
    : client_(client), options_(std::move(options)) {}

Result<std::unique_ptr<Leadership>> Leadership::Start(client::Client* client,
                                                      LeadershipOptions options) {
  if (options.election_prefix.empty()) return InvalidArgument("election_prefix is empty");
  if (options.session_ttl_seconds <= 0) return InvalidArgument("session_ttl_seconds <= 0");
  std::unique_ptr<Leadership> l(new Leadership(client, std::move(options)));
  l->thread_ = std::jthread([p = l.get()](std::stop_token stop) { p->Run(stop); });
  return l;
}

Leadership::~Leadership() { Stop(); }

void Leadership::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

bool Leadership::IsLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_;
}

int64_t Leadership::token() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_ ? fence_->token : 0;
}

std::optional<Fence> Leadership::fence() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!leader_) return std::nullopt;
  return fence_;
}

int64_t Leadership::lease_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lease_id_;
}

Result<etcdserverpb::TxnResponse> Leadership::FencedTxn(etcdserverpb::TxnRequest request) {
  auto f = fence();
  if (!f) return FailedPrecondition("not leader");
  const bool own_compares = request.compare_size() > 0;
  *request.add_compare() = f->Compare();
  GRID_ASSIGN_OR_RETURN(auto resp, client_->Txn(request));
  if (!resp.succeeded() && !own_compares) {
    return FailedPrecondition("deposed: election key " + f->key + " no longer has token " +
                              std::to_string(f->token));
  }
  return resp;
}

void Leadership::MarkLost(int64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != epoch_) return;
  lost_ = true;
  leader_ = false;
  cv_.notify_all();
}

bool Leadership::LostOrStopping(int64_t epoch) const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_ || lost_ || epoch != epoch_;
}

void Leadership::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    (void)RunTerm(stop);  // errors end the term; the next campaign retries
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.retry_backoff, [&] { return stopping_; });
    if (stopping_) break;
  }
}

Status Leadership::RunTerm(std::stop_token stop) {
  const client::Context stop_ctx = client::Context().WithStop(stop);
  client::SessionOptions so;
  so.ttl_seconds = options_.session_ttl_seconds;
  GRID_ASSIGN_OR_RETURN(auto session, client::Session::Create(client_, so, stop_ctx));
  int64_t epoch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    epoch = ++epoch_;
    lost_ = false;
    lease_id_ = session->lease_id();
  }
  // Ends the term: forget the session and revoke its lease (deleting our key).
  auto finish = [&](Status s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++epoch_;
      leader_ = false;
      fence_.reset();
      lease_id_ = 0;
    }
    (void)session->Close(client::Context().WithTimeout(std::chrono::seconds(2)));
    return s;
  };
  auto keepalive = client_->KeepAlive(session->lease_id(),
                                      [this, epoch](const Status&) { MarkLost(epoch); });

  client::Session* raw_session = session.get();
  const client::Context campaign_ctx = stop_ctx.WithCancelPredicate(
      [this, epoch, raw_session] { return raw_session->done() || LostOrStopping(epoch); });
  client::Election election(session.get(), options_.election_prefix);
  Status campaigned = election.Campaign(options_.identity, campaign_ctx);
  if (!campaigned.ok()) {
    keepalive.reset();
    return finish(campaigned);
  }

  // Watch our own key from its creation: a delete (lease lost, resign, or an operator)
  // deposes us at once.
  client::WatchOptions wo;
  wo.start_revision = election.revision();
  auto watcher = client_->Watch(
      election.key(), wo, [this, epoch](const client::WatchUpdate& update) {
        if (!update.status.ok()) return MarkLost(epoch);
        for (const auto& ev : update.events) {
          if (ev.type() == mvccpb::Event::DELETE) return MarkLost(epoch);
        }
      });
  if (!watcher.ok()) {
    keepalive.reset();
    (void)election.Resign(client::Context().WithTimeout(std::chrono::seconds(2)));
    return finish(watcher.status());
  }

  const Fence term_fence{election.key(), election.revision()};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!lost_ && !stopping_ && epoch == epoch_) {
      leader_ = true;
      fence_ = term_fence;
    }
  }
  const bool elected = IsLeader();
  if (elected) {
    terms_.fetch_add(1);
    if (options_.on_change) options_.on_change(true, term_fence);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_ && !lost_) {
      cv_.wait_for(lock, kLeaderLostPollInterval);
      if (raw_session->done()) {
        lost_ = true;
        leader_ = false;
      }
    }
    leader_ = false;
  }
  (*watcher).reset();
  keepalive.reset();
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
  }
  if (stopping) (void)election.Resign(client::Context().WithTimeout(std::chrono::seconds(2)));
  Status s = finish(Status::Ok());
  if (elected && options_.on_change) options_.on_change(false, term_fence);
  return s;
}

}  // namespace grid::mas::controller
