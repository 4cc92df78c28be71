// Node: the Ready / Advance hand-off between the Raft state machine and its caller.
#include "raft/node.h"

#include <algorithm>

#include "raft/raft.h"

namespace grid::raft {
namespace {

class NodeImpl final : public Node {
 public:
  NodeImpl(const Config& config, LogStorage* storage)
      : raft_(config, storage), prev_soft_(raft_.soft_state()), prev_hard_(raft_.hard_state()) {}

  void Tick() override { raft_.Tick(); }
  Status Step(Message m) override { return raft_.Step(std::move(m)); }

  Status Propose(std::string data) override {
    Entry e;
    e.data = std::move(data);
    return raft_.Propose({std::move(e)});
  }

  Status ProposeAll(std::vector<std::string> data) override {
    GRID_CHECK(!data.empty()) << "ProposeAll of nothing";
    std::vector<Entry> entries(data.size());
    for (size_t i = 0; i < data.size(); ++i) entries[i].data = std::move(data[i]);
    return raft_.Propose(std::move(entries));
  }

  Status ProposeConfChange(const ConfChange& cc) override {
    Entry e;
    e.type = EntryType::kConfChange;
    e.data = EncodeConfChange(cc);
    return raft_.Propose({std::move(e)});
  }

  ConfState ApplyConfChange(const ConfChange& cc) override { return raft_.ApplyConfChange(cc); }
  void ReadIndex(std::string request_ctx) override { raft_.ReadIndex(std::move(request_ctx)); }
  void TransferLeadership(MemberId transferee) override { raft_.TransferLeadership(transferee); }

  void ReportUnreachable(MemberId peer) override {
    Message m;
    m.type = MessageType::kUnreachable;
    m.from = peer;
    (void)raft_.Step(std::move(m));
  }

  void ReportSnapshot(MemberId peer, bool ok) override {
    Message m;
    m.type = MessageType::kSnapStatus;
    m.from = peer;
    m.reject = !ok;
    (void)raft_.Step(std::move(m));
  }

  bool HasReady() const override {
    if (ready_outstanding_) return false;
    const RaftLog& log = raft_.log();
    return raft_.soft_state() != prev_soft_ || raft_.hard_state() != prev_hard_ ||
           log.UnstableSnapshot().has_value() || !log.UnstableEntries().empty() ||
           raft_.HasMessagesOrReads() || log.HasNextCommittedEntries();
  }

  Ready GetReady() override {
    GRID_CHECK(!ready_outstanding_) << "GetReady before Advance of the previous Ready";
    ready_outstanding_ = true;
    RaftLog& log = raft_.log();
    Ready rd;
    const SoftState soft = raft_.soft_state();
    if (soft != prev_soft_) {
      rd.soft_state = soft;
      prev_soft_ = soft;
    }
    const HardState hard = raft_.hard_state();
    bool term_or_vote_changed = false;
    if (hard != prev_hard_) {
      term_or_vote_changed = hard.term != prev_hard_.term || hard.vote != prev_hard_.vote;
      rd.hard_state = hard;
      prev_hard_ = hard;
    }
    rd.read_states = raft_.TakeReadStates();
    rd.entries = log.UnstableEntries();
    rd.snapshot = log.UnstableSnapshot();
    rd.committed_entries = log.NextCommittedEntries(raft_.max_committed_entries_bytes_per_ready());
    rd.messages = raft_.TakeMessages();
    rd.must_sync = !rd.entries.empty() || rd.snapshot.has_value() || term_or_vote_changed;
    // §10.2.1 lets a leader send its entries while it writes them; a new term or vote must be
    // durable before anybody hears of it.
    rd.messages_may_precede_persist = raft_.role() == Role::kLeader && !term_or_vote_changed;
    return rd;
  }

  void Advance(const Ready& rd) override {
    GRID_CHECK(ready_outstanding_) << "Advance without GetReady";
    ready_outstanding_ = false;
    RaftLog& log = raft_.log();
    if (rd.snapshot) {
      log.StableSnapshotTo(rd.snapshot->meta.index);
      if (rd.snapshot->meta.index > log.applied()) raft_.OnApplied(rd.snapshot->meta.index);
    }
    if (!rd.entries.empty()) log.StableTo(rd.entries.back().index, rd.entries.back().term);
    if (!rd.committed_entries.empty()) raft_.OnApplied(rd.committed_entries.back().index);
    raft_.OnPersisted();
  }

  NodeStatus GetStatus() const override {
    NodeStatus st;
    st.id = raft_.id();
    st.soft_state = raft_.soft_state();
    st.hard_state = raft_.hard_state();
    st.applied = raft_.log().applied();
    st.last_index = raft_.log().LastIndex();
    st.lead_transferee = raft_.lead_transferee();
    st.conf_state = raft_.tracker().GetConfState();
    if (raft_.role() == Role::kLeader) {
      for (const auto& [id, pr] : raft_.tracker().all()) {
        st.progress[id] = FollowerProgress{pr.match, pr.next, pr.state, pr.learner,
                                           pr.recent_active};
      }
    }
    return st;
  }

 private:
  Raft raft_;
  SoftState prev_soft_;
  HardState prev_hard_;
  bool ready_outstanding_ = false;
};

}  // namespace

Result<std::unique_ptr<Node>> Node::Create(const Config& config, LogStorage* storage) {
  if (storage == nullptr) return InvalidArgument("raft: no storage");
  GRID_RETURN_IF_ERROR(Raft::ValidateConfig(config));
  const InitialState st = storage->GetInitialState();
  const Index first = storage->FirstIndex();
  const Index last = storage->LastIndex();
  if (st.hard_state.commit > last) {
    return InvalidArgument("raft: hard state commit " +
                           std::to_string(st.hard_state.commit.value()) + " beyond last index " +
                           std::to_string(last.value()));
  }
  const Index committed = std::max(st.hard_state.commit, first - 1);
  if (config.applied > committed) {
    return InvalidArgument("raft: applied " + std::to_string(config.applied.value()) +
                           " beyond commit " + std::to_string(committed.value()));
  }
  for (MemberId v : st.conf_state.voters) {
    if (v == kNoMember ||
        std::find(st.conf_state.learners.begin(), st.conf_state.learners.end(), v) !=
            st.conf_state.learners.end()) {
      return InvalidArgument("raft: conf state lists member " + std::to_string(v.value()) +
                             " twice or as 0");
    }
  }
  return std::unique_ptr<Node>(new NodeImpl(config, storage));
}

}  // namespace grid::raft
