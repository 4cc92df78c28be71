#include "kv/replication/raft_host.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "kv/server/errors.h"

namespace grid::kv::replication {
namespace {

// Ordinary proposals that arrived together go to the node as one ProposeAll of at most this
// many bytes (one larger proposal goes alone): one append per follower, or one forwarded
// message from a follower, per run rather than per proposal. As the node's
// max_msg_entries_bytes, far under the transport's max_message_bytes.
constexpr uint64_t kMaxProposalRunBytes = 1 << 20;

Status ErrNoLeader() { return Unavailable("etcdserver: no leader"); }
Status ErrMembershipBusy() {
  return FailedPrecondition("etcdserver: another membership change is in progress");
}

raft::ConfChangeType ConfChangeTypeOf(const kvpb::MemberChange& change) {
  switch (change.kind()) {
    case kvpb::MemberChange::ADD:
      return change.member().is_learner() ? raft::ConfChangeType::kAddLearner
                                          : raft::ConfChangeType::kAddVoter;
    case kvpb::MemberChange::REMOVE:
      return raft::ConfChangeType::kRemove;
    case kvpb::MemberChange::PROMOTE:
      return raft::ConfChangeType::kAddVoter;
    default:
      return raft::ConfChangeType::kUpdate;
  }
}

// Request ids unique across members and restarts (etcd's idutil layout): the member id's low
// 16 bits, then 40 bits of the start time in ms, then an 8-bit counter that carries upwards.
uint64_t FirstRequestId(uint64_t member_id, uint64_t start_time_ms) {
  return ((member_id & 0xffff) << 48) | ((start_time_ms & ((1ull << 40) - 1)) << 8);
}

bool Contains(const std::vector<raft::MemberId>& ids, raft::MemberId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// The bootstrap entries re-add the initial voters that the fresh log's configuration already
// lists; applying them again must change nothing.
bool AlreadyInEffect(const raft::ConfChange& cc, const raft::ConfState& cs) {
  switch (cc.type) {
    case raft::ConfChangeType::kAddVoter:
      return Contains(cs.voters, cc.member);
    case raft::ConfChangeType::kAddLearner:
      return Contains(cs.learners, cc.member);
    default:
      return false;
  }
}

}  // namespace

uint64_t RaftHost::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<RaftHost>> RaftHost::Create(const RaftHostOptions& options,
                                                   std::unique_ptr<DurableLog> log,
                                                   uint64_t applied, RaftHostDeps deps) {
  std::unique_ptr<RaftHost> host(new RaftHost(options, std::move(log), applied, std::move(deps)));
  raft::Config config;
  config.id = raft::MemberId(options.member_id);
  config.election_ticks = options.election_ticks;
  config.heartbeat_ticks = 1;
  config.random_seed = options.member_id ^ options.start_time_ms;
  config.applied = raft::Index(applied);
  GRID_ASSIGN_OR_RETURN(host->node_, raft::Node::Create(config, host->log_->storage()));
  const raft::InitialState initial = host->log_->storage()->GetInitialState();
  host->conf_state_ = initial.conf_state;
  host->term_.store(initial.hard_state.term.value());
  host->PublishStatus();
  return host;
}

RaftHost::RaftHost(const RaftHostOptions& options, std::unique_ptr<DurableLog> log,
                   uint64_t applied, RaftHostDeps deps)
    : options_(options),
      log_(std::move(log)),
      deps_(std::move(deps)),
      applied_(applied),
      next_id_(FirstRequestId(options.member_id, options.start_time_ms)) {
  committed_.store(applied);
}

RaftHost::~RaftHost() { Stop(); }

void RaftHost::Start() {
  // A lone voter campaigns at once; a fresh cluster's members campaign after about a tick.
  const auto& voters = conf_state_.voters;
  if (voters.size() == 1 && voters.front() == raft::MemberId(options_.member_id)) {
    raft::Message hup;
    hup.type = raft::MessageType::kHup;
    (void)node_->Step(std::move(hup));
  } else if (options_.fresh_cluster) {
    for (int i = 0; i + 1 < options_.election_ticks; ++i) node_->Tick();
  }
  thread_ = std::thread([this] { Run(); });
}

void RaftHost::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Inbox rest;
  {
    std::lock_guard lock(mu_);
    std::swap(rest, inbox_);
    inbox_requests_ = 0;
  }
  for (auto& p : rest.proposals) Fail(p.id, ErrStopped());
  for (auto& r : rest.reads) r(ErrStopped());
  for (auto& t : rest.transfers) t.done(ErrStopped());
  FailAll(ErrStopped());
}

void RaftHost::Propose(kvpb::InternalRequest request, ApplyCallback done) {
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refused = ErrStopped();
    } else if (!log_error_.ok()) {
      refused = log_error_;
    } else if (inbox_requests_ >= options_.max_inbox_requests ||
               committed_.load(std::memory_order_relaxed) >
                   applied_ + options_.max_unapplied_entries) {
      refused = ErrTooManyRequests();
    } else {
      request.set_id(++next_id_);
      const bool member_change = request.has_member_change();
      deps_.waits->Register(request.id(), std::move(done));
      inbox_.proposals.push_back(
          PendingProposal{request.id(), request.SerializeAsString(), member_change});
      ++inbox_requests_;
    }
  }
  if (!refused.ok()) {
    done(refused, {});
    return;
  }
  cv_.notify_one();
}

