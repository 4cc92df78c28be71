#include "kv/lease/lessor.h"

#include <algorithm>

namespace grid::kv::lease {

namespace {

constexpr int64_t kMsPerSecond = 1000;

}  // namespace

int64_t MinLeaseTtlSeconds(int64_t heartbeat_ms, int64_t election_timeout_ms) {
  GRID_CHECK(heartbeat_ms > 0) << "heartbeat_ms " << heartbeat_ms;
  const int64_t election_ticks = election_timeout_ms / heartbeat_ms;
  const int64_t min_ttl_ms = ((3 * election_ticks) / 2) * heartbeat_ms;
  return (min_ttl_ms + kMsPerSecond - 1) / kMsPerSecond;
}

Lessor::Lessor(const Clock& clock, LessorOptions options)
    : clock_(clock), options_(std::move(options)) {}

void Lessor::SetExpiryLocked(int64_t id, Lease& lease, int64_t expiry_ms) {
  by_expiry_.erase({lease.expiry_ms, id});
  lease.expiry_ms = expiry_ms;
  by_expiry_.insert({expiry_ms, id});
}

kvpb::LeaseRecord Lessor::RecordLocked(int64_t id, const Lease& lease) const {
  kvpb::LeaseRecord record;
  record.set_id(id);
  record.set_ttl_seconds(lease.ttl_seconds);
  record.set_remaining_ttl_seconds(lease.remaining_ttl_seconds);
  return record;
}

Status Lessor::Grant(int64_t id, int64_t ttl_seconds, kvpb::LeaseRecord* to_persist) {
  if (id == 0) return NotFound(kErrLeaseNotFound);
  if (ttl_seconds > kMaxLeaseTtlSeconds) return OutOfRange(kErrLeaseTtlTooLarge);
  std::lock_guard lock(mu_);
  if (leases_.count(id) != 0) return FailedPrecondition(kErrLeaseExists);
  if (leases_.size() >= options_.max_leases) return ResourceExhausted(kErrTooManyLeases);
  Lease& lease = leases_[id];
  lease.ttl_seconds = std::max(ttl_seconds, options_.min_ttl_seconds);
  lease.expiry_ms = clock_.NowMs() + lease.ttl_seconds * kMsPerSecond;
  by_expiry_.insert({lease.expiry_ms, id});
  *to_persist = RecordLocked(id, lease);
  return Status::Ok();
}

Result<std::vector<std::string>> Lessor::Revoke(int64_t id) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return NotFound(kErrLeaseNotFound);
  std::vector<std::string> keys(it->second.keys.begin(), it->second.keys.end());
  by_expiry_.erase({it->second.expiry_ms, id});
  checkpoint_clears_.erase(id);
  leases_.erase(it);
  return keys;
}

bool Lessor::Checkpoint(int64_t id, int64_t remaining_ttl_seconds,
                        kvpb::LeaseRecord* to_persist) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return false;
  it->second.remaining_ttl_seconds = std::max<int64_t>(remaining_ttl_seconds, 0);
  if (it->second.remaining_ttl_seconds == 0) checkpoint_clears_.erase(id);
  *to_persist = RecordLocked(id, it->second);
  return true;
}

size_t Lessor::Recover(const std::vector<kvpb::LeaseRecord>& records,
                       const std::vector<LeasedKey>& keys_with_leases) {
  std::lock_guard lock(mu_);
  leases_.clear();
  by_expiry_.clear();
  checkpoint_clears_.clear();
  const int64_t now_ms = clock_.NowMs();
  for (const kvpb::LeaseRecord& record : records) {
    Lease& lease = leases_[record.id()];
    lease.ttl_seconds = std::max(record.ttl_seconds(), options_.min_ttl_seconds);
    lease.remaining_ttl_seconds = std::max<int64_t>(record.remaining_ttl_seconds(), 0);
    const int64_t grant_seconds =
        lease.remaining_ttl_seconds > 0 ? lease.remaining_ttl_seconds : lease.ttl_seconds;
    lease.expiry_ms = now_ms + grant_seconds * kMsPerSecond;
    by_expiry_.insert({lease.expiry_ms, record.id()});
  }
  size_t orphans = 0;
  for (const LeasedKey& leased : keys_with_leases) {
    auto it = leases_.find(leased.lease_id);
    if (it == leases_.end()) {
      ++orphans;
      continue;
    }
    it->second.keys.insert(leased.key);
  }
  return orphans;
}

