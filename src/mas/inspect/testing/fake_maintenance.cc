#include "mas/inspect/testing/fake_maintenance.h"

#include <algorithm>

#include <fmt/format.h>

namespace grid::mas::inspect::testing {
namespace {

using kvcluster::AlarmInfo;
using kvcluster::ClusterApi;

class FakeMaintenanceApi final : public ClusterApi {
 public:
  FakeMaintenanceApi(std::unique_ptr<ClusterApi> base, FakeMaintenance* m)
      : base_(std::move(base)), m_(m) {}
  Result<std::vector<kvcluster::MemberInfo>> MemberList() override { return base_->MemberList(); }
  Result<uint64_t> MemberAdd(const std::string& peer_url, bool is_learner) override {
    return base_->MemberAdd(peer_url, is_learner);
  }
  Status MemberPromote(uint64_t id) override { return base_->MemberPromote(id); }
  Status MemberRemove(uint64_t id) override { return base_->MemberRemove(id); }
  Status MoveLeader(uint64_t target_id) override { return base_->MoveLeader(target_id); }
  Result<kvcluster::EndpointStatus> GetStatus(const std::string& endpoint) override {
    return m_->GetStatus(base_.get(), endpoint);
  }
  Result<kvcluster::HashKVResult> HashKV(const std::string& endpoint, int64_t revision) override {
    return m_->HashKV(base_.get(), endpoint, revision);
  }
  Result<std::vector<AlarmInfo>> AlarmList() override { return m_->AlarmList(); }
  Status AlarmDisarm(const AlarmInfo& alarm) override { return m_->AlarmDisarm(alarm); }
  Status Defragment(const std::string& endpoint) override {
    return m_->Defragment(base_.get(), endpoint);
  }
  Status Compact(int64_t revision) override { return m_->Compact(revision); }

 private:
  std::unique_ptr<ClusterApi> base_;
  FakeMaintenance* const m_;
};

}  // namespace

kvcluster::ClusterApiFactory FakeMaintenance::Factory(kvcluster::ClusterApiFactory base) {
  return [this, base](const std::vector<std::string>& endpoints)
             -> Result<std::unique_ptr<ClusterApi>> {
    GRID_ASSIGN_OR_RETURN(auto api, base(endpoints));
    return std::unique_ptr<ClusterApi>(std::make_unique<FakeMaintenanceApi>(std::move(api), this));
  };
}

void FakeMaintenance::SetRevision(int64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  revision_ = revision;
}
void FakeMaintenance::SetEndpointRevision(const std::string& endpoint, int64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  endpoint_revision_[endpoint] = revision;
}
void FakeMaintenance::SetHash(const std::string& endpoint, uint32_t hash) {
  std::lock_guard<std::mutex> lock(mu_);
  hash_[endpoint] = hash;
}
void FakeMaintenance::SetDbSize(const std::string& endpoint, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  db_size_[endpoint] = bytes;
}
void FakeMaintenance::SetDefragmentedSize(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  defragmented_size_ = bytes;
}
void FakeMaintenance::RaiseAlarm(const AlarmInfo& alarm) {
  std::lock_guard<std::mutex> lock(mu_);
  alarms_.push_back(alarm);
}
void FakeMaintenance::FailNext(const std::string& op, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_[op] = std::move(status);
}
std::vector<AlarmInfo> FakeMaintenance::Alarms() {
  std::lock_guard<std::mutex> lock(mu_);
  return alarms_;
}
int64_t FakeMaintenance::CompactRevision() {
  std::lock_guard<std::mutex> lock(mu_);
  return compact_revision_;
}
std::vector<std::string> FakeMaintenance::Calls() {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

Status FakeMaintenance::TakeFailureLocked(const std::string& op) {
  auto it = fail_next_.find(op);
  if (it == fail_next_.end()) return Status::Ok();
  Status s = std::move(it->second);
  fail_next_.erase(it);
  return s;
}

Result<kvcluster::EndpointStatus> FakeMaintenance::GetStatus(ClusterApi* base,
                                                            const std::string& endpoint) {
  GRID_ASSIGN_OR_RETURN(auto st, base->GetStatus(endpoint));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = db_size_.find(endpoint);
  st.db_size_bytes = it == db_size_.end() ? kFakeDbSizeBytes : it->second;
  st.db_size_in_use_bytes = st.db_size_bytes;
  return st;
}

Result<kvcluster::HashKVResult> FakeMaintenance::HashKV(ClusterApi* base,
                                                       const std::string& endpoint,
                                                       int64_t revision) {
  GRID_RETURN_IF_ERROR(base->GetStatus(endpoint).status());
  std::lock_guard<std::mutex> lock(mu_);
  auto rit = endpoint_revision_.find(endpoint);
  const int64_t current = rit == endpoint_revision_.end() ? revision_ : rit->second;
  if (revision > 0 && revision <= compact_revision_) {
    return OutOfRange("etcdserver: mvcc: required revision has been compacted");
  }
  if (revision > current) return OutOfRange("etcdserver: mvcc: required revision is a future revision");
  const int64_t at = revision == 0 ? current : revision;
  auto hit = hash_.find(endpoint);
  uint32_t hash = hit == hash_.end() ? static_cast<uint32_t>(0x5eed0000u + at) : hit->second;
  return kvcluster::HashKVResult{hash, compact_revision_, current};
}

Result<std::vector<AlarmInfo>> FakeMaintenance::AlarmList() {
  std::lock_guard<std::mutex> lock(mu_);
  GRID_RETURN_IF_ERROR(TakeFailureLocked("AlarmList"));
  return alarms_;
}

Status FakeMaintenance::AlarmDisarm(const AlarmInfo& alarm) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back(fmt::format("AlarmDisarm {} {:x}",
                               alarm.type == kvcluster::AlarmType::kNoSpace ? "NOSPACE" : "OTHER",
                               alarm.member_id));
  GRID_RETURN_IF_ERROR(TakeFailureLocked("AlarmDisarm"));
  alarms_.erase(std::remove(alarms_.begin(), alarms_.end(), alarm), alarms_.end());
  return Status::Ok();
}

Status FakeMaintenance::Defragment(ClusterApi* base, const std::string& endpoint) {
  GRID_RETURN_IF_ERROR(base->GetStatus(endpoint).status());
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back("Defragment " + endpoint);
  GRID_RETURN_IF_ERROR(TakeFailureLocked("Defragment"));
  db_size_[endpoint] = defragmented_size_;
  return Status::Ok();
}

Status FakeMaintenance::Compact(int64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back(fmt::format("Compact {}", revision));
  GRID_RETURN_IF_ERROR(TakeFailureLocked("Compact"));
  if (revision <= compact_revision_) {
    return OutOfRange("etcdserver: mvcc: required revision has been compacted");
  }
  if (revision > revision_) return OutOfRange("etcdserver: mvcc: required revision is a future revision");
  compact_revision_ = revision;
  return Status::Ok();
}

}  // namespace grid::mas::inspect::testing