void RaftHost::ReadBarrier(ReadyCallback ready) {
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refused = ErrStopped();
    } else if (inbox_requests_ >= options_.max_inbox_requests) {
      refused = ErrTooManyRequests();
    } else {
      inbox_.reads.push_back(std::move(ready));
      ++inbox_requests_;
    }
  }
  if (!refused.ok()) {
    ready(refused);
    return;
  }
  cv_.notify_one();
}

bool RaftHost::LocalReadIsLinearizable() const {
  std::lock_guard lock(mu_);
  return local_reads_from_ != 0 && applied_ >= local_reads_from_;
}

void RaftHost::UpdateLocalReads() {
  // The node's own configuration (it follows snapshots too), not conf_state_.
  const raft::NodeStatus status = node_->GetStatus();
  const raft::MemberId self(options_.member_id);
  const bool sole_voting_leader = status.soft_state.role == raft::Role::kLeader &&
                                  status.conf_state.voters.size() == 1 &&
                                  status.conf_state.voters.front() == self;
  std::lock_guard lock(mu_);
  if (!sole_voting_leader) {
    local_reads_from_ = 0;
  } else if (local_reads_from_ == 0) {
    // The last index now is at or after the entry that opened this leader's term.
    local_reads_from_ = std::max<uint64_t>(status.last_index.value(), 1);
  }
}

void RaftHost::Receive(std::vector<raft::Message> messages) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    for (auto& m : messages) inbox_.messages.push_back(std::move(m));
  }
  cv_.notify_one();
}

void RaftHost::ReportUnreachable(uint64_t peer) {
  raft::Message m;
  m.type = raft::MessageType::kUnreachable;
  m.from = raft::MemberId(peer);
  Receive({std::move(m)});
}

void RaftHost::ReportSnapshot(uint64_t peer, bool ok) {
  raft::Message m;
  m.type = raft::MessageType::kSnapStatus;
  m.from = raft::MemberId(peer);
  m.reject = !ok;
  Receive({std::move(m)});
}

void RaftHost::TransferLeadership(uint64_t transferee, ReadyCallback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      inbox_.transfers.push_back(PendingTransfer{
          transferee, std::move(done),
          NowMs() + options_.tick_ms * static_cast<uint64_t>(options_.election_ticks) * 2});
      done = nullptr;
    }
  }
  if (done) {
    done(ErrStopped());
    return;
  }
  cv_.notify_one();
}

void RaftHost::OnApplied(uint64_t index) {
  {
    std::lock_guard lock(mu_);
    GRID_CHECK_LE(applied_, index);
    applied_ = index;
  }
  for (auto& ready : deps_.waits->TakeReadWaiters(index)) ready(Status::Ok());
}

void RaftHost::OnMemberChangeApplied(const kvpb::MemberChange& change, bool accepted) {
  if (!accepted) return;  // the table refused it: the configuration stays as it was
  raft::ConfChange cc;
  cc.type = ConfChangeTypeOf(change);
  cc.member = raft::MemberId(change.member().id());
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    inbox_.conf_changes.push_back(std::move(cc));
  }
  cv_.notify_one();
}

void RaftHost::ReleaseUpTo(uint64_t index) {
  {
    std::lock_guard lock(mu_);
    inbox_.release_up_to = std::max(inbox_.release_up_to, index);
  }
  cv_.notify_one();
}

uint64_t RaftHost::applied_index() const {
  std::lock_guard lock(mu_);
  return applied_;
}

raft::NodeStatus RaftHost::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

Status RaftHost::log_error() const {
  std::lock_guard lock(mu_);
  return log_error_;
}

void RaftHost::Run() {
  pthread_setname_np(pthread_self(), "grid-raft");
  uint64_t next_tick_ms = NowMs() + options_.tick_ms;
  Inbox inbox;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock,
                     std::chrono::steady_clock::time_point(std::chrono::milliseconds(next_tick_ms)),
                     [this] { return stopping_ || !inbox_.empty(); });
      if (stopping_) return;
      std::swap(inbox, inbox_);
      inbox_requests_ = 0;
    }
    const uint64_t now_ms = NowMs();
    Handle(inbox, now_ms);
    inbox = Inbox{};
    if (now_ms >= next_tick_ms) {
      node_->Tick();
      SweepTimeouts(now_ms);
      next_tick_ms = std::max(next_tick_ms + options_.tick_ms, now_ms + 1);
    }
    while (node_->HasReady()) {
      HandleReady(node_->GetReady());
      if (!log_error().ok()) {
        FailAll(log_error());
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_; });
        return;
      }
    }
    CompactAlone();
    PublishStatus();
  }
}