bool Lessor::LeaseExists(int64_t lease_id) const {
  std::lock_guard lock(mu_);
  return leases_.count(lease_id) != 0;
}

void Lessor::Attach(int64_t lease_id, std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(lease_id);
  GRID_CHECK(it != leases_.end()) << "attach to unknown lease " << lease_id;
  it->second.keys.emplace(key);
}

void Lessor::Detach(int64_t lease_id, std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return;
  auto key_it = it->second.keys.find(key);
  if (key_it != it->second.keys.end()) it->second.keys.erase(key_it);
}

Result<int64_t> Lessor::Renew(int64_t id) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return NotFound(kErrLeaseNotFound);
  Lease& lease = it->second;
  const int64_t now_ms = clock_.NowMs();
  if (lease.expiry_ms <= now_ms) return NotFound(kErrLeaseNotFound);
  SetExpiryLocked(id, lease, now_ms + lease.ttl_seconds * kMsPerSecond);
  if (lease.remaining_ttl_seconds > 0) checkpoint_clears_.insert(id);
  return lease.ttl_seconds;
}

void Lessor::Promote(int64_t extend_ms) {
  std::lock_guard lock(mu_);
  const int64_t now_ms = clock_.NowMs();
  for (auto& [id, lease] : leases_) {
    const int64_t ttl_s =
        lease.remaining_ttl_seconds > 0 ? lease.remaining_ttl_seconds : lease.ttl_seconds;
    SetExpiryLocked(id, lease, now_ms + extend_ms + ttl_s * kMsPerSecond);
  }
}

Result<TimeToLiveResult> Lessor::TimeToLive(int64_t id, bool with_keys) const {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return NotFound(kErrLeaseNotFound);
  const Lease& lease = it->second;
  TimeToLiveResult result;
  result.granted_ttl_seconds = lease.ttl_seconds;
  result.remaining_ttl_seconds =
      std::max<int64_t>(0, (lease.expiry_ms - clock_.NowMs()) / kMsPerSecond);
  if (with_keys) result.keys.assign(lease.keys.begin(), lease.keys.end());
  return result;
}

std::vector<int64_t> Lessor::Leases() const {
  std::lock_guard lock(mu_);
  std::vector<int64_t> ids;
  ids.reserve(by_expiry_.size());
  for (const auto& [expiry_ms, id] : by_expiry_) ids.push_back(id);
  return ids;
}

std::vector<int64_t> Lessor::FindExpired(size_t max_count,
                                         const std::unordered_set<int64_t>& exclude) const {
  std::lock_guard lock(mu_);
  const int64_t now_ms = clock_.NowMs();
  std::vector<int64_t> expired;
  for (auto it = by_expiry_.begin();
       it != by_expiry_.end() && it->first <= now_ms && expired.size() < max_count; ++it) {
    if (exclude.count(it->second) == 0) expired.push_back(it->second);
  }
  return expired;
}

std::vector<kvpb::LeaseCheckpoint> Lessor::CollectCheckpoints() const {
  std::lock_guard lock(mu_);
  const int64_t now_ms = clock_.NowMs();
  std::vector<kvpb::LeaseCheckpoint> checkpoints;
  for (const auto& [id, lease] : leases_) {
    if (lease.expiry_ms <= now_ms) continue;  // its revoke is coming
    const int64_t remaining_seconds =
        (lease.expiry_ms - now_ms + kMsPerSecond - 1) / kMsPerSecond;
    if (remaining_seconds >= lease.ttl_seconds) continue;
    kvpb::LeaseCheckpoint& checkpoint = checkpoints.emplace_back();
    checkpoint.set_id(id);
    checkpoint.set_remaining_ttl_seconds(remaining_seconds);
  }
  return checkpoints;
}

std::vector<int64_t> Lessor::TakeCheckpointClears(size_t max_count) {
  std::lock_guard lock(mu_);
  std::vector<int64_t> ids;
  while (!checkpoint_clears_.empty() && ids.size() < max_count) {
    ids.push_back(*checkpoint_clears_.begin());
    checkpoint_clears_.erase(checkpoint_clears_.begin());
  }
  return ids;
}

size_t Lessor::size() const {
  std::lock_guard lock(mu_);
  return leases_.size();
}

}  // namespace grid::kv::lease
