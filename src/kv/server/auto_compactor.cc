#include "kv/server/auto_compactor.h"

#include <spdlog/spdlog.h>

namespace grid::kv {

Result<int64_t> ParseRetention(const std::string& mode, const std::string& retention) {
  if (retention.empty()) return InvalidArgument("empty --auto-compaction-retention");
  size_t digits = 0;
  while (digits < retention.size() && isdigit(static_cast<unsigned char>(retention[digits]))) {
    ++digits;
  }
  if (digits == 0) {
    return InvalidArgument("bad --auto-compaction-retention '" + retention + "'");
  }
  const int64_t n = std::stoll(retention.substr(0, digits));
  const std::string unit = retention.substr(digits);
  if (mode == "revision") {
    if (!unit.empty()) {
      return InvalidArgument("revision retention must be a count, got '" + retention + "'");
    }
    return n;
  }
  if (mode != "periodic") {
    return InvalidArgument("unknown --auto-compaction-mode '" + mode +
                           "' (periodic or revision)");
  }
  if (unit.empty() || unit == "h") return n * 3600 * 1000;
  if (unit == "m") return n * 60 * 1000;
  if (unit == "s") return n * 1000;
  return InvalidArgument("bad --auto-compaction-retention unit in '" + retention + "'");
}

AutoCompactor::AutoCompactor(const mvcc::Store* store, Proposer* proposer, std::string mode,
                             std::string retention)
    : store_(store), proposer_(proposer), mode_(std::move(mode)), retention_(std::move(retention)) {}

AutoCompactor::~AutoCompactor() { Stop(); }

Status AutoCompactor::Start() {
  GRID_ASSIGN_OR_RETURN(int64_t retention, ParseRetention(mode_, retention_));
  if (retention == 0) return Status::Ok();
  std::chrono::milliseconds interval;
  if (mode_ == "revision") {
    interval = kRevisionModeInterval;
  } else {
    interval = std::chrono::milliseconds(std::min<int64_t>(retention / 10, 3600 * 1000));
    if (interval.count() == 0) interval = std::chrono::milliseconds(1);
  }
  spdlog::info("auto compaction: mode {} retention {}", mode_, retention_);
  thread_ = std::thread([this, interval, retention] { Run(interval, retention); });
  return Status::Ok();
}

void AutoCompactor::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AutoCompactor::Propose(int64_t revision) {
  if (revision <= store_->CompactedRevision()) return;
  kvpb::InternalRequest request;
  request.mutable_compaction()->set_revision(revision);
  proposer_->Propose(std::move(request), [revision](const Status& s, kvpb::InternalResponse) {
    if (s.ok()) {
      spdlog::info("auto compaction: compacted to revision {}", revision);
    } else {
      spdlog::warn("auto compaction to revision {} failed: {}", revision, s.ToString());
    }
  });
}

void AutoCompactor::Run(std::chrono::milliseconds interval, int64_t retention) {
  // periodic: (time, revision) samples; the newest one at least `retention` old is compacted.
  std::deque<std::pair<std::chrono::steady_clock::time_point, int64_t>> samples;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    const int64_t current = store_->CurrentRevision();
    if (mode_ == "revision") {
      if (current - retention > 0) Propose(current - retention);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    samples.emplace_back(now, current);
    int64_t target = 0;
    while (!samples.empty() &&
           now - samples.front().first >= std::chrono::milliseconds(retention)) {
      target = samples.front().second;
      samples.pop_front();
    }
    if (target > 0) Propose(target);
  }
}

}  // namespace grid::kv