void RaftHost::CompactAlone() {
  const raft::MemberId self(options_.member_id);
  if (!conf_state_.learners.empty() || conf_state_.voters.size() != 1 ||
      conf_state_.voters.front() != self) {
    return;
  }
  // A member without peers sends no entries until a member is added: it keeps only the last
  // catch_up_entries applied ones in memory (the WAL keeps the rest until the backend holds
  // them durably), as the leader of a cluster does after a release.
  const uint64_t applied = applied_index();
  if (applied < compacted_alone_ + options_.catch_up_entries +
                    options_.alone_compact_every_entries) {
    return;
  }
  const raft::Index compact_to(applied - options_.catch_up_entries);
  if (compact_to < log_->storage()->FirstIndex()) return;
  if (log_->storage()->Compact(compact_to).ok()) compacted_alone_ = compact_to.value();
}

void RaftHost::Handle(Inbox& inbox, uint64_t now_ms) {
  for (auto& m : inbox.messages) {
    if (Status s = node_->Step(std::move(m)); !s.ok()) {
      spdlog::debug("raft: dropped a message: {}", s.ToString());
    }
  }
  ProposeRuns(inbox.proposals);
  if (!inbox.reads.empty()) {
    std::string ctx(8, '\0');
    const uint64_t n = ++next_read_ctx_;
    for (int i = 0; i < 8; ++i) ctx[i] = static_cast<char>(n >> (8 * i));
    reads_.emplace(ctx, PendingRead{std::move(inbox.reads), now_ms + options_.request_timeout_ms});
    node_->ReadIndex(std::move(ctx));
  }
  for (const raft::ConfChange& cc : inbox.conf_changes) {
    if (!AlreadyInEffect(cc, conf_state_)) conf_state_ = node_->ApplyConfChange(cc);
  }
  if (!inbox.conf_changes.empty()) UpdateLocalReads();
  for (auto& t : inbox.transfers) {
    node_->TransferLeadership(raft::MemberId(t.transferee));
    transfers_.push_back(std::move(t));
  }
  if (inbox.release_up_to > 0) {
    log_->Release(raft::Index(inbox.release_up_to), conf_state_, options_.catch_up_entries);
  }
}

void RaftHost::ProposeRuns(std::vector<PendingProposal>& proposals) {
  size_t i = 0;
  while (i < proposals.size()) {
    if (proposals[i].member_change) {
      ProposeMemberChange(proposals[i]);
      ++i;
      continue;
    }
    std::vector<std::string> run;
    uint64_t run_bytes = 0;
    size_t end = i;
    while (end < proposals.size() && !proposals[end].member_change &&
           (end == i || run_bytes + proposals[end].data.size() <= kMaxProposalRunBytes)) {
      run_bytes += proposals[end].data.size();
      run.push_back(std::move(proposals[end].data));
      ++end;
    }
    const Status s = node_->ProposeAll(std::move(run));
    for (; i < end; ++i) Proposed(proposals[i].id, s);
  }
}

void RaftHost::ProposeMemberChange(PendingProposal& p) {
  kvpb::InternalRequest request;
  GRID_CHECK(request.ParseFromString(p.data));
  raft::ConfChange cc;
  cc.type = ConfChangeTypeOf(request.member_change());
  cc.member = raft::MemberId(request.member_change().member().id());
  cc.context = std::move(p.data);
  Status s = node_->ProposeConfChange(cc);
  if (s.code() == Code::kFailedPrecondition) s = ErrMembershipBusy();
  Proposed(p.id, s);
}

void RaftHost::Proposed(uint64_t id, const Status& s) {
  if (!s.ok()) {
    Fail(id, s.code() == Code::kUnavailable && leader_id() == 0 ? ErrNoLeader()
             : s.code() == Code::kUnavailable                   ? ErrTooManyRequests()
                                                                      : s);
    return;
  }
  proposal_deadlines_.emplace_back(NowMs() + options_.request_timeout_ms, id);
}

