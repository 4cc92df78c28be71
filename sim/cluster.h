// One simulated run: a cluster of members, the network between them, clients, and the fault
// injector, all driven by one seed in one thread on a logical clock. A run has a chaos phase
// (faults, membership changes, leadership transfers, client load) with the safety invariants
// checked after every tick, then a liveness phase (faults stop, the network heals, every
// member restarts) that must elect a leader, commit a final write, serve a final read and
// bring every member to the same applied state, and finally the client history must be
// linearizable.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "sim/invariants.h"
#include "sim/linearizability/checker.h"
#include "sim/member.h"
#include "sim/network.h"
#include "sim/scenario.h"
#include "sim/trace.h"
#include "sim/workload.h"

namespace grid::sim {

struct SimOptions {
  uint64_t seed = 1;
  int members = 3;                    // 3 or 5 founding voters
  uint64_t steps = 500;               // ticks of the chaos phase
  uint64_t liveness_ticks = 1000;     // bound on the liveness phase
  std::ostream* trace_out = nullptr;  // the verbose trace, or null
  // Deliberate bugs in the simulated server (tests of the checks only).
  bool sabotage_local_reads = false;
  bool sabotage_ack_before_sync = false;
  // Boots joining members with an empty configuration instead of the founding one (shows why
  // the founding one is needed; see README).
  bool joiners_boot_empty = false;
};

struct RunStats {
  uint64_t ticks = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t conf_changes_applied = 0;  // by the first member to apply each
  uint64_t transfers = 0;
  uint64_t snapshots_installed = 0;
  uint64_t max_term = 0;
  uint64_t committed_entries = 0;
  uint64_t ops = 0, ops_ok = 0, ops_failed = 0, ops_indeterminate = 0;
  uint64_t messages = 0;
};

struct RunResult {
  std::optional<Violation> violation;  // the first broken invariant
  uint64_t trace_hash = 0;
  RunStats stats;
  std::vector<lin::Operation> history;
  bool ok() const { return !violation.has_value(); }
  // One line (two or more on failure, with the replay command).
  std::string Summary(const SimOptions& o) const;
};

RunResult RunSeed(const SimOptions& options);

class Cluster final : public MemberEnv, public RequestSink {
 public:
  Cluster(const SimOptions& options, const Scenario& scenario);
  RunResult Run();

  // MemberEnv.
  uint64_t now() const override { return now_; }
  Trace& trace() override { return trace_; }
  void Send(raft::Message m) override;
  void Violation(const std::string& invariant, const std::string& detail) override;
  void OnApplied(MemberId m, const raft::Entry& e, uint64_t digest_after) override;
  void OnSnapshotInstalled(MemberId m, const raft::SnapshotMeta& meta, uint64_t digest) override;
  void OnConfChangeApplied(MemberId m, const raft::ConfChange& cc) override;
  void OnLeader(MemberId m, raft::Term term) override;
  void OnWriteDone(MemberId m, const Command& c, const ApplyResult& r,
                   const raft::Entry& e) override;
  void OnReadDone(MemberId m, uint64_t client, uint64_t seq,
                  const std::optional<std::string>& value) override;

  // RequestSink.
  std::vector<MemberId> RequestTargets() const override;
  Status SubmitWrite(MemberId m, const Command& c, uint64_t deadline_tick) override;
  void SubmitRead(MemberId m, uint64_t client, uint64_t seq, const std::string& key,
                  uint64_t deadline_tick) override;

 private:
  bool failed() const { return inv_.violation().has_value(); }
  Member* Get(MemberId id) const;
  Member* AddMember(MemberId id, const raft::Snapshot& bootstrap);
  void StartMember(Member* m);
  void CrashMember(Member* m);
  // The up member that leads the highest term, if any.
  Member* Leader() const;
  std::vector<MemberView> Views() const;

  void Tick(bool chaos);
  void Deliver();
  void Chaos();
  void InjectFault();
  void Admin();
  void RetireRemoved();
  // Runs ticks until `done` holds; false (and a liveness violation) at the deadline.
  template <typename Done>
  bool RunUntil(uint64_t deadline, const std::string& what, Done done);
  void Liveness();
  void CheckHistory();

  const SimOptions options_;
  const Scenario scenario_;
  Rng rng_;  // faults and administration
  Trace trace_;
  Network net_;
  Invariants inv_;
  Workload workload_;
  uint64_t now_ = 0;
  raft::Snapshot bootstrap_;  // index 0, the founding voters
  std::map<MemberId, std::unique_ptr<Member>> members_;
  std::map<MemberId, uint64_t> restart_at_;  // down members and when they come back
  std::set<MemberId> removed_;               // removed from the configuration by some member
  std::set<uint64_t> conf_entries_seen_;
  uint64_t heal_at_ = 0;
  uint64_t next_member_id_ = 1;
  RunStats stats_;
};

}  // namespace grid::sim
