// Test-only: a tiny in-memory network of Nodes. Each member persists its Readys into its own
// MemoryStorage, applies committed entries (membership changes through ApplyConfChange), and
// queues its messages; the test decides when messages are delivered and which are dropped.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <ostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "raft/node.h"
#include "raft/storage.h"
#include "raft/types.h"

namespace grid::raft {

template <typename Tag>
void PrintTo(StrongU64<Tag> v, std::ostream* os) {
  *os << v.value();
}

}  // namespace grid::raft

namespace grid::raft::testing {

inline MemberId M(uint64_t id) { return MemberId(id); }

// The node's view of a member's MemoryStorage; a test can make snapshots unavailable.
class FlakyStorage final : public LogStorage {
 public:
  explicit FlakyStorage(MemoryStorage* s) : s_(s) {}
  InitialState GetInitialState() const override { return s_->GetInitialState(); }
  Result<std::vector<Entry>> Entries(Index lo, Index hi, uint64_t max_bytes) const override {
    return s_->Entries(lo, hi, max_bytes);
  }
  Result<Term> TermAt(Index i) const override { return s_->TermAt(i); }
  Index FirstIndex() const override { return s_->FirstIndex(); }
  Index LastIndex() const override { return s_->LastIndex(); }
  Result<Snapshot> GetSnapshot() const override {
    if (snapshot_unavailable) return Unavailable("snapshot is being created");
    return s_->GetSnapshot();
  }
  bool snapshot_unavailable = false;

 private:
  MemoryStorage* s_;
};

struct Member {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<FlakyStorage> view;
  std::unique_ptr<Node> node;
  Config config;
  std::vector<std::string> applied;  // data of applied non-empty normal entries
  std::vector<ReadState> reads;
  ConfState conf_state;
  Index applied_index;
  int snapshots_installed = 0;
};

struct ClusterOptions {
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t seed = 1;
  std::function<void(Config&)> tweak;  // per-member overrides
};

class Cluster {
 public:
  explicit Cluster(std::vector<uint64_t> voters, std::vector<uint64_t> learners = {},
                   ClusterOptions options = {})
      : options_(std::move(options)) {
    ConfState cs;
    for (uint64_t v : voters) cs.voters.push_back(M(v));
    for (uint64_t l : learners) cs.learners.push_back(M(l));
    for (uint64_t v : voters) AddMember(v, cs);
    for (uint64_t l : learners) AddMember(l, cs);
  }

  // A member with the given bootstrap configuration (empty: it waits to be added).
  void AddMember(uint64_t id, const ConfState& cs) {
    auto m = std::make_unique<Member>();
    m->storage = std::make_unique<MemoryStorage>();
    Snapshot boot;
    boot.meta.conf_state = cs;
    EXPECT_TRUE(m->storage->ApplySnapshot(boot).ok());
    m->conf_state = cs;
    m->view = std::make_unique<FlakyStorage>(m->storage.get());
    m->config = MakeConfig(id);
    auto node = Node::Create(m->config, m->view.get());
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    m->node = std::move(node).value();
    members_[id] = std::move(m);
  }

  Config MakeConfig(uint64_t id) const {
    Config c;
    c.id = M(id);
    c.election_ticks = options_.election_ticks;
    c.heartbeat_ticks = options_.heartbeat_ticks;
    c.pre_vote = options_.pre_vote;
    c.check_quorum = options_.check_quorum;
    c.random_seed = options_.seed * 1000 + id;
    if (options_.tweak) options_.tweak(c);
    return c;
  }

  // Replaces member `id`'s node by a fresh one over the same storage (a restart).
  void Restart(uint64_t id) {
    Member& m = member(id);
    m.config.applied = m.applied_index;
    auto node = Node::Create(m.config, m.view.get());
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    m.node = std::move(node).value();
  }

  // Member `id` takes a snapshot of what it applied and compacts its log up to it.
  void Snap(uint64_t id) {
    Member& m = member(id);
    std::string data;
    if (snapshot_carries_state) {
      for (const std::string& d : m.applied) data += d + "\n";
    } else {
      data = std::to_string(m.applied_index.value());
    }
    ASSERT_TRUE(m.storage->CreateSnapshot(m.applied_index, m.conf_state, data).ok());
    ASSERT_TRUE(m.storage->Compact(m.applied_index).ok());
  }

  Member& member(uint64_t id) { return *members_.at(id); }
  Node& node(uint64_t id) { return *members_.at(id)->node; }
  MemoryStorage& storage(uint64_t id) { return *members_.at(id)->storage; }
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> out;
    for (const auto& [id, m] : members_) out.push_back(id);
    return out;
  }

  // Persists, applies and queues the messages of one Ready of `id`, then Advances.
  bool Process(uint64_t id) {
    Node& n = node(id);
    if (!n.HasReady()) return false;
    Ready rd = n.GetReady();
    Persist(id, rd);
    Apply(id, rd);
    for (Message& msg : rd.messages) Enqueue(std::move(msg));
    n.Advance(rd);
    return true;
  }

  void Persist(uint64_t id, const Ready& rd) {
    Member& m = member(id);
    if (rd.snapshot) {
      EXPECT_TRUE(m.storage->ApplySnapshot(*rd.snapshot).ok());
    }
    m.storage->Append(rd.entries);
    if (rd.hard_state) m.storage->SetHardState(*rd.hard_state);
  }

