#include "sim/member.h"

#include <algorithm>

#include "sim/describe.h"

namespace grid::sim {

using raft::Entry;
using raft::EntryType;
using raft::Index;
using raft::Message;
using raft::Ready;

Member::Member(MemberId id, const raft::Snapshot& bootstrap, const MemberOptions& options, Rng rng,
               MemberEnv* env)
    : id_(id), options_(options), rng_(rng), env_(env), disk_(bootstrap) {}

void Member::Fail(const std::string& invariant, const std::string& detail) {
  env_->Violation(invariant, "member " + std::to_string(id_.value()) + ": " + detail);
}

Status Member::Start(uint64_t node_seed) {
  GRID_CHECK(!up() && !removed_) << "Start of a running or removed member";
  auto storage = std::make_unique<raft::MemoryStorage>();
  GRID_RETURN_IF_ERROR(disk_.Restore(storage.get()));
  const DurableState& d = disk_.durable();
  const Index applied = disk_.RestartAppliedIndex();
  GRID_ASSIGN_OR_RETURN(sm_, KvStateMachine::Decode(d.snapshot.data));
  conf_ = d.snapshot.meta.conf_state;

  raft::Config cfg;
  cfg.id = id_;
  cfg.election_ticks = options_.election_ticks;
  cfg.heartbeat_ticks = options_.heartbeat_ticks;
  cfg.pre_vote = options_.pre_vote;
  cfg.check_quorum = options_.check_quorum;
  cfg.max_msg_entries_bytes = options_.max_msg_entries_bytes;
  cfg.max_inflight_msgs = options_.max_inflight_msgs;
  cfg.max_uncommitted_entries_bytes = options_.max_uncommitted_entries_bytes;
  cfg.max_committed_entries_bytes_per_ready = options_.max_committed_entries_bytes_per_ready;
  cfg.random_seed = node_seed;
  cfg.applied = applied;
  GRID_ASSIGN_OR_RETURN(node_, raft::Node::Create(cfg, storage.get()));
  storage_ = std::move(storage);
  ++restarts_;
  applied_ = d.snapshot.meta.index;
  last_hard_state_ = d.hard_state;
  env_->trace().Add(env_->now(), {1, id_.value(), applied.value(), d.LastIndex().value()}, [&] {
    return "member " + std::to_string(id_.value()) + " starts: snapshot " +
           std::to_string(applied_.value()) + ", applied " + std::to_string(applied.value()) +
           ", durable log to " + std::to_string(d.LastIndex().value()) + ", term " +
           std::to_string(d.hard_state.term.value()) + ", " + DescribeConf(conf_);
  });
  // Replay (snapshot, applied] into the state machine; conf changes go to the new node too.
  for (const Entry& e : d.entries) {
    if (e.index <= applied_) continue;
    if (e.index > applied) break;
    ApplyEntry(e);
  }
  GRID_CHECK(applied_ == applied) << "replay ended at " << applied_.value() << ", want "
                                  << applied.value();
  return Status::Ok();
}

void Member::Crash() {
  if (!up()) return;
  const size_t unsynced = disk_.unsynced_writes();
  const size_t survivors = static_cast<size_t>(rng_.Uniform(unsynced + 1));
  const size_t tearable = disk_.EntriesInUnsyncedWrite(survivors);
  const size_t torn = tearable > 1 ? static_cast<size_t>(rng_.Uniform(tearable)) : 0;
  disk_.Crash(survivors, torn);
  env_->trace().Add(env_->now(), {2, id_.value(), survivors, unsynced, torn}, [&] {
    return "member " + std::to_string(id_.value()) + " crashes (" + std::to_string(survivors) +
           " of " + std::to_string(unsynced) + " unsynced writes survive, then " +
           std::to_string(torn) + " entries of a torn append)";
  });
  node_.reset();
  storage_.reset();
  outstanding_.reset();
  sm_ = KvStateMachine();
  applied_ = Index(0);
  conf_ = raft::ConfState();
  leader_ = false;
  pending_writes_.clear();
  pending_reads_.clear();
}

void Member::Tick() {
  if (!up()) return;
  node_->Tick();
  const uint64_t now = env_->now();
  std::erase_if(pending_writes_, [&](const auto& w) { return w.second <= now; });
  std::erase_if(pending_reads_, [&](const PendingRead& r) { return r.deadline_tick <= now; });
  for (PendingRead& r : pending_reads_) {
    if (!r.index && now >= r.asked_tick + static_cast<uint64_t>(options_.read_retry_ticks)) {
      AskReadIndex(&r);
    }
  }
}

void Member::Receive(Message m) {
  if (!up()) return;
  const std::string what = env_->trace().verbose() ? DescribeMessage(m) : std::string();
  Status s = node_->Step(std::move(m));
  if (!s.ok()) Fail("core accepts valid messages", "Step(" + what + "): " + s.ToString());
}

void Member::ReportSnapshot(MemberId to, bool ok) {
  if (up()) node_->ReportSnapshot(to, ok);
}

void Member::ReportUnreachable(MemberId to) {
  if (up()) node_->ReportUnreachable(to);
}

void Member::SendAll(std::vector<Message>* msgs) {
  for (Message& m : *msgs) {
    if (m.from != id_) {
      Fail("ready contract", "message " + DescribeMessage(m) + " not from this member");
      continue;
    }
    if (!raft::IsWireMessage(m.type)) {
      Fail("ready contract", "local message " + DescribeMessage(m) + " in a Ready");
      continue;
    }
    env_->Send(std::move(m));
  }
  msgs->clear();
}

void Member::Process() {
  for (size_t n = 0; up() && !removed_; ++n) {
    if (n >= options_.max_readys_per_process) {
      Fail("liveness of the Ready loop",
           std::to_string(n) + " Readys in one round (max_readys_per_process)");
      return;
    }
    if (outstanding_ != nullptr) {
      if (env_->now() < outstanding_->sync_due_tick) return;
      disk_.Sync();
      Finish();
      continue;
    }
    if (!node_->HasReady()) return;
    Begin(node_->GetReady());
  }
}

void Member::CheckReady(const Ready& rd) {
  if (!rd.entries.empty() && !rd.must_sync) Fail("ready contract", "entries without must_sync");
  if (rd.snapshot && !rd.must_sync) Fail("ready contract", "snapshot without must_sync");
  for (size_t i = 1; i < rd.entries.size(); ++i) {
    if (rd.entries[i].index != rd.entries[i - 1].index + 1) {
      Fail("ready contract", "entries to persist are not consecutive");
    }
  }
  const Index base = rd.snapshot ? rd.snapshot->meta.index : storage_->LastIndex();
  if (!rd.entries.empty() && rd.entries.front().index > base + 1) {
    Fail("ready contract", "entries from " + std::to_string(rd.entries.front().index.value()) +
                               " leave a gap after " + std::to_string(base.value()));
  }
  Index next = rd.snapshot ? rd.snapshot->meta.index + 1 : applied_ + 1;
  for (const Entry& e : rd.committed_entries) {
    if (e.index != next) {
      Fail("ready contract", "committed entry " + std::to_string(e.index.value()) +
                                 " handed out when " + std::to_string(next.value()) + " is next");
      return;
    }
    ++next;
  }
  if (rd.messages_may_precede_persist && !leader_ &&
      !(rd.soft_state && rd.soft_state->role == raft::Role::kLeader)) {
    Fail("ready contract", "messages_may_precede_persist on a non-leader");
  }
}

void Member::Begin(Ready rd) {
  const bool was_leader = leader_;
  if (rd.soft_state) leader_ = rd.soft_state->role == raft::Role::kLeader;
  CheckReady(rd);
  // §5.3 leader append-only: a member that stays leader only appends after its log.
  const bool same_term = !rd.hard_state || rd.hard_state->term == last_hard_state_.term;
  if (was_leader && leader_ && same_term && !rd.entries.empty() &&
      rd.entries.front().index != storage_->LastIndex() + 1) {
    Fail("leader append-only (§5.3)",
         "leader writes entry " + std::to_string(rd.entries.front().index.value()) +
             " over its log ending at " + std::to_string(storage_->LastIndex().value()));
  }
  if (rd.hard_state) {
    const raft::HardState& hs = *rd.hard_state;
    const raft::HardState& prev = last_hard_state_;
    if (hs.term < prev.term) {
      Fail("durable term never decreases", "term " + std::to_string(hs.term.value()) + " after " +
                                               std::to_string(prev.term.value()));
    } else if (hs.term == prev.term && prev.vote != raft::kNoMember && hs.vote != prev.vote) {
      Fail("one vote per term (§5.2)", "voted " + std::to_string(hs.vote.value()) + " in term " +
                                           std::to_string(hs.term.value()) + " after voting " +
                                           std::to_string(prev.vote.value()));
    }
    last_hard_state_ = hs;
  }
  if (rd.soft_state && leader_) env_->OnLeader(id_, node_->GetStatus().hard_state.term);
  Trace& t = env_->trace();
  const uint64_t now = env_->now();
  t.Add(now,
        {3, id_.value(), rd.entries.size(), rd.committed_entries.size(), rd.messages.size(),
         rd.snapshot ? rd.snapshot->meta.index.value() : 0,
         rd.hard_state ? rd.hard_state->term.value() : 0,
         rd.hard_state ? rd.hard_state->commit.value() : 0, rd.must_sync ? 1u : 0u},
        [&] {
          std::string s = "member " + std::to_string(id_.value()) + " ready:";
          if (rd.soft_state) {
            s += std::string(" ") + raft::RoleName(rd.soft_state->role) + " (leader " +
                 std::to_string(rd.soft_state->leader.value()) + ")";
          }
          if (rd.hard_state) {
            s += " hs{term " + std::to_string(rd.hard_state->term.value()) + " vote " +
                 std::to_string(rd.hard_state->vote.value()) + " commit " +
                 std::to_string(rd.hard_state->commit.value()) + "}";
          }
          if (rd.snapshot) s += " snapshot " + std::to_string(rd.snapshot->meta.index.value());
          if (!rd.entries.empty()) {
            s += " persist [" + DescribeEntry(rd.entries.front()) + " .. " +
                 std::to_string(rd.entries.back().index.value()) + "]";
          }
          if (!rd.committed_entries.empty()) {
            s += " apply " + std::to_string(rd.committed_entries.front().index.value()) + ".." +
                 std::to_string(rd.committed_entries.back().index.value());
          }
          s += " msgs " + std::to_string(rd.messages.size());
          if (rd.must_sync) s += " sync";
          if (rd.messages_may_precede_persist) s += " send-first";
          return s;
        });
  for (const raft::ReadState& rs : rd.read_states) {
    for (PendingRead& r : pending_reads_) {
      if (!r.index && rs.request_ctx.starts_with(r.ctx_prefix)) r.index = rs.index;
    }
  }
  // As gridkv's raft host: committed entries are applied, and reads served, while this
  // Ready's entries are being synced; storage_ holds only what earlier Readys made durable.
  for (const Entry& e : rd.committed_entries) {
    if (e.index > storage_->LastIndex()) {
      Fail("ready contract", "entry " + std::to_string(e.index.value()) +
                                 " handed out for applying before it is durable");
    }
    ApplyEntry(e);
    if (removed_) return;  // the member stops here, as gridkv's does once it sees its removal
  }
  ServeReads();
  if (rd.snapshot) disk_.WriteSnapshot(*rd.snapshot);
  disk_.WriteEntries(rd.entries);
  if (rd.hard_state) disk_.WriteHardState(*rd.hard_state);

  outstanding_ = std::make_unique<Outstanding>();
  outstanding_->ready = std::move(rd);
  Ready& r = outstanding_->ready;
  if (r.messages_may_precede_persist || options_.sabotage_ack_before_sync) {
    SendAll(&r.messages);
    outstanding_->messages_sent = true;
  }
  if (!r.must_sync) {
    Finish();  // nothing needs a sync (a commit-only hard state may wait for a later one)
    return;
  }
  int64_t delay = rng_.Range(0, options_.max_fsync_ticks);
  if (options_.sabotage_ack_before_sync) delay = std::max<int64_t>(delay, 8);
  outstanding_->sync_due_tick = now + static_cast<uint64_t>(delay);
  if (delay == 0) {
    disk_.Sync();
    Finish();
  }
}

void Member::Finish() {
  std::unique_ptr<Outstanding> out = std::move(outstanding_);
  Ready& rd = out->ready;
  // Everything in the Ready is durable (or allowed not to be): mirror it in storage.
  if (rd.snapshot) {
    Status s = storage_->ApplySnapshot(*rd.snapshot);
    if (!s.ok()) Fail("ready contract", "snapshot from the leader: " + s.ToString());
  }
  if (!rd.entries.empty()) storage_->Append(rd.entries);
  if (rd.hard_state) storage_->SetHardState(*rd.hard_state);
  if (!out->messages_sent) SendAll(&rd.messages);

  if (rd.snapshot) {
    Result<KvStateMachine> sm = KvStateMachine::Decode(rd.snapshot->data);
    if (!sm.ok()) {
      Fail("snapshot data", sm.status().ToString());
    } else {
      sm_ = std::move(sm).value();
      applied_ = rd.snapshot->meta.index;
      conf_ = rd.snapshot->meta.conf_state;
      env_->OnSnapshotInstalled(id_, rd.snapshot->meta, sm_.Digest());
    }
  }
  node_->Advance(rd);
  if (removed_) return;
  MaybeSnapshot();
  if (!rd.committed_entries.empty() && rng_.Chance(options_.persist_applied_ppm)) {
    disk_.SaveAppliedIndex(applied_);
  }
  ServeReads();
}

void Member::ApplyEntry(const Entry& e) {
  if (e.index != applied_ + 1) {
    Fail("ready contract", "applying entry " + std::to_string(e.index.value()) + " after " +
                               std::to_string(applied_.value()));
  }
  applied_ = e.index;
  if (e.type == EntryType::kConfChange) {
    raft::ConfChange cc;
    if (!raft::DecodeConfChange(e.data, &cc)) {
      Fail("entry data", "undecodable conf change at " + std::to_string(e.index.value()));
    } else {
      ApplyConfChange(cc);
    }
    env_->OnApplied(id_, e, sm_.Digest());
    return;
  }
  if (e.data.empty()) {
    env_->OnApplied(id_, e, sm_.Digest());
    return;
  }
  Result<Command> c = DecodeCommand(e.data);
  if (!c.ok()) {
    Fail("entry data", "undecodable command at " + std::to_string(e.index.value()));
    return;
  }
  const ApplyResult r = sm_.Apply(c.value());
  env_->OnApplied(id_, e, sm_.Digest());
  auto it = pending_writes_.find({c->client, c->seq});
  if (r.took_effect && it != pending_writes_.end()) {
    pending_writes_.erase(it);
    env_->OnWriteDone(id_, c.value(), r, e);
  }
}

void Member::ApplyConfChange(const raft::ConfChange& cc) {
  conf_ = node_->ApplyConfChange(cc);
  env_->trace().Add(env_->now(),
                    {4, id_.value(), static_cast<uint64_t>(cc.type), cc.member.value()}, [&] {
                      return "member " + std::to_string(id_.value()) +
                             " applies conf change: " + DescribeConf(conf_);
                    });
  env_->OnConfChangeApplied(id_, cc);
  if (cc.type == raft::ConfChangeType::kRemove && cc.member == id_) removed_ = true;
}

void Member::MaybeSnapshot() {
  Result<raft::Snapshot> current = storage_->GetSnapshot();
  const Index snap = current.ok() ? current->meta.index : Index(0);
  if (applied_ < snap + options_.snapshot_every_entries) return;
  Status s = storage_->CreateSnapshot(applied_, conf_, sm_.Encode());
  if (!s.ok()) {
    Fail("local snapshot", s.ToString());
    return;
  }
  Result<raft::Snapshot> created = storage_->GetSnapshot();
  GRID_CHECK(created.ok()) << created.status().ToString();
  Index compact_to =
      applied_ - std::min<uint64_t>(applied_.value(), options_.keep_entries_after_snapshot);
  if (compact_to >= storage_->FirstIndex()) {
    s = storage_->Compact(compact_to);
    if (!s.ok()) Fail("local snapshot", "compact: " + s.ToString());
  } else {
    compact_to = storage_->FirstIndex() - 1;
  }
  disk_.SaveLocalSnapshot(created.value(), compact_to);
  env_->trace().Add(env_->now(), {5, id_.value(), applied_.value(), compact_to.value()}, [&] {
    return "member " + std::to_string(id_.value()) + " snapshots at " +
           std::to_string(applied_.value()) + ", compacts to " + std::to_string(compact_to.value());
  });
}

void Member::AskReadIndex(PendingRead* r) {
  r->asked_tick = env_->now();
  node_->ReadIndex(r->ctx_prefix + std::to_string(++read_attempts_));
}

void Member::ServeReads() {
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    if (it->index && *it->index <= applied_) {
      const PendingRead r = std::move(*it);
      it = pending_reads_.erase(it);
      env_->OnReadDone(id_, r.client, r.seq, sm_.Get(r.key));
    } else {
      ++it;
    }
  }
}

