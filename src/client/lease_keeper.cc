#include "client/lease_keeper.h"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/client_context.h>

#include "etcd/rpc.grpc.pb.h"

namespace grid::client {
namespace {

using Clock = std::chrono::steady_clock;

inline constexpr char kLeaseNotFoundMessage[] = "etcdserver: requested lease not found";
inline constexpr char kKeepAliveTimeoutMessage[] =
    "lease keepalive: no answer before the lease TTL ran out";

}  // namespace

struct LeaseKeepAlive::HandleState {
  LeaseLostCallback on_lost;
  std::atomic<bool> lost{false};
  std::atomic<int64_t> ttl_seconds{0};
  std::atomic<int64_t> refresh_count{0};
};

class LeaseKeepAlive::Keeper {
 public:
  Keeper(std::shared_ptr<grpc::Channel> channel, LeaseKeeperOptions options)
      : stub_(etcdserverpb::Lease::NewStub(std::move(channel))), options_(options) {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      if (live_call_ != nullptr) live_call_->TryCancel();
      cv_.notify_all();
    }
    GRID_CHECK(std::this_thread::get_id() != thread_.get_id())
        << "LeaseKeeper destroyed from its own callback";
    if (thread_.joinable()) thread_.join();
  }

  uint64_t Add(int64_t lease_id, std::shared_ptr<HandleState> handle) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = leases_[lease_id];
    if (e.handles.empty()) {
      e.next_send = Clock::now();
      e.deadline = Clock::now() + options_.first_keepalive_timeout;
    }
    const uint64_t token = next_token_++;
    e.handles.emplace(token, std::move(handle));
    cv_.notify_all();
    return token;
  }

  void Remove(int64_t lease_id, uint64_t token) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = leases_.find(lease_id);
    if (it == leases_.end()) return;
    it->second.handles.erase(token);
    if (it->second.handles.empty()) leases_.erase(it);
  }

 private:
  struct Entry {
    Clock::time_point next_send;
    Clock::time_point deadline;
    std::map<uint64_t, std::shared_ptr<HandleState>> handles;
  };
  using Lost = std::vector<std::pair<std::shared_ptr<HandleState>, Status>>;

  // REQUIRES: mu_ held. Moves the handles of `it` into `lost` and forgets the lease.
  void MarkLost(std::map<int64_t, Entry>::iterator it, const Status& why, Lost* lost) {
    for (auto& [token, h] : it->second.handles) lost->emplace_back(h, why);
    leases_.erase(it);
  }

  // Runs the loss callbacks. REQUIRES: mu_ not held.
  static void Report(Lost lost) {
    for (auto& [h, why] : lost) {
      if (!h->lost.exchange(true) && h->on_lost) h->on_lost(why);
    }
  }

  // REQUIRES: mu_ held.
  void ExpireOverdue(Clock::time_point now, Lost* lost) {
    for (auto it = leases_.begin(); it != leases_.end();) {
      auto next = std::next(it);
      if (now >= it->second.deadline) {
        MarkLost(it, Status(Code::kDeadlineExceeded, kKeepAliveTimeoutMessage), lost);
      }
      it = next;
    }
  }

  void OnResponse(const etcdserverpb::LeaseKeepAliveResponse& resp) {
    Lost lost;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = leases_.find(resp.id());
      if (it == leases_.end()) return;
      if (resp.ttl() <= 0) {
        MarkLost(it, NotFound(kLeaseNotFoundMessage), &lost);
      } else {
        const auto now = Clock::now();
        it->second.next_send = now + std::chrono::milliseconds(resp.ttl() * 1000 / 3);
        it->second.deadline = now + std::chrono::seconds(resp.ttl());
        for (auto& [token, h] : it->second.handles) {
          h->ttl_seconds = resp.ttl();
          h->refresh_count.fetch_add(1);
        }
      }
    }
    Report(std::move(lost));
  }

  // Returns true when the stream broke (as opposed to: stopping or no leases left).
  bool RunStream() {
    grpc::ClientContext ctx;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
      live_call_ = &ctx;
    }
    auto stream = stub_->LeaseKeepAlive(&ctx);
    bool broken = false;  // guarded by mu_
    std::thread reader([&] {
      etcdserverpb::LeaseKeepAliveResponse resp;
      while (stream->Read(&resp)) OnResponse(resp);
      std::lock_guard<std::mutex> lock(mu_);
      broken = true;
      cv_.notify_all();
    });

    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_ && !broken && !leases_.empty()) {
      const auto now = Clock::now();
      Lost lost;
      ExpireOverdue(now, &lost);
      std::vector<int64_t> due;
      auto wake = now + std::chrono::hours(1);
      for (auto& [id, e] : leases_) {
        if (e.next_send <= now) {
          due.push_back(id);
          e.next_send = now + kKeepAliveRetryInterval;
        }
        wake = std::min({wake, e.next_send, e.deadline});
      }
      lock.unlock();
      Report(std::move(lost));
      for (int64_t id : due) {
        etcdserverpb::LeaseKeepAliveRequest req;
        req.set_id(id);
        if (!stream->Write(req)) break;  // the reader sees the break
      }
      lock.lock();
      cv_.wait_until(lock, wake, [&] {
        if (stopping_ || broken || leases_.empty()) return true;
        for (auto& [id, e] : leases_) {
          if (e.next_send <= Clock::now()) return true;
        }
        return false;
      });
    }
    const bool stream_broke = broken && !stopping_;
    lock.unlock();
    ctx.TryCancel();
    reader.join();
    (void)stream->Finish();
    lock.lock();
    live_call_ = nullptr;
    return stream_broke;
  }

  void Run() {
    auto backoff = options_.min_retry_backoff;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !leases_.empty(); });
        if (stopping_) return;
      }
      const auto started = Clock::now();
      if (!RunStream()) {
        backoff = options_.min_retry_backoff;
        continue;
      }
      if (Clock::now() - started > options_.max_retry_backoff) {
        backoff = options_.min_retry_backoff;
      }
      Lost lost;
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, backoff, [this] { return stopping_; })) return;
        ExpireOverdue(Clock::now(), &lost);
      }
      Report(std::move(lost));
      backoff = std::min(backoff * 2, options_.max_retry_backoff);
    }
  }

  std::unique_ptr<etcdserverpb::Lease::Stub> stub_;
  const LeaseKeeperOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                       // guarded by mu_
  std::map<int64_t, Entry> leases_;             // guarded by mu_
  uint64_t next_token_ = 1;                     // guarded by mu_
  grpc::ClientContext* live_call_ = nullptr;    // guarded by mu_
  std::thread thread_;
};

