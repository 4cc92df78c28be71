#include "mas/api/watch_stream.h"

#include <fmt/format.h>

#include "mas/api/routes.h"

namespace grid::mas::api {

WatchStream::WatchStream(Kind kind, int64_t seen_revision, size_t max_queued_events)
    : kind_(kind), max_queued_events_(max_queued_events), seen_revision_(seen_revision) {}

void WatchStream::PushLine(std::string line, int64_t revision) {
  std::lock_guard lock(mu_);
  lines_.emplace_back(std::move(line), revision);
  cv_.notify_all();
}

void WatchStream::Push(const ResourceWatchUpdate& update) {
  std::lock_guard lock(mu_);
  if (ended_) return;
  for (const ResourceEvent& event : update.events) {
    if (lines_.size() >= max_queued_events_) {
      EndLocked(OutOfRange(fmt::format(
          "watch of {} fell behind: more than {} events queued; list and watch again",
          PluralName(kind_), max_queued_events_)));
      return;
    }
    lines_.emplace_back(WatchEventLine(event), event.revision);
  }
  // Corruption: one stored value did not decode; that event was dropped, the watch goes on.
  if (!update.status.ok() && update.status.code() != Code::kCorruption) {
    EndLocked(update.status);
    return;
  }
  cv_.notify_all();
}

void WatchStream::EndLocked(const Status& status) {
  ended_ = true;
  final_line_ = ErrorEventLine(status);
  cv_.notify_all();
}

WatchStream::Batch WatchStream::Next(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return !lines_.empty() || ended_; });
  Batch batch;
  while (!lines_.empty()) {
    batch.data += lines_.front().first;
    seen_revision_ = std::max(seen_revision_, lines_.front().second);
    lines_.pop_front();
  }
  if (ended_) {
    batch.data += final_line_;
    batch.end = true;
  }
  return batch;
}

int64_t WatchStream::seen_revision() const {
  std::lock_guard lock(mu_);
  return seen_revision_;
}

size_t WatchStream::queued() const {
  std::lock_guard lock(mu_);
  return lines_.size();
}

}  // namespace grid::mas::api
