// WatchStream: the bounded buffer between a ResourceStore watch (its watcher thread pushes)
// and one HTTP watch response (the serving thread pulls newline-delimited JSON lines).
//
// Events become ADDED/MODIFIED/DELETED lines in revision order. The stream ends, after one
// final ERROR line, when the watch ends with an error (a compacted start revision is 410
// Expired: list again and watch from the list's resourceVersion) or when more than
// max_queued_events wait unsent (the client is too slow; also 410 Expired). A value that
// failed to decode is skipped and the stream goes on.
//
// Thread-safety: Push and Next may be called from different threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "mas/resource/store.h"

namespace grid::mas::api {

inline constexpr size_t kDefaultMaxWatchQueuedEvents = 1024;

class WatchStream {
 public:
  // `start_revision`: the revision the client has already seen (bookmarks report it until
  // the first event arrives).
  WatchStream(Kind kind, int64_t seen_revision, size_t max_queued_events);

  // Queues `line` unconditionally (the initial ADDED lines of a list-then-watch).
  void PushLine(std::string line, int64_t revision);
  // Called by the store watch for each update.
  void Push(const ResourceWatchUpdate& update);

  struct Batch {
    std::string data;  // zero or more complete lines
    bool end = false;  // the stream is over once `data` is written
  };
  // Waits up to `wait` for lines; returns what is queued (possibly nothing).
  Batch Next(std::chrono::milliseconds wait);

  // The revision of the last line handed out by Next (for bookmarks).
  int64_t seen_revision() const;
  size_t queued() const;

 private:
  void EndLocked(const Status& status);

  const Kind kind_;
  const size_t max_queued_events_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, int64_t>> lines_;  // guarded by mu_; (line, revision)
  bool ended_ = false;                                  // guarded by mu_; no more pushes
  std::string final_line_;                              // guarded by mu_; the ERROR line
  int64_t seen_revision_;                               // guarded by mu_
};

}  // namespace grid::mas::api
