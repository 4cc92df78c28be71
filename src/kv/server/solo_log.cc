#include "kv/server/solo_log.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include "kv/server/errors.h"

namespace grid::kv {

SoloLog::SoloLog(std::unique_ptr<wal::Wal> wal, uint64_t last_index, uint64_t applied_index,
                 uint64_t term, uint64_t start_time_ms, WaitRegistry* waits, CommittedSink sink,
                 SoloLogLimits limits)
    : limits_(limits),
      term_(term),
      wal_(std::move(wal)),
      waits_(waits),
      sink_(std::move(sink)),
      last_index_(last_index),
      committed_index_(last_index),
      applied_index_(applied_index),
      ids_(start_time_ms) {}

SoloLog::~SoloLog() { Stop(); }

void SoloLog::Start(std::vector<wal::Entry> unapplied) {
  if (!unapplied.empty()) sink_(std::move(unapplied));
  thread_ = std::thread([this] { Run(); });
}

void SoloLog::Stop() {
  std::deque<Pending> rest;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    rest.swap(queue_);
  }
  FailPending(ErrStopped(), &rest);
}

void SoloLog::Propose(kvpb::InternalRequest request, ApplyCallback done) {
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refused = ErrStopped();
    } else if (!wal_error_.ok()) {
      refused = wal_error_;
    } else if (queue_.size() >= limits_.max_pending_proposals) {
      refused = ErrTooManyRequests();
    } else {
      request.set_id(ids_.Next());
      waits_->Register(request.id(), std::move(done));
      queue_.push_back(Pending{request.SerializeAsString()});
    }
  }
  if (!refused.ok()) {
    done(refused, {});
    return;
  }
  work_cv_.notify_one();
}

void SoloLog::ReadBarrier(ReadyCallback ready) {
  uint64_t read_index;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      ready(ErrStopped());
      return;
    }
    read_index = committed_index_;
    if (applied_index_ < read_index) {
      // Registered under the lock so OnApplied cannot pass read_index unseen.
      waits_->AddReadWaiter(read_index, std::move(ready));
      return;
    }
  }
  ready(Status::Ok());
}

void SoloLog::OnApplied(uint64_t index) {
  {
    std::lock_guard lock(mu_);
    GRID_CHECK_LE(applied_index_, index);
    applied_index_ = index;
  }
  work_cv_.notify_one();
  for (auto& ready : waits_->TakeReadWaiters(index)) ready(Status::Ok());
}

Status SoloLog::wal_error() const {
  std::lock_guard lock(mu_);
  return wal_error_;
}

void SoloLog::ReleaseUpTo(uint64_t index) {
  {
    std::lock_guard lock(mu_);
    release_up_to_ = std::max(release_up_to_, index);
  }
  work_cv_.notify_one();
}

void SoloLog::Release(uint64_t index) {
  if (index <= released_up_to_) return;
  // Attempted once: a failure keeps the segments, and the next request retries further on.
  released_up_to_ = index;
  Status s = wal_->SaveSnapshotMarker(wal::SnapshotMarker{index, term_});
  if (s.ok()) s = wal_->ReleaseBefore(index + 1);
  if (!s.ok()) {
    spdlog::warn("wal: releasing entries up to {} failed: {}", index, s.ToString());
    return;
  }
  spdlog::info("wal: entries up to {} are in the backend; older segments released", index);
}

uint64_t SoloLog::committed_index() const {
  std::lock_guard lock(mu_);
  return committed_index_;
}

uint64_t SoloLog::applied_index() const {
  std::lock_guard lock(mu_);
  return applied_index_;
}

void SoloLog::FailPending(const Status& status, std::deque<Pending>* pending) {
  for (const Pending& p : *pending) {
    kvpb::InternalRequest request;
    GRID_CHECK(request.ParseFromString(p.data));
    if (ApplyCallback done = waits_->Take(request.id())) done(status, {});
  }
  pending->clear();
}

void SoloLog::Run() {
  pthread_setname_np(pthread_self(), "grid-log");
  std::vector<wal::Entry> batch;
  for (;;) {
    uint64_t first_index;
    uint64_t release = 0;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] {
        return stopping_ || release_up_to_ > released_up_to_ ||
               (!queue_.empty() && committed_index_ - applied_index_ < limits_.max_unapplied_entries);
      });
      if (stopping_) return;
      if (release_up_to_ > released_up_to_) release = release_up_to_;
    }
    if (release > 0) {
      Release(release);
      continue;
    }
    {
      std::unique_lock lock(mu_);
      if (queue_.empty() || committed_index_ - applied_index_ >= limits_.max_unapplied_entries) {
        continue;
      }
      first_index = last_index_ + 1;
      size_t bytes = 0;
      batch.clear();
      while (!queue_.empty() && batch.size() < limits_.max_batch_entries &&
             (batch.empty() || bytes + queue_.front().data.size() <= limits_.max_batch_bytes)) {
        bytes += queue_.front().data.size();
        batch.push_back(wal::Entry{term_, first_index + batch.size(), wal::kEntryNormal,
                                   std::move(queue_.front().data)});
        queue_.pop_front();
      }
    }
    const uint64_t last = first_index + batch.size() - 1;
    wal::HardState hs{term_, 0, last};
    Status s = wal_->Append(batch, &hs);
    if (s.ok()) s = wal_->Sync();
    if (!s.ok()) {
      spdlog::critical("wal: write failed, refusing all further writes: {}", s.ToString());
      const Status refused(s.code(), "etcdserver: " + s.message());
      std::deque<Pending> failed;
      for (auto& e : batch) failed.push_back(Pending{std::move(e.data)});
      {
        std::lock_guard lock(mu_);
        wal_error_ = refused;
        for (auto& p : queue_) failed.push_back(std::move(p));
        queue_.clear();
      }
      FailPending(refused, &failed);
      return;
    }
    {
      std::lock_guard lock(mu_);
      last_index_ = committed_index_ = last;
    }
    sink_(std::move(batch));
    batch = {};
  }
}

}  // namespace grid::kv
