#include "mas/kvcluster/testing/fake_cluster.h"

#include <algorithm>

namespace grid::mas::kvcluster::testing {
namespace {

class FakeClusterApi final : public ClusterApi {
 public:
  explicit FakeClusterApi(FakeCluster* c) : c_(c) {}
  Result<std::vector<MemberInfo>> MemberList() override { return c_->MemberList(); }
  Result<uint64_t> MemberAdd(const std::string& url, bool learner) override {
    return c_->MemberAdd(url, learner);
  }
  Status MemberPromote(uint64_t id) override { return c_->MemberPromote(id); }
  Status MemberRemove(uint64_t id) override { return c_->MemberRemove(id); }
  Status MoveLeader(uint64_t id) override { return c_->MoveLeader(id); }
  Result<EndpointStatus> GetStatus(const std::string& ep) override { return c_->GetStatus(ep); }
  Result<HashKVResult> HashKV(const std::string&, int64_t) override { return HashKVResult{}; }
  Result<std::vector<AlarmInfo>> AlarmList() override { return std::vector<AlarmInfo>{}; }
  Status AlarmDisarm(const AlarmInfo&) override { return Status::Ok(); }
  Status Defragment(const std::string&) override { return Status::Ok(); }
  Status Compact(int64_t) override { return Status::Ok(); }

 private:
  FakeCluster* const c_;
};

}  // namespace

ClusterApiFactory FakeCluster::Factory() {
  return [this](const std::vector<std::string>&) -> Result<std::unique_ptr<ClusterApi>> {
    return std::unique_ptr<ClusterApi>(std::make_unique<FakeClusterApi>(this));
  };
}

void FakeCluster::SetBadVersion(const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  bad_versions_.insert(version);
}

void FakeCluster::SetCatchUpPolls(int polls) {
  std::lock_guard<std::mutex> lock(mu_);
  catch_up_polls_ = polls;
}

void FakeCluster::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  members_.clear();
  bootstrapped_ = false;
  leader_ = 0;
  calls_.push_back("Reset");
}

std::vector<MemberInfo> FakeCluster::Members() {
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
  return members_;
}

uint64_t FakeCluster::LeaderId() {
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
  return leader_;
}