void RaftHost::HandleReady(raft::Ready ready) {
  // The term first: whoever sees the new leader also sees its term.
  if (ready.hard_state) {
    const uint64_t term = ready.hard_state->term.value();
    if (term != term_.exchange(term) && deps_.on_leader_change) {
      deps_.on_leader_change(leader_id(), term);
    }
  }
  if (ready.soft_state) {
    const uint64_t leader = ready.soft_state->leader.value();
    if (leader != leader_.exchange(leader)) {
      spdlog::info("raft: member {:x} sees leader {:x} ({})", options_.member_id, leader,
                   raft::RoleName(ready.soft_state->role));
      if (deps_.on_leader_change) deps_.on_leader_change(leader, term());
    }
    UpdateLocalReads();
  }
  const bool sent_early = ready.messages_may_precede_persist && deps_.peers != nullptr;
  if (sent_early && !ready.messages.empty()) deps_.peers->Send(std::move(ready.messages));
  // Reads and committed entries go out before this Ready's entries are synced: a Ready's
  // committed entries never pass what an earlier Ready made durable (RaftLog's stable index),
  // so applying them while the new entries sync keeps the applied index within the durable log
  // and saves a write's client one log sync (etcd applies in parallel with its WAL save too).
  for (const raft::ReadState& rs : ready.read_states) {
    auto it = reads_.find(rs.request_ctx);
    if (it == reads_.end()) continue;  // timed out meanwhile
    std::vector<ReadyCallback> ready_cbs = std::move(it->second.ready);
    reads_.erase(it);
    {
      std::lock_guard lock(mu_);
      if (applied_ < rs.index.value()) {
        // Registered under the lock so OnApplied cannot pass the index unseen.
        for (auto& cb : ready_cbs) deps_.waits->AddReadWaiter(rs.index.value(), std::move(cb));
        continue;
      }
    }
    for (auto& cb : ready_cbs) cb(Status::Ok());
  }
  if (!ready.committed_entries.empty()) {
    std::vector<wal::Entry> committed;
    committed.reserve(ready.committed_entries.size());
    for (raft::Entry& e : ready.committed_entries) {
      if (e.type == raft::EntryType::kConfChange) {
        raft::ConfChange cc;
        GRID_CHECK(raft::DecodeConfChange(e.data, &cc))
            << "committed conf change " << e.index.value() << " does not decode";
        committed.push_back(wal::Entry{e.term.value(), e.index.value(), wal::kEntryConfChange,
                                       std::move(cc.context)});
      } else {
        committed.push_back(wal::Entry{e.term.value(), e.index.value(), wal::kEntryNormal,
                                       std::move(e.data)});
      }
    }
    committed_.store(committed.back().index, std::memory_order_relaxed);
    deps_.sink(std::move(committed));
  }
  Status s;
  if (ready.snapshot && deps_.install_snapshot) s = deps_.install_snapshot(*ready.snapshot);
  if (s.ok()) s = log_->Persist(ready);
  if (s.ok() && ready.snapshot) {
    committed_.store(std::max(committed_.load(std::memory_order_relaxed),
                              ready.snapshot->meta.index.value()),
                     std::memory_order_relaxed);
  }
  if (!s.ok()) {
    spdlog::critical("raft log: write failed, refusing all further writes: {}", s.ToString());
    const Status refused(s.code(), "etcdserver: " + s.message());
    {
      std::lock_guard lock(mu_);
      log_error_ = refused;
    }
    if (deps_.on_fatal) deps_.on_fatal(refused);
    return;
  }
  if (!sent_early && deps_.peers != nullptr && !ready.messages.empty()) {
    deps_.peers->Send(std::move(ready.messages));
  }
  node_->Advance(ready);
  // Transfers finish when this member sees the transferee lead.
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (leader_id() == it->transferee) {
      it->done(Status::Ok());
      it = transfers_.erase(it);
    } else {
      ++it;
    }
  }
}

void RaftHost::SweepTimeouts(uint64_t now_ms) {
  while (!proposal_deadlines_.empty() && proposal_deadlines_.front().first <= now_ms) {
    Fail(proposal_deadlines_.front().second, ErrTimeout());
    proposal_deadlines_.pop_front();
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.deadline_ms <= now_ms) {
      for (auto& cb : it->second.ready) cb(ErrTimeout());
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (it->deadline_ms <= now_ms) {
      it->done(Unavailable("etcdserver: request timed out, leader transfer took too long"));
      it = transfers_.erase(it);
    } else {
      ++it;
    }
  }
}

void RaftHost::Fail(uint64_t id, const Status& status) {
  if (ApplyCallback done = deps_.waits->Take(id)) done(status, {});
}

void RaftHost::FailAll(const Status& status) {
  for (auto& [deadline, id] : proposal_deadlines_) Fail(id, status);
  proposal_deadlines_.clear();
  for (auto& [ctx, read] : reads_) {
    for (auto& cb : read.ready) cb(status);
  }
  reads_.clear();
  for (auto& t : transfers_) t.done(status);
  transfers_.clear();
}

void RaftHost::PublishStatus() {
  raft::NodeStatus s = node_->GetStatus();
  std::lock_guard lock(mu_);
  status_ = std::move(s);
}

}  // namespace grid::kv::replication
