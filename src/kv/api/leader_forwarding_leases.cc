#include "kv/api/leader_forwarding_leases.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "kv/server/errors.h"

namespace grid::kv::api {

// One forwarded renewal or read, across its attempts.
struct LeaderForwardingLeases::Request {
  Clock::time_point deadline;
  bool no_leader = false;  // at the last look, no leader was known
  // Starts one attempt at `leader`; `then` gets OK once the final answer went to the caller,
  // else the reason to try again.
  std::function<void(uint64_t leader, std::chrono::milliseconds timeout,
                     std::function<void(const Status&)> then)>
      attempt;
  // Gives the caller a final error.
  std::function<void(const Status&)> fail;
};

namespace {

// The answer of one attempt: a value or a missing lease is final.
template <typename T>
bool IsFinal(const Result<T>& r) {
  return r.ok() || r.status().code() == Code::kNotFound;
}

}  // namespace

LeaderForwardingLeases::LeaderForwardingLeases(LeaderForwardingOptions options,
                                               LeaderForwardingCalls calls)
    : options_(options), calls_(std::move(calls)) {
  GRID_CHECK(options_.self_id != 0);
  GRID_CHECK(options_.request_timeout.count() > 0 && options_.attempt_timeout.count() > 0 &&
             options_.retry_interval.count() > 0 && options_.max_requests > 0);
  GRID_CHECK(calls_.leader_id && calls_.remote_renew && calls_.remote_time_to_live &&
             calls_.local_renew && calls_.local_time_to_live);
  retry_thread_ = std::thread([this] { RunRetries(); });
}

LeaderForwardingLeases::~LeaderForwardingLeases() { Stop(); }

bool LeaderForwardingLeases::IsLeader() const { return calls_.leader_id() == options_.self_id; }

size_t LeaderForwardingLeases::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void LeaderForwardingLeases::Renew(int64_t id, std::function<void(Result<int64_t>)> done) {
  auto r = std::make_shared<Request>();
  auto deliver = std::make_shared<std::function<void(Result<int64_t>)>>(std::move(done));
  r->attempt = [this, id, deliver](uint64_t leader, std::chrono::milliseconds timeout,
                                   std::function<void(const Status&)> then) {
    auto answer = [deliver, then = std::move(then)](Result<int64_t> ttl) {
      if (!IsFinal(ttl)) return then(ttl.status());
      (*deliver)(std::move(ttl));
      then(Status::Ok());
    };
    if (leader == options_.self_id) return answer(calls_.local_renew(id));
    calls_.remote_renew(leader, id, timeout, std::move(answer));
  };
  r->fail = [deliver](const Status& s) { (*deliver)(s); };
  Start(std::move(r));
}

void LeaderForwardingLeases::TimeToLive(
    int64_t id, bool keys, std::function<void(Result<lease::TimeToLiveResult>)> done) {
  auto r = std::make_shared<Request>();
  auto deliver =
      std::make_shared<std::function<void(Result<lease::TimeToLiveResult>)>>(std::move(done));
  r->attempt = [this, id, keys, deliver](uint64_t leader, std::chrono::milliseconds timeout,
                                         std::function<void(const Status&)> then) {
    auto answer = [deliver, then = std::move(then)](Result<lease::TimeToLiveResult> ttl) {
      if (!IsFinal(ttl)) return then(ttl.status());
      (*deliver)(std::move(ttl));
      then(Status::Ok());
    };
    if (leader == options_.self_id) return answer(calls_.local_time_to_live(id, keys));
    calls_.remote_time_to_live(leader, id, keys, timeout, std::move(answer));
  };
  r->fail = [deliver](const Status& s) { (*deliver)(s); };
  Start(std::move(r));
}

void LeaderForwardingLeases::Start(std::shared_ptr<Request> r) {
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refused = ErrStopped();
    } else if (requests_ >= options_.max_requests) {
      refused = ErrTooManyRequests();
    } else {
      ++requests_;
    }
  }
  if (!refused.ok()) return r->fail(refused);
  r->deadline = Clock::now() + options_.request_timeout;
  Attempt(r);
}

void LeaderForwardingLeases::Attempt(const std::shared_ptr<Request>& r) {
  bool stopping;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
  }
  if (stopping) return End(r, ErrStopped());
  const uint64_t leader = calls_.leader_id();
  const Clock::time_point now = Clock::now();
  if (now >= r->deadline) return End(r, r->no_leader ? ErrNoLeader() : ErrTimeout());
  if (leader == 0) {
    // etcd waits for an election here; looking again soon finds the new leader early.
    r->no_leader = true;
    return Schedule(r, std::min(now + options_.retry_interval, r->deadline));
  }
  r->no_leader = false;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(r->deadline - now);
  r->attempt(leader, std::min(options_.attempt_timeout, left),
             [this, r, leader](const Status& s) { AfterAttempt(r, leader, s); });
}

void LeaderForwardingLeases::AfterAttempt(const std::shared_ptr<Request>& r, uint64_t leader,
                                          const Status& s) {
  if (s.ok()) return End(r, s);
  const Clock::time_point now = Clock::now();
  if (now >= r->deadline) return End(r, ErrTimeout());
  // A new leader is asked at once; the same one (or none) after a pause.
  const bool leader_changed = calls_.leader_id() != leader;
  Schedule(r, leader_changed ? now : std::min(now + options_.retry_interval, r->deadline));
}

void LeaderForwardingLeases::Schedule(const std::shared_ptr<Request>& r, Clock::time_point at) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      waiting_.emplace(at, r);
      cv_.notify_all();
      return;
    }
  }
  End(r, ErrStopped());
}

void LeaderForwardingLeases::End(const std::shared_ptr<Request>& r, const Status& s) {
  if (!s.ok()) r->fail(s);
  std::lock_guard lock(mu_);
  --requests_;
  cv_.notify_all();
}

void LeaderForwardingLeases::RunRetries() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (waiting_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = waiting_.begin();
    if (Clock::now() < first->first) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    std::shared_ptr<Request> r = std::move(first->second);
    waiting_.erase(first);
    lock.unlock();
    Attempt(r);
    lock.lock();
  }
}

void LeaderForwardingLeases::Stop() {
  std::multimap<Clock::time_point, std::shared_ptr<Request>> waiting;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    waiting.swap(waiting_);
    cv_.notify_all();
  }
  if (retry_thread_.joinable()) retry_thread_.join();
  for (auto& [at, r] : waiting) End(r, ErrStopped());
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return requests_ == 0; });
}

}  // namespace grid::kv::api