std::vector<std::string> FakeCluster::Calls() {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

uint64_t FakeCluster::AnsweringIdLocked(const std::string& client_url) {
  for (const auto& inst : runtime_->List("kv/")) {
    if (inst.state != runtime::InstanceState::kRunning) continue;
    if (bad_versions_.count(inst.spec.version) > 0) continue;
    if (FakeRuntime::Arg(inst.spec, "--advertise-client-urls") != client_url) continue;
    const std::string peer = FakeRuntime::Arg(inst.spec, "--initial-advertise-peer-urls");
    for (const MemberInfo& m : members_) {
      if (std::find(m.peer_urls.begin(), m.peer_urls.end(), peer) != m.peer_urls.end()) return m.id;
    }
  }
  return 0;
}

std::set<uint64_t> FakeCluster::SyncLocked() {
  const auto instances = runtime_->List("kv/");
  if (!bootstrapped_) {
    for (const auto& inst : instances) {
      if (inst.state != runtime::InstanceState::kRunning ||
          FakeRuntime::Arg(inst.spec, "--initial-cluster-state") != "new") {
        continue;
      }
      std::string initial = FakeRuntime::Arg(inst.spec, "--initial-cluster");
      size_t pos = 0;
      while (pos <= initial.size()) {
        size_t comma = initial.find(',', pos);
        if (comma == std::string::npos) comma = initial.size();
        const std::string item = initial.substr(pos, comma - pos);
        const size_t eq = item.find('=');
        if (eq != std::string::npos) {
          members_.push_back({next_id_++, "", false, {item.substr(eq + 1)}, {}});
        }
        pos = comma + 1;
      }
      bootstrapped_ = true;
      break;
    }
  }
  std::set<uint64_t> answering;
  for (const auto& inst : instances) {
    if (inst.state != runtime::InstanceState::kRunning) continue;
    const std::string client = FakeRuntime::Arg(inst.spec, "--advertise-client-urls");
    const uint64_t id = AnsweringIdLocked(client);
    if (id == 0) continue;
    answering.insert(id);
    for (MemberInfo& m : members_) {
      if (m.id == id && m.name.empty()) {
        m.name = FakeRuntime::Arg(inst.spec, "--name");
        m.client_urls = {client};
      }
    }
  }
  size_t voters = 0, up = 0;
  uint64_t lowest = 0;
  for (const MemberInfo& m : members_) {
    if (m.learner) continue;
    ++voters;
    if (answering.count(m.id) > 0) {
      ++up;
      if (lowest == 0) lowest = m.id;
    }
  }
  if (up * 2 <= voters) {
    leader_ = 0;
  } else if (answering.count(leader_) == 0 ||
             std::none_of(members_.begin(), members_.end(),
                          [&](const MemberInfo& m) { return m.id == leader_ && !m.learner; })) {
    leader_ = lowest;
  }
  return answering;
}

Status FakeCluster::NeedLeaderLocked() {
  SyncLocked();
  return leader_ == 0 ? Unavailable("etcdserver: no leader") : Status::Ok();
}

Result<std::vector<MemberInfo>> FakeCluster::MemberList() {
  std::lock_guard<std::mutex> lock(mu_);
  if (SyncLocked().empty()) return Unavailable("no member answers");
  return members_;
}

Result<uint64_t> FakeCluster::MemberAdd(const std::string& peer_url, bool is_learner) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back("MemberAdd " + peer_url);
  GRID_RETURN_IF_ERROR(NeedLeaderLocked());
  for (const MemberInfo& m : members_) {
    if (m.peer_urls.front() == peer_url) return FailedPrecondition("etcdserver: Peer URLs already exists");
  }
  const uint64_t id = next_id_++;
  members_.push_back({id, "", is_learner, {peer_url}, {}});
  lagging_polls_[id] = catch_up_polls_;
  ++applied_;
  return id;
}

Status FakeCluster::MemberPromote(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back("MemberPromote " + std::to_string(id));
  GRID_RETURN_IF_ERROR(NeedLeaderLocked());
  for (MemberInfo& m : members_) {
    if (m.id != id) continue;
    if (!m.learner) return FailedPrecondition("etcdserver: can only promote a learner member");
    if (lagging_polls_[id] > 0) {
      return FailedPrecondition("etcdserver: can only promote a learner member which is in sync with leader");
    }
    m.learner = false;
    ++applied_;
    return Status::Ok();
  }
  return NotFound("etcdserver: member not found");
}

Status FakeCluster::MemberRemove(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back("MemberRemove " + std::to_string(id));
  GRID_RETURN_IF_ERROR(NeedLeaderLocked());
  const size_t before = members_.size();
  std::erase_if(members_, [&](const MemberInfo& m) { return m.id == id; });
  if (members_.size() == before) return NotFound("etcdserver: member not found");
  ++applied_;
  SyncLocked();
  return Status::Ok();
}

Status FakeCluster::MoveLeader(uint64_t target_id) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back("MoveLeader " + std::to_string(target_id));
  GRID_RETURN_IF_ERROR(NeedLeaderLocked());
  const auto answering = SyncLocked();
  for (const MemberInfo& m : members_) {
    if (m.id == target_id && !m.learner && answering.count(m.id) > 0) {
      leader_ = target_id;
      return Status::Ok();
    }
  }
  return FailedPrecondition("etcdserver: bad leader transferee");
}

Result<EndpointStatus> FakeCluster::GetStatus(const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
  const uint64_t id = AnsweringIdLocked(endpoint);
  if (id == 0) return Unavailable("connection refused: " + endpoint);
  EndpointStatus s;
  s.endpoint = endpoint;
  s.member_id = id;
  s.leader_id = leader_;
  s.applied_index = applied_;
  s.raft_index = applied_;
  if (auto it = lagging_polls_.find(id); it != lagging_polls_.end() && it->second > 0) {
    --it->second;
    s.applied_index = 0;
  }
  return s;
}

}  // namespace grid::mas::kvcluster::testing
