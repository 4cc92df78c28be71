#include "kv/lease/keeper.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

namespace grid::kv::lease {

LeaseKeeper::LeaseKeeper(Lessor& lessor, Proposer& proposer, const Clock& clock,
                         KeeperOptions options)
    : lessor_(lessor), proposer_(proposer), clock_(clock), options_(std::move(options)) {
  GRID_CHECK(options_.tick_ms > 0);
  GRID_CHECK(options_.max_revokes_per_second > 0);
  GRID_CHECK(options_.max_checkpoints_per_proposal > 0);
  GRID_CHECK(options_.max_revokes_in_flight > 0);
  GRID_CHECK(options_.checkpoint_interval_ms > 0);
  const int64_t now_ms = clock_.NowMs();
  revoke_tokens_milli_ = options_.max_revokes_per_second * 1000;
  last_refill_ms_ = now_ms;
  next_checkpoint_ms_ = now_ms + options_.checkpoint_interval_ms;
}

LeaseKeeper::~LeaseKeeper() { Stop(); }

void LeaseKeeper::Start() {
  GRID_CHECK(!thread_.joinable()) << "keeper started twice";
  thread_ = std::thread([this] { Run(); });
}

void LeaseKeeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t LeaseKeeper::revokes_in_flight() const {
  std::lock_guard lock(in_flight_->mu);
  return in_flight_->ids.size();
}

void LeaseKeeper::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Tick();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms), [this] { return stopping_; });
  }
}

void LeaseKeeper::Tick() {
  if (options_.is_leader && !options_.is_leader()) return;
  const int64_t now_ms = clock_.NowMs();
  ProposeRevokes(now_ms);
  ProposeCheckpointClears();
  if (now_ms >= next_checkpoint_ms_) {
    next_checkpoint_ms_ = now_ms + options_.checkpoint_interval_ms;
    ProposeCheckpoints();
  }
}

void LeaseKeeper::ProposeRevokes(int64_t now_ms) {
  const int64_t capacity_milli = options_.max_revokes_per_second * 1000;
  const int64_t elapsed_ms = std::max<int64_t>(0, now_ms - last_refill_ms_);
  last_refill_ms_ = now_ms;
  // tokens/ms = rate / 1000, so milli-tokens/ms = rate.
  revoke_tokens_milli_ = std::min(
      capacity_milli, revoke_tokens_milli_ + std::min(elapsed_ms, int64_t{1000}) *
                                                 options_.max_revokes_per_second);
  const size_t by_rate = static_cast<size_t>(revoke_tokens_milli_ / 1000);

  std::vector<int64_t> expired;
  {
    std::lock_guard lock(in_flight_->mu);
    const size_t room = options_.max_revokes_in_flight -
                        std::min(options_.max_revokes_in_flight, in_flight_->ids.size());
    const size_t budget = std::min(by_rate, room);
    if (budget == 0) return;
    expired = lessor_.FindExpired(budget, in_flight_->ids);
    for (int64_t id : expired) in_flight_->ids.insert(id);
  }
  revoke_tokens_milli_ -= static_cast<int64_t>(expired.size()) * 1000;

  for (int64_t id : expired) {
    kvpb::InternalRequest request;
    request.mutable_lease_revoke()->set_id(id);
    std::shared_ptr<InFlight> in_flight = in_flight_;
    proposer_.Propose(std::move(request),
                      [in_flight, id](const Status&, kvpb::InternalResponse) {
                        // Success or "not found": the lease is gone. Any other failure: the
                        // lease is still expired and a later tick proposes it again.
                        std::lock_guard lock(in_flight->mu);
                        in_flight->ids.erase(id);
                      });
  }
}

namespace {

void ProposeCheckpointBatch(Proposer& proposer, std::vector<kvpb::LeaseCheckpoint> batch) {
  kvpb::InternalRequest request;
  auto* checkpoints = request.mutable_lease_checkpoint()->mutable_checkpoints();
  checkpoints->Reserve(static_cast<int>(batch.size()));
  for (kvpb::LeaseCheckpoint& checkpoint : batch) *checkpoints->Add() = std::move(checkpoint);
  // A lost checkpoint costs only precision after a restart; the next round sends it again.
  proposer.Propose(std::move(request), [](const Status&, kvpb::InternalResponse) {});
}

}  // namespace

void LeaseKeeper::ProposeCheckpointClears() {
  for (;;) {
    std::vector<int64_t> ids = lessor_.TakeCheckpointClears(options_.max_checkpoints_per_proposal);
    if (ids.empty()) return;
    std::vector<kvpb::LeaseCheckpoint> batch(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      batch[i].set_id(ids[i]);
      batch[i].set_remaining_ttl_seconds(0);
    }
    const bool last = ids.size() < options_.max_checkpoints_per_proposal;
    ProposeCheckpointBatch(proposer_, std::move(batch));
    if (last) return;
  }
}

void LeaseKeeper::ProposeCheckpoints() {
  std::vector<kvpb::LeaseCheckpoint> all = lessor_.CollectCheckpoints();
  for (size_t begin = 0; begin < all.size(); begin += options_.max_checkpoints_per_proposal) {
    const size_t end = std::min(all.size(), begin + options_.max_checkpoints_per_proposal);
    std::vector<kvpb::LeaseCheckpoint> batch(std::make_move_iterator(all.begin() + begin),
                                             std::make_move_iterator(all.begin() + end));
    ProposeCheckpointBatch(proposer_, std::move(batch));
  }
}

}  // namespace grid::kv::lease