LeaseKeepAlive::LeaseKeepAlive(std::shared_ptr<Keeper> keeper,
                               std::shared_ptr<HandleState> state, int64_t lease_id)
    : keeper_(std::move(keeper)), state_(std::move(state)), lease_id_(lease_id) {}

LeaseKeepAlive::~LeaseKeepAlive() { keeper_->Remove(lease_id_, token_); }

bool LeaseKeepAlive::lost() const { return state_->lost.load(); }
int64_t LeaseKeepAlive::ttl_seconds() const { return state_->ttl_seconds.load(); }
int64_t LeaseKeepAlive::refresh_count() const { return state_->refresh_count.load(); }

LeaseKeeper::LeaseKeeper(std::shared_ptr<grpc::Channel> channel, LeaseKeeperOptions options)
    : keeper_(std::make_shared<LeaseKeepAlive::Keeper>(std::move(channel), options)) {}

LeaseKeeper::~LeaseKeeper() { keeper_->Stop(); }

std::unique_ptr<LeaseKeepAlive> LeaseKeeper::Add(int64_t lease_id, LeaseLostCallback on_lost) {
  auto state = std::make_shared<LeaseKeepAlive::HandleState>();
  state->on_lost = std::move(on_lost);
  std::unique_ptr<LeaseKeepAlive> handle(new LeaseKeepAlive(keeper_, state, lease_id));
  handle->token_ = keeper_->Add(lease_id, state);
  return handle;
}

}  // namespace grid::client
