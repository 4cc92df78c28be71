// etcd's --auto-compaction-mode/--auto-compaction-retention:
//   periodic: retention is a duration ("1" = 1 hour, or "30m", "90s", "2h"); every
//             retention/10 (at most every hour) the revision current `retention` ago is
//             compacted.
//   revision: retention is a count N; every 5 minutes revisions older than current - N are
//             compacted.
// Compactions are proposed through the log like a client's Compact. One thread; Stop() joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "kv/server/proposer.h"
#include "storage/mvcc/store.h"

namespace grid::kv {

// Parses etcd's retention: "0" (off), an integer of hours for periodic, or a duration with a
// unit of s, m or h. Returns milliseconds (periodic) or the count (revision).
Result<int64_t> ParseRetention(const std::string& mode, const std::string& retention);

class AutoCompactor {
 public:
  // Interval of revision mode (etcd's revInterval).
  static constexpr std::chrono::minutes kRevisionModeInterval{5};

  AutoCompactor(const mvcc::Store* store, Proposer* proposer, std::string mode,
                std::string retention);
  ~AutoCompactor();

  // Returns the parse error of a bad mode or retention; does nothing when retention is 0.
  Status Start();
  void Stop();

 private:
  void Run(std::chrono::milliseconds interval, int64_t retention);
  void Propose(int64_t revision);

  const mvcc::Store* const store_;
  Proposer* const proposer_;
  const std::string mode_;
  const std::string retention_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace grid::kv
