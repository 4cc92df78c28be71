#include "mas/controller/job_lock_session.h"

#include <utility>

#include "client/context.h"

namespace grid::mas::controller {

JobLockSession::JobLockSession(client::Client* client, JobLockOptions options,
                               int64_t ttl_seconds)
    : client_(client), options_(std::move(options)), ttl_seconds_(ttl_seconds) {}

Result<std::shared_ptr<JobLockSession::Held>> JobLockSession::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (held_ != nullptr && !held_->session->done()) return held_;
  client::SessionOptions session_options;
  session_options.ttl_seconds = ttl_seconds_;
  auto session = client::Session::Create(client_, session_options,
                                         client::Context().WithTimeout(options_.lock_timeout));
  if (!session.ok()) return session.status();
  auto held = std::make_shared<Held>();
  held->session = std::move(*session);
  held->lock = std::make_unique<JobLock>(held->session.get(), options_);
  held_ = held;
  return held;
}

}  // namespace grid::mas::controller
