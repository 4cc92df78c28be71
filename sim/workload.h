// Simulated clients: each runs one operation at a time (put, get, delete, compare-and-set on a
// few keys) against a random member, and records it in the history for the linearizability
// checker. Writes go through Propose (a follower forwards them); gets through ReadIndex. An
// operation not answered by its deadline is indeterminate; a refused proposal failed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "raft/types.h"
#include "sim/linearizability/history.h"
#include "sim/rng.h"
#include "sim/state_machine.h"
#include "sim/trace.h"

namespace grid::sim {

using raft::MemberId;

struct WorkloadOptions {
  int clients = 3;
  int keys = 3;
  uint32_t start_op_ppm = 300'000;  // an idle client starts an operation in a tick
  int64_t op_timeout_ticks = 40;
  uint32_t get_ppm = 400'000;
  uint32_t delete_ppm = 100'000;
  uint32_t cas_ppm = 150'000;  // the rest are puts
  // Operations recorded; beyond it clients stop issuing new ones.
  size_t max_history_ops = 100'000;
};

// How clients reach members.
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  // Members that take requests now, in id order.
  virtual std::vector<MemberId> RequestTargets() const = 0;
  virtual Status SubmitWrite(MemberId m, const Command& c, uint64_t deadline_tick) = 0;
  virtual void SubmitRead(MemberId m, uint64_t client, uint64_t seq, const std::string& key,
                          uint64_t deadline_tick) = 0;
};

enum class OpKind : uint8_t { kPut, kGet, kDelete, kCas };

class Workload {
 public:
  Workload(const WorkloadOptions& options, Rng rng, Trace* trace);

  // Times out overdue operations; when `issue` is set, idle clients may start new ones.
  void Step(uint64_t now, RequestSink* sink, bool issue);

  // Starts an operation of `client` (1-based; clients beyond options.clients are allowed).
  // REQUIRES: the client is idle.
  void Issue(uint64_t client, OpKind kind, const std::string& key, const std::string& value,
             std::optional<std::string> expected, MemberId target, uint64_t now, RequestSink* sink);
  bool Idle(uint64_t client) const;
  // The client's latest operation, if any.
  const lin::Operation* Last(uint64_t client) const;

  void OnWriteDone(uint64_t client, uint64_t seq, const ApplyResult& r, uint64_t now);
  void OnReadDone(uint64_t client, uint64_t seq, const std::optional<std::string>& value,
                  uint64_t now);

  const std::vector<lin::Operation>& history() const { return history_; }
  const WorkloadOptions& options() const { return options_; }

 private:
  struct Client {
    uint64_t next_seq = 1;
    bool active = false;
    uint64_t seq = 0;
    size_t op = 0;  // position in history_
    uint64_t deadline_tick = 0;
  };
  Client& client(uint64_t id);
  void Complete(Client& c, uint64_t now);
  void RandomOp(uint64_t id, uint64_t now, RequestSink* sink);

  WorkloadOptions options_;
  Rng rng_;
  Trace* trace_;
  std::vector<Client> clients_;
  std::vector<lin::Operation> history_;
  int64_t clock_ = 0;  // history time: one step per invoke or return, so order is exact
  std::vector<std::vector<std::string>> recent_values_;  // per key, for cas expectations
};

}  // namespace grid::sim