Status Member::SubmitWrite(const Command& c, uint64_t deadline_tick) {
  if (!up()) return Unavailable("member down");
  GRID_RETURN_IF_ERROR(node_->Propose(EncodeCommand(c)));
  pending_writes_[{c.client, c.seq}] = deadline_tick;
  return Status::Ok();
}

void Member::SubmitRead(uint64_t client, uint64_t seq, const std::string& key,
                        uint64_t deadline_tick) {
  if (!up()) return;
  if (options_.sabotage_local_reads) {
    env_->OnReadDone(id_, client, seq, sm_.Get(key));
    return;
  }
  PendingRead r;
  r.client = client;
  r.seq = seq;
  r.key = key;
  r.deadline_tick = deadline_tick;
  r.ctx_prefix = "read/" + std::to_string(id_.value()) + "/" + std::to_string(client) + "/" +
                 std::to_string(seq) + "/";
  pending_reads_.push_back(std::move(r));
  AskReadIndex(&pending_reads_.back());
}

Status Member::ProposeConfChange(const raft::ConfChange& cc) {
  if (!up()) return Unavailable("member down");
  return node_->ProposeConfChange(cc);
}

void Member::TransferLeadership(MemberId to) {
  if (up()) node_->TransferLeadership(to);
}

}  // namespace grid::sim
