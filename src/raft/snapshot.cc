// Snapshots (§7): the leader sends one when a follower needs entries it compacted; a follower
// installs one that is newer than its commit index.
#include "raft/raft.h"

namespace grid::raft {

bool Raft::SendSnapshot(MemberId to, Progress& pr) {
  // A member that has not answered lately may be down: do not send it a large snapshot.
  if (!pr.recent_active) return false;
  auto snap = log_.SnapshotToSend();
  // Unavailable while the caller creates one: stay in probe and retry on the next heartbeat
  // response.
  if (!snap.ok() || snap.value().empty()) return false;
  pr.BecomeSnapshot(snap.value().meta.index);
  Message m;
  m.type = MessageType::kSnap;
  m.to = to;
  m.snapshot = std::move(snap).value();
  Send(std::move(m));
  return true;
}

void Raft::HandleSnapshot(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppResp;
  resp.to = m.from;
  resp.index = Restore(*m.snapshot) ? log_.LastIndex() : log_.committed();
  Send(std::move(resp));
}

bool Raft::Restore(const Snapshot& snap) {
  if (snap.meta.index <= log_.committed()) return false;
  if (log_.MatchTerm(snap.meta.index, snap.meta.term)) {
    // We have the snapshot's last entry: the log is right; just learn the commit.
    log_.CommitTo(snap.meta.index);
    return false;
  }
  log_.Restore(snap);
  tracker_.Reset(snap.meta.conf_state, log_.LastIndex() + 1);
  return true;
}

void Raft::HandleSnapStatus(const Message& m, Progress& pr) {
  if (pr.state != ProgressState::kSnapshot) return;
  if (m.reject) pr.pending_snapshot = Index(0);  // failed: probe from the match again
  pr.BecomeProbe();
  // Wait for the follower's answer (or a heartbeat response) before probing.
  pr.probe_sent = true;
}

}  // namespace grid::raft
