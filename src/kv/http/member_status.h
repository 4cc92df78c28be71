// MemberStatusSource over a running member's parts: the alarm table, the log's read barrier
// and indexes, and the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "etcd/rpc.pb.h"
#include "kv/http/etcd_handler.h"
#include "kv/server/proposer.h"
#include "storage/mvcc/store.h"

namespace grid::kv::http {

// Every pointer and function must stay valid, and be callable from any thread, until the
// MemberStatus is destroyed.
struct MemberStatusDeps {
  Proposer* proposer = nullptr;  // ReadBarrier: the health check's linearizable read
  const mvcc::Store* store = nullptr;
  std::function<std::vector<etcdserverpb::AlarmMember>()> alarms;
  std::function<uint64_t()> committed_index;
  std::function<uint64_t()> applied_index;
  // Empty: always (a single member is its own leader).
  std::function<bool()> has_leader;
  std::function<bool()> is_leader;
  uint64_t member_id = 0;
  int64_t quota_backend_bytes = 0;
  std::string server_version = "3.4.23";
};

// Thread-safe.
class MemberStatus final : public MemberStatusSource {
 public:
  explicit MemberStatus(MemberStatusDeps deps);

  std::vector<std::string> ActiveAlarms() const override;
  bool HasLeader() const override;
  bool LinearizableReadWithin(std::chrono::milliseconds timeout) const override;
  MetricsSnapshot Metrics() const override;

 private:
  const MemberStatusDeps deps_;
  const std::chrono::steady_clock::time_point started_;
};

}  // namespace grid::kv::http
