#include "kv/http/member_status.h"

#include <condition_variable>
#include <memory>
#include <mutex>

#include "common/check.h"

namespace grid::kv::http {

MemberStatus::MemberStatus(MemberStatusDeps deps)
    : deps_(std::move(deps)), started_(std::chrono::steady_clock::now()) {
  GRID_CHECK(deps_.proposer != nullptr && deps_.store != nullptr && deps_.alarms &&
             deps_.committed_index && deps_.applied_index);
}

std::vector<std::string> MemberStatus::ActiveAlarms() const {
  std::vector<std::string> names;
  for (const etcdserverpb::AlarmMember& alarm : deps_.alarms()) {
    names.push_back(etcdserverpb::AlarmType_Name(alarm.alarm()));
  }
  return names;
}

bool MemberStatus::HasLeader() const { return !deps_.has_leader || deps_.has_leader(); }

bool MemberStatus::LinearizableReadWithin(std::chrono::milliseconds timeout) const {
  // The callback may run after the wait gave up: the state it touches is shared.
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;  // GUARDED_BY(mu)
    bool ok = false;    // GUARDED_BY(mu)
  };
  auto wait = std::make_shared<Wait>();
  deps_.proposer->ReadBarrier([wait](const Status& status) {
    std::lock_guard lock(wait->mu);
    wait->done = true;
    wait->ok = status.ok();
    wait->cv.notify_all();
  });
  std::unique_lock lock(wait->mu);
  wait->cv.wait_for(lock, timeout, [&] { return wait->done; });
  return wait->done && wait->ok;
}

MetricsSnapshot MemberStatus::Metrics() const {
  MetricsSnapshot s;
  s.server_version = deps_.server_version;
  s.member_id = deps_.member_id;
  s.has_leader = HasLeader();
  s.is_leader = !deps_.is_leader || deps_.is_leader();
  s.committed_index = deps_.committed_index();
  s.applied_index = deps_.applied_index();
  s.quota_backend_bytes = deps_.quota_backend_bytes;
  s.active_alarms = static_cast<int64_t>(deps_.alarms().size());
  s.current_revision = deps_.store->CurrentRevision();
  s.compact_revision = deps_.store->CompactedRevision();
  s.db_total_size_bytes = deps_.store->DbSizeBytes();
  s.db_total_size_in_use_bytes = deps_.store->DbSizeInUseBytes();
  s.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_)
                         .count();
  s.process = ReadProcessMetrics();
  return s;
}

}  // namespace grid::kv::http
