#include "raft/progress.h"

#include <algorithm>
#include <functional>

namespace grid::raft {

void Inflights::Add(Index last) {
  GRID_CHECK(!Full()) << "in-flight window full";
  items_.push_back(last);
}

void Inflights::FreeLE(Index to) {
  while (!items_.empty() && items_.front() <= to) items_.pop_front();
}

void Inflights::FreeFirstOne() {
  if (!items_.empty()) items_.pop_front();
}

Progress::Progress(Index next_index, size_t max_inflight_msgs, bool is_learner)
    : next(next_index), learner(is_learner), inflights(max_inflight_msgs) {}

void Progress::ResetState(ProgressState s) {
  probe_sent = false;
  pending_snapshot = Index(0);
  state = s;
  inflights.Reset();
}

void Progress::BecomeProbe() {
  if (state == ProgressState::kSnapshot) {
    const Index pending = pending_snapshot;
    ResetState(ProgressState::kProbe);
    next = std::max(match + 1, pending + 1);
  } else {
    ResetState(ProgressState::kProbe);
    next = match + 1;
  }
}

void Progress::BecomeReplicate() {
  ResetState(ProgressState::kReplicate);
  next = match + 1;
}

void Progress::BecomeSnapshot(Index snapshot_index) {
  ResetState(ProgressState::kSnapshot);
  pending_snapshot = snapshot_index;
}

bool Progress::MaybeUpdate(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  if (next < n + 1) next = n + 1;
  return updated;
}

bool Progress::MaybeDecrTo(Index rejected, Index hint) {
  if (state == ProgressState::kReplicate) {
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, hint + 1), Index(1));
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe: return probe_sent;
    case ProgressState::kReplicate: return inflights.Full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

void ProgressTracker::Reset(const ConfState& cs, Index next) {
  progress_.clear();
  votes_.clear();
  for (MemberId id : cs.voters) progress_.emplace(id, Progress(next, max_inflight_msgs_, false));
  for (MemberId id : cs.learners) progress_.emplace(id, Progress(next, max_inflight_msgs_, true));
}

ConfState ProgressTracker::GetConfState() const {
  ConfState cs;
  for (const auto& [id, pr] : progress_) (pr.learner ? cs.learners : cs.voters).push_back(id);
  return cs;  // std::map iterates in order: both lists are sorted
}

void ProgressTracker::AddVoter(MemberId id, Index next) {
  auto it = progress_.find(id);
  if (it != progress_.end()) {
    it->second.learner = false;
    return;
  }
  Progress pr(next, max_inflight_msgs_, false);
  pr.recent_active = true;  // a new member gets an election timeout before it counts as dead
  progress_.emplace(id, std::move(pr));
}

void ProgressTracker::AddLearner(MemberId id, Index next) {
  if (progress_.count(id) != 0) return;  // voters are not demoted
  Progress pr(next, max_inflight_msgs_, true);
  pr.recent_active = true;
  progress_.emplace(id, std::move(pr));
}

void ProgressTracker::Remove(MemberId id) {
  progress_.erase(id);
  votes_.erase(id);
}

bool ProgressTracker::IsVoter(MemberId id) const {
  auto it = progress_.find(id);
  return it != progress_.end() && !it->second.learner;
}

bool ProgressTracker::IsLearner(MemberId id) const {
  auto it = progress_.find(id);
  return it != progress_.end() && it->second.learner;
}

size_t ProgressTracker::VoterCount() const {
  size_t n = 0;
  for (const auto& [id, pr] : progress_) n += pr.learner ? 0 : 1;
  return n;
}

Progress* ProgressTracker::Get(MemberId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

Index ProgressTracker::QuorumMatch() const {
  std::vector<uint64_t> v;
  v.reserve(progress_.size());
  for (const auto& [id, pr] : progress_) {
    if (!pr.learner) v.push_back(pr.match.value());
  }
  if (v.empty()) return Index(0);
  std::sort(v.begin(), v.end(), std::greater<>());
  return Index(v[v.size() / 2]);
}

uint64_t ProgressTracker::QuorumValue(const std::map<MemberId, uint64_t>& values) const {
  std::vector<uint64_t> v;
  for (const auto& [id, pr] : progress_) {
    if (pr.learner) continue;
    auto it = values.find(id);
    v.push_back(it == values.end() ? 0 : it->second);
  }
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end(), std::greater<>());
  return v[v.size() / 2];
}

void ProgressTracker::RecordVote(MemberId id, bool granted) {
  votes_.emplace(id, granted);  // the first answer counts
}

VoteResult ProgressTracker::TallyVotes() const {
  size_t granted = 0, rejected = 0, voters = 0;
  for (const auto& [id, pr] : progress_) {
    if (pr.learner) continue;
    ++voters;
    auto it = votes_.find(id);
    if (it == votes_.end()) continue;
    (it->second ? granted : rejected) += 1;
  }
  const size_t quorum = voters / 2 + 1;
  if (granted >= quorum) return VoteResult::kWon;
  if (voters - rejected < quorum) return VoteResult::kLost;
  return VoteResult::kPending;
}

bool ProgressTracker::QuorumActive(MemberId self) const {
  size_t active = 0, voters = 0;
  for (const auto& [id, pr] : progress_) {
    if (pr.learner) continue;
    ++voters;
    if (id == self || pr.recent_active) ++active;
  }
  return active >= voters / 2 + 1;
}

void ProgressTracker::ResetRecentActive(MemberId self) {
  for (auto& [id, pr] : progress_) pr.recent_active = (id == self);
}

}  // namespace grid::raft
