#include "sim/cluster.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "sim/describe.h"

namespace grid::sim {

namespace {

std::string Id(MemberId m) { return std::to_string(m.value()); }

uint64_t Mix64(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

RunResult RunSeed(const SimOptions& options) {
  Scenario scenario = Scenario::FromSeed(options.seed, options.members);
  scenario.member.sabotage_local_reads = options.sabotage_local_reads;
  scenario.member.sabotage_ack_before_sync = options.sabotage_ack_before_sync;
  Cluster cluster(options, scenario);
  return cluster.Run();
}

std::string RunResult::Summary(const SimOptions& o) const {
  std::ostringstream s;
  char hash[32];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(trace_hash));
  s << "seed " << o.seed << " (" << o.members << " members): " << (ok() ? "ok" : "FAILED") << "; "
    << stats.ticks << " ticks, " << stats.ops << " ops (" << stats.ops_ok << " ok, "
    << stats.ops_failed << " refused, " << stats.ops_indeterminate << " indeterminate), "
    << stats.committed_entries << " committed entries, max term " << stats.max_term << ", "
    << stats.crashes << " crashes, " << stats.partitions << " partitions, "
    << stats.conf_changes_applied << " conf changes, " << stats.transfers << " transfers, "
    << stats.snapshots_installed << " snapshots installed, " << stats.messages
    << " messages; trace " << hash;
  if (violation) {
    s << "\n  invariant: " << violation->invariant << "\n  at tick " << violation->tick << ": "
      << violation->detail << "\n  replay: grid-sim --seed " << o.seed << " --members " << o.members
      << " --steps " << o.steps << " --verbose";
  }
  return s.str();
}

Cluster::Cluster(const SimOptions& options, const Scenario& scenario)
    : options_(options),
      scenario_(scenario),
      rng_(Mix64(options.seed, 1)),
      trace_(options.trace_out),
      net_(scenario.network, Rng(Mix64(options.seed, 2))),
      workload_(scenario.workload, Rng(Mix64(options.seed, 3)), &trace_) {}

Member* Cluster::Get(MemberId id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : it->second.get();
}

Member* Cluster::AddMember(MemberId id, const raft::Snapshot& bootstrap) {
  auto m = std::make_unique<Member>(id, bootstrap, scenario_.member,
                                    Rng(Mix64(options_.seed, 100 + id.value())), this);
  Member* p = m.get();
  members_[id] = std::move(m);
  return p;
}

void Cluster::StartMember(Member* m) {
  if (m->up() || m->removed()) return;
  const uint64_t seed = Mix64(Mix64(options_.seed, m->id().value()), m->restarts() + 1);
  Status s = m->Start(seed);
  if (!s.ok()) {
    Violation("restart", "member " + Id(m->id()) + " cannot start: " + s.ToString());
    return;
  }
  if (m->removed()) m->Crash();  // it replayed its own removal: it stays stopped
}

void Cluster::CrashMember(Member* m) {
  if (!m->up()) return;
  m->Crash();
  ++stats_.crashes;
}

Member* Cluster::Leader() const {
  Member* best = nullptr;
  uint64_t best_term = 0;
  for (const auto& [id, m] : members_) {
    if (!m->up() || m->removed()) continue;
    const raft::NodeStatus st = m->status();
    if (st.soft_state.role == raft::Role::kLeader && st.hard_state.term.value() >= best_term) {
      best = m.get();
      best_term = st.hard_state.term.value();
    }
  }
  return best;
}

std::vector<MemberView> Cluster::Views() const {
  std::vector<MemberView> views;
  for (const auto& [id, m] : members_) {
    if (!m->up()) continue;
    views.push_back(MemberView{id, &m->storage(), m->status(), m->idle(), m->restarts()});
  }
  return views;
}

// ---- MemberEnv -------------------------------------------------------------------------

void Cluster::Send(raft::Message m) {
  ++stats_.messages;
  net_.Send(std::move(m), now_);
}

void Cluster::Violation(const std::string& invariant, const std::string& detail) {
  inv_.Fail(invariant, detail, now_);
}

void Cluster::OnApplied(MemberId m, const raft::Entry& e, uint64_t digest_after) {
  inv_.OnApplied(m, e, digest_after, now_);
  if (e.type == raft::EntryType::kConfChange && conf_entries_seen_.insert(e.index.value()).second) {
    ++stats_.conf_changes_applied;
  }
}

void Cluster::OnSnapshotInstalled(MemberId m, const raft::SnapshotMeta& meta, uint64_t digest) {
  ++stats_.snapshots_installed;
  trace_.Add(now_, {30, m.value(), meta.index.value(), meta.term.value()}, [&] {
    return "member " + Id(m) + " installs snapshot " + std::to_string(meta.index.value()) + "@" +
           std::to_string(meta.term.value()) + " " + DescribeConf(meta.conf_state);
  });
  inv_.OnSnapshotInstalled(m, meta, digest, now_);
}

void Cluster::OnConfChangeApplied(MemberId m, const raft::ConfChange& cc) {
  if (cc.type == raft::ConfChangeType::kRemove) removed_.insert(cc.member);
}

void Cluster::OnLeader(MemberId m, raft::Term term) { inv_.NoteLeader(m, term, now_); }

void Cluster::OnWriteDone(MemberId m, const Command& c, const ApplyResult& r,
                          const raft::Entry& e) {
  inv_.OnWriteAcked(m, e, now_);
  workload_.OnWriteDone(c.client, c.seq, r, now_);
}

void Cluster::OnReadDone(MemberId m, uint64_t client, uint64_t seq,
                         const std::optional<std::string>& value) {
  workload_.OnReadDone(client, seq, value, now_);
}

// ---- RequestSink -----------------------------------------------------------------------

std::vector<MemberId> Cluster::RequestTargets() const {
  std::vector<MemberId> out;
  for (const auto& [id, m] : members_) {
    if (m->up() && !m->removed() && !removed_.contains(id)) out.push_back(id);
  }
  return out;
}

Status Cluster::SubmitWrite(MemberId m, const Command& c, uint64_t deadline_tick) {
  Member* member = Get(m);
  if (member == nullptr) return Unavailable("no such member");
  return member->SubmitWrite(c, deadline_tick);
}

void Cluster::SubmitRead(MemberId m, uint64_t client, uint64_t seq, const std::string& key,
                         uint64_t deadline_tick) {
  if (Member* member = Get(m)) member->SubmitRead(client, seq, key, deadline_tick);
}

// ---- The run ---------------------------------------------------------------------------

void Cluster::Deliver() {
  while (std::optional<Envelope> e = net_.PopDue(now_)) {
    raft::Message& m = e->msg;
    const MemberId from = m.from, to = m.to;
    const raft::MessageType type = m.type;
    Member* sender = Get(from);
    Member* target = Get(to);
    const bool snap = type == raft::MessageType::kSnap;
    if (e->lost) {
      if (sender != nullptr) sender->ReportSnapshot(to, false);
      continue;
    }
    const bool target_up = target != nullptr && target->up();
    const bool deliverable =
        target_up && net_.Linked(from, to) && !removed_.contains(from) && !removed_.contains(to);
    MixMessage(trace_, m);
    trace_.Add(now_, {40, deliverable ? 1u : 0u}, [&] {
      return std::string(deliverable ? "deliver " : "lose ") + DescribeMessage(m);
    });
    if (!deliverable) {
      if (sender != nullptr && sender->up()) {
        if (snap) sender->ReportSnapshot(to, false);
        if (type == raft::MessageType::kApp) sender->ReportUnreachable(to);
      }
      continue;
    }
    target->Receive(std::move(m));
    target->Process();
    if (snap && sender != nullptr) sender->ReportSnapshot(to, true);
    if (failed()) return;
  }
}

void Cluster::Tick(bool chaos) {
  ++now_;
  stats_.ticks = now_;
  if (chaos) Chaos();
  for (auto it = restart_at_.begin(); it != restart_at_.end();) {
    if (it->second <= now_) {
      if (Member* m = Get(it->first)) StartMember(m);
      it = restart_at_.erase(it);
    } else {
      ++it;
    }
  }
  workload_.Step(now_, this, chaos);
  for (auto& [id, m] : members_) {
    if (!m->up()) continue;
    if (scenario_.tick_skip_ppm == 0 || !rng_.Chance(scenario_.tick_skip_ppm)) m->Tick();
    m->Process();
  }
  Deliver();
  for (auto& [id, m] : members_) m->Process();
  RetireRemoved();
  if (!failed()) inv_.CheckStep(Views(), now_);
}

void Cluster::RetireRemoved() {
  for (auto& [id, m] : members_) {
    if (m->up() && m->removed()) {
      trace_.Add(now_, {41, id.value()}, [&] { return "member " + Id(id) + " removed: stops"; });
      m->Crash();
    }
  }
}

void Cluster::Chaos() {
  InjectFault();
  Admin();
}

void Cluster::InjectFault() {
  if (net_.partitioned() && now_ >= heal_at_) {
    net_.Heal();
    trace_.Add(now_, {50}, [] { return std::string("network heals"); });
  } else if (!net_.partitioned() && scenario_.partition_ppm > 0 &&
             rng_.Chance(scenario_.partition_ppm)) {
    std::vector<MemberId> ids;
    for (const auto& [id, m] : members_) {
      if (!m->removed()) ids.push_back(id);
    }
    if (ids.size() >= 2) {
      ++stats_.partitions;
      heal_at_ = now_ + static_cast<uint64_t>(rng_.Range(scenario_.min_partition_ticks,
                                                         scenario_.max_partition_ticks));
      std::string what;
      switch (rng_.Uniform(3)) {
        case 0: {  // isolate one member
          const MemberId x = ids[rng_.Uniform(ids.size())];
          std::vector<MemberId> rest;
          for (MemberId id : ids) {
            if (id != x) rest.push_back(id);
          }
          net_.Partition({{x}, rest});
          what = "isolates member " + Id(x);
          break;
        }
        case 1: {  // a random split
          std::vector<MemberId> a, b;
          for (MemberId id : ids) (rng_.Uniform(2) ? a : b).push_back(id);
          if (a.empty() || b.empty()) {
            const MemberId x = ids[rng_.Uniform(ids.size())];
            a = {x};
            b.clear();
            for (MemberId id : ids) {
              if (id != x) b.push_back(id);
            }
          }
          net_.Partition({a, b});
          what = "splits {";
          for (MemberId id : a) what += " " + Id(id);
          what += " } from {";
          for (MemberId id : b) what += " " + Id(id);
          what += " }";
          break;
        }
        default: {  // one-way cuts
          const uint64_t cuts = 1 + rng_.Uniform(3);
          what = "cuts one-way";
          for (uint64_t i = 0; i < cuts; ++i) {
            const size_t ia = rng_.Uniform(ids.size());
            const size_t ib = (ia + 1 + rng_.Uniform(ids.size() - 1)) % ids.size();  // != ia
            const MemberId a = ids[ia], b = ids[ib];
            net_.Cut(a, b);
            what += " " + Id(a) + "->" + Id(b);
          }
          break;
        }
      }
      trace_.Add(now_, {51, heal_at_},
                 [&] { return "network " + what + " until tick " + std::to_string(heal_at_); });
    }
  }
  if (scenario_.crash_ppm > 0 && rng_.Chance(scenario_.crash_ppm)) {
    std::vector<Member*> up;
    for (const auto& [id, m] : members_) {
      if (m->up() && !m->removed()) up.push_back(m.get());
    }
    // One member, or now and then several at once (a shared power failure); at most a bare
    // majority of the founders down at once, so quorum loss happens, briefly.
    const size_t max_down = static_cast<size_t>(scenario_.members / 2 + 1);
    size_t n = rng_.Uniform(4) == 0 ? 2 + rng_.Uniform(max_down - 1) : 1;
    while (n-- > 0 && !up.empty() && restart_at_.size() < max_down) {
      const size_t pick = rng_.Uniform(up.size());
      Member* m = up[pick];
      up.erase(up.begin() + static_cast<std::ptrdiff_t>(pick));
      CrashMember(m);
      restart_at_[m->id()] = now_ + static_cast<uint64_t>(rng_.Range(scenario_.min_down_ticks,
                                                                     scenario_.max_down_ticks));
    }
  }
}

void Cluster::Admin() {
  if (scenario_.admin_ppm == 0 || !rng_.Chance(scenario_.admin_ppm)) return;
  Member* leader = Leader();
  if (leader == nullptr) return;
  const raft::ConfState conf = leader->status().conf_state;
  const auto& voters = conf.voters;
  const auto& learners = conf.learners;
  if (rng_.Uniform(4) == 0) {
    if (voters.size() < 2) return;
    MemberId to = voters[rng_.Uniform(voters.size())];
    if (to == leader->id()) return;
    ++stats_.transfers;
    trace_.Add(now_, {60, leader->id().value(), to.value()},
               [&] { return "admin: transfer leadership " + Id(leader->id()) + " -> " + Id(to); });
    leader->TransferLeadership(to);
    return;
  }
  raft::ConfChange cc;
  if (!learners.empty() && rng_.Uniform(2) == 0) {
    cc.type = raft::ConfChangeType::kAddVoter;
    cc.member = learners[rng_.Uniform(learners.size())];
  } else if (!learners.empty() && rng_.Uniform(3) == 0) {
    cc.type = raft::ConfChangeType::kRemove;
    cc.member = learners[rng_.Uniform(learners.size())];
  } else if (voters.size() > static_cast<size_t>(scenario_.members) ||
             (voters.size() > 2 && rng_.Uniform(4) == 0)) {
    cc.type = raft::ConfChangeType::kRemove;
    cc.member = voters[rng_.Uniform(voters.size())];
  } else if (next_member_id_ <= static_cast<uint64_t>(scenario_.max_members_ever)) {
    cc.type = raft::ConfChangeType::kAddLearner;
    cc.member = MemberId(next_member_id_);
  } else {
    return;
  }
  const Status s = leader->ProposeConfChange(cc);
  trace_.Add(now_, {61, static_cast<uint64_t>(cc.type), cc.member.value(), s.ok() ? 1u : 0u}, [&] {
    static const char* kNames[] = {"add voter", "add learner", "remove", "update"};
    return "admin: propose " + std::string(kNames[static_cast<int>(cc.type) & 3]) + " " +
           Id(cc.member) + " at leader " + Id(leader->id()) + ": " + s.ToString();
  });
  if (s.ok() && cc.type == raft::ConfChangeType::kAddLearner) {
    ++next_member_id_;
    // A joining member boots like a founder (the index-0 snapshot lists the founding
    // voters): replaying the log from index 1 then rebuilds the configuration, and a leader
    // that compacted sends a snapshot carrying the current one.
    StartMember(AddMember(cc.member, options_.joiners_boot_empty ? raft::Snapshot() : bootstrap_));
  }
}

template <typename Done>
bool Cluster::RunUntil(uint64_t deadline, const std::string& what, Done done) {
  while (!failed()) {
    if (done()) return true;
    if (now_ >= deadline) {
      Violation("liveness", what + " did not happen within " +
                                std::to_string(options_.liveness_ticks) +
                                " ticks of the liveness phase");
      return false;
    }
    Tick(false);
  }
  return false;
}

void Cluster::Liveness() {
  trace_.Add(now_, {70}, [] {
    return std::string("liveness phase: faults stop, the network heals, every member restarts");
  });
  net_.Heal();
  NetworkConfig calm = scenario_.network;
  calm.drop_ppm = 0;
  calm.duplicate_ppm = 0;
  calm.long_delay_ppm = 0;
  net_.set_config(calm);
  restart_at_.clear();
  for (auto& [id, m] : members_) {
    if (m->removed()) continue;
    CrashMember(m.get());
    StartMember(m.get());
  }
  const uint64_t deadline = now_ + options_.liveness_ticks;
  if (!RunUntil(deadline, "a leader committing an entry of its term", [&] {
        Member* l = Leader();
        if (l == nullptr) return false;
        const raft::NodeStatus st = l->status();
        return st.hard_state.commit == st.last_index;
      })) {
    return;
  }
  const uint64_t fc = static_cast<uint64_t>(scenario_.workload.clients) + 1;
  uint64_t attempt = 0;
  std::string value;
  if (!RunUntil(deadline, "an acknowledged final write", [&] {
        if (!workload_.Idle(fc)) return false;
        const lin::Operation* last = workload_.Last(fc);
        if (last != nullptr && last->outcome == lin::Outcome::kOk) return true;
        if (Member* l = Leader()) {
          value = "final-" + std::to_string(++attempt);
          workload_.Issue(fc, OpKind::kPut, "final", value, std::nullopt, l->id(), now_, this);
        }
        return false;
      })) {
    return;
  }
  if (!RunUntil(deadline, "a final read", [&] {
        if (!workload_.Idle(fc)) return false;
        const lin::Operation* last = workload_.Last(fc);
        if (last->type == lin::OpType::kGet && last->outcome == lin::Outcome::kOk) return true;
        std::vector<MemberId> targets = RequestTargets();
        if (!targets.empty()) {
          workload_.Issue(fc, OpKind::kGet, "final", "", std::nullopt,
                          targets[rng_.Uniform(targets.size())], now_, this);
        }
        return false;
      })) {
    return;
  }
  const lin::Operation* read = workload_.Last(fc);
  if (read->got != value) {
    Violation("final read", "read \"" + read->got.value_or("<absent>") +
                                "\" after the write of \"" + value + "\" was acknowledged");
    return;
  }
  raft::ConfState conf;
  if (!RunUntil(deadline, "every member of the configuration applying every entry", [&] {
        Member* l = Leader();
        if (l == nullptr) return false;
        const raft::NodeStatus st = l->status();
        if (st.hard_state.commit != st.last_index) return false;
        conf = st.conf_state;
        std::vector<MemberId> all = conf.voters;
        all.insert(all.end(), conf.learners.begin(), conf.learners.end());
        for (MemberId id : all) {
          Member* m = Get(id);
          if (m == nullptr || !m->up() || m->applied() != st.hard_state.commit) return false;
        }
        return true;
      })) {
    return;
  }
  std::vector<MemberView> views;
  std::map<MemberId, uint64_t> digests;
  std::vector<MemberId> all = conf.voters;
  all.insert(all.end(), conf.learners.begin(), conf.learners.end());
  for (MemberId id : all) {
    Member* m = Get(id);
    views.push_back(MemberView{id, &m->storage(), m->status(), m->idle(), m->restarts()});
    digests[id] = m->state_machine().Digest();
  }
  inv_.CheckConverged(views, digests, now_);
  trace_.Add(now_, {71, views.front().status.applied.value()}, [&] {
    return "converged at applied index " + std::to_string(views.front().status.applied.value()) +
           " on " + DescribeConf(conf);
  });
}

void Cluster::CheckHistory() {
  Result<lin::CheckResult> r = lin::Check(workload_.history());
  if (!r.ok()) {
    Violation("history", r.status().ToString());
  } else if (r->verdict != lin::Verdict::kLinearizable) {
    Violation("linearizability", lin::FormatResult(r.value()));
  }
}

RunResult Cluster::Run() {
  trace_.Add(0, {options_.seed, static_cast<uint64_t>(options_.members)},
             [&] { return "seed " + std::to_string(options_.seed) + ": " + scenario_.Describe(); });
  for (int i = 1; i <= scenario_.members; ++i) {
    bootstrap_.meta.conf_state.voters.push_back(MemberId(static_cast<uint64_t>(i)));
  }
  for (int i = 1; i <= scenario_.members; ++i) {
    StartMember(AddMember(MemberId(static_cast<uint64_t>(i)), bootstrap_));
  }
  next_member_id_ = static_cast<uint64_t>(scenario_.members) + 1;
  while (!failed() && now_ < options_.steps) Tick(true);
  if (!failed()) Liveness();
  if (!failed()) CheckHistory();

  RunResult result;
  result.violation = inv_.violation();
  result.trace_hash = trace_.hash();
  result.history = workload_.history();
  stats_.max_term = inv_.max_term_with_leader();
  stats_.committed_entries = inv_.committed_entries();
  for (const lin::Operation& op : result.history) {
    ++stats_.ops;
    switch (op.outcome) {
      case lin::Outcome::kOk:
        ++stats_.ops_ok;
        break;
      case lin::Outcome::kFailed:
        ++stats_.ops_failed;
        break;
      case lin::Outcome::kIndeterminate:
        ++stats_.ops_indeterminate;
        break;
    }
  }
  result.stats = stats_;
  return result;
}

}  // namespace grid::sim