  void Apply(uint64_t id, const Ready& rd) {
    Member& m = member(id);
    if (rd.snapshot) {
      m.applied_index = rd.snapshot->meta.index;
      m.conf_state = rd.snapshot->meta.conf_state;
      m.applied.clear();
      if (snapshot_carries_state) {
        const std::string& d = rd.snapshot->data;
        for (size_t pos = 0; pos < d.size();) {
          const size_t end = d.find('\n', pos);
          m.applied.push_back(d.substr(pos, end - pos));
          pos = end + 1;
        }
      } else if (!rd.snapshot->data.empty()) {
        m.applied.push_back("snap:" + rd.snapshot->data);
      }
      ++m.snapshots_installed;
    }
    for (const Entry& e : rd.committed_entries) {
      // Applied indexes never pass what is durable locally.
      EXPECT_LE(e.index, m.storage->LastIndex()) << "member " << id;
      EXPECT_EQ(e.index, m.applied_index + 1) << "member " << id;
      m.applied_index = e.index;
      if (e.type == EntryType::kConfChange) {
        ConfChange cc;
        EXPECT_TRUE(DecodeConfChange(e.data, &cc));
        m.conf_state = m.node->ApplyConfChange(cc);
      } else if (!e.data.empty()) {
        m.applied.push_back(e.data);
      }
    }
    for (const ReadState& rs : rd.read_states) m.reads.push_back(rs);
  }

  void Enqueue(Message m) {
    trace.push_back(m);
    queue_.push_back(std::move(m));
  }

  bool Dropped(const Message& m) const {
    if (isolated_.count(m.from.value()) || isolated_.count(m.to.value())) return true;
    if (cut_.count({m.from.value(), m.to.value()})) return true;
    return drop && drop(m);
  }

  // Delivers the queued messages (not those they cause). Returns how many were delivered.
  size_t DeliverAll() {
    std::deque<Message> batch;
    batch.swap(queue_);
    size_t n = 0;
    for (Message& m : batch) {
      if (Dropped(m) || members_.count(m.to.value()) == 0) {
        // A transport knows when a snapshot did not get through, and says so.
        if (report_snapshot_status && m.type == MessageType::kSnap &&
            members_.count(m.from.value()) != 0) {
          node(m.from.value()).ReportSnapshot(m.to, false);
        }
        continue;
      }
      const MemberId from = m.from;
      const MemberId to = m.to;
      const bool snapshot = m.type == MessageType::kSnap;
      Status s = node(to.value()).Step(std::move(m));
      EXPECT_TRUE(s.ok()) << s.ToString();
      // ... and one that got through, as a transport does once the stream is done: the
      // leader must not wait for the follower's answer, which may be lost.
      if (report_snapshot_status && snapshot && members_.count(from.value()) != 0) {
        node(from.value()).ReportSnapshot(to, true);
      }
      ++n;
    }
    return n;
  }

  std::vector<Message> TakeQueued() {
    std::vector<Message> out(queue_.begin(), queue_.end());
    queue_.clear();
    return out;
  }

  // Processes Readys and delivers messages until nothing moves.
  void Stabilize(int max_rounds = 10000) {
    for (int round = 0; round < max_rounds; ++round) {
      bool moved = false;
      for (uint64_t id : ids()) {
        while (Process(id)) moved = true;
      }
      if (DeliverAll() > 0) moved = true;
      if (!moved && queue_.empty()) return;
    }
    ADD_FAILURE() << "cluster did not stabilize";
  }

  void Tick(uint64_t id, int n = 1) {
    for (int i = 0; i < n; ++i) node(id).Tick();
  }
  void TickAll(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (uint64_t id : ids()) node(id).Tick();
    }
  }
  // Ticks everyone and stabilizes after each tick.
  void Run(int ticks) {
    for (int i = 0; i < ticks; ++i) {
      TickAll();
      Stabilize();
    }
  }

  void Campaign(uint64_t id) {
    Message hup;
    hup.type = MessageType::kHup;
    EXPECT_TRUE(node(id).Step(hup).ok());
    Stabilize();
  }

  void Propose(uint64_t id, const std::string& data) {
    Status s = node(id).Propose(data);
    EXPECT_TRUE(s.ok()) << s.ToString();
    Stabilize();
  }

  Role RoleOf(uint64_t id) const { return members_.at(id)->node->GetStatus().soft_state.role; }
  Term TermOf(uint64_t id) const { return members_.at(id)->node->GetStatus().hard_state.term; }
  Index CommitOf(uint64_t id) const {
    return members_.at(id)->node->GetStatus().hard_state.commit;
  }
  // The member that believes it leads, 0 if none (or more than one in the highest term).
  uint64_t Leader() const {
    uint64_t leader = 0;
    Term best;
    for (const auto& [id, m] : members_) {
      auto st = m->node->GetStatus();
      if (st.soft_state.role == Role::kLeader && st.hard_state.term >= best) {
        leader = id;
        best = st.hard_state.term;
      }
    }
    return leader;
  }

  void Isolate(uint64_t id) { isolated_.insert(id); }
  void Cut(uint64_t a, uint64_t b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void HealPartitions() {
    isolated_.clear();
    cut_.clear();
  }
  void Heal() {
    HealPartitions();
    drop = nullptr;
  }

  // Snapshots hold the applied list itself (instead of the applied index).
  bool snapshot_carries_state = false;
  // Each kSnap is reported to its sender: ReportSnapshot(to, false) when dropped, (to, true)
  // when delivered.
  bool report_snapshot_status = false;
  std::function<bool(const Message&)> drop;  // true: drop the message
  std::vector<Message> trace;                 // every message taken from a Ready

 private:
  ClusterOptions options_;
  std::map<uint64_t, std::unique_ptr<Member>> members_;
  std::deque<Message> queue_;
  std::set<uint64_t> isolated_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
};

inline std::vector<Message> OfType(const std::vector<Message>& ms, MessageType t) {
  std::vector<Message> out;
  for (const Message& m : ms) {
    if (m.type == t) out.push_back(m);
  }
  return out;
}

}  // namespace grid::raft::testing
