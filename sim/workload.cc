#include "sim/workload.h"

namespace grid::sim {

namespace {
constexpr size_t kRecentValuesPerKey = 4;
}

Workload::Workload(const WorkloadOptions& options, Rng rng, Trace* trace)
    : options_(options),
      rng_(rng),
      trace_(trace),
      recent_values_(static_cast<size_t>(options.keys)) {}

Workload::Client& Workload::client(uint64_t id) {
  GRID_CHECK(id >= 1) << "client ids start at 1";
  if (clients_.size() < id) clients_.resize(id);
  return clients_[id - 1];
}

bool Workload::Idle(uint64_t id) const { return id > clients_.size() || !clients_[id - 1].active; }

const lin::Operation* Workload::Last(uint64_t id) const {
  const lin::Operation* last = nullptr;
  const std::string name = std::to_string(id);
  for (const lin::Operation& op : history_) {
    if (op.client == name) last = &op;
  }
  return last;
}

void Workload::Step(uint64_t now, RequestSink* sink, bool issue) {
  for (size_t i = 0; i < clients_.size(); ++i) {
    Client& c = clients_[i];
    if (!c.active || now < c.deadline_tick) continue;
    lin::Operation& op = history_[c.op];
    op.outcome = lin::Outcome::kIndeterminate;
    c.active = false;
    trace_->Add(now, {20, i + 1, c.seq}, [&] {
      return "client " + std::to_string(i + 1) + " times out: " + lin::Describe(op);
    });
  }
  if (!issue) return;
  for (uint64_t id = 1; id <= static_cast<uint64_t>(options_.clients); ++id) {
    if (!Idle(id) || history_.size() >= options_.max_history_ops) continue;
    if (!rng_.Chance(options_.start_op_ppm)) continue;
    RandomOp(id, now, sink);
  }
}

void Workload::RandomOp(uint64_t id, uint64_t now, RequestSink* sink) {
  const std::vector<MemberId> targets = sink->RequestTargets();
  if (targets.empty()) return;
  const MemberId target = targets[rng_.Uniform(targets.size())];
  const size_t k = rng_.Uniform(static_cast<uint64_t>(options_.keys));
  const std::string key = "k" + std::to_string(k);
  const uint32_t r = static_cast<uint32_t>(rng_.Uniform(1'000'000));
  OpKind kind = OpKind::kPut;
  if (r < options_.get_ppm) {
    kind = OpKind::kGet;
  } else if (r < options_.get_ppm + options_.delete_ppm) {
    kind = OpKind::kDelete;
  } else if (r < options_.get_ppm + options_.delete_ppm + options_.cas_ppm) {
    kind = OpKind::kCas;
  }
  const std::string value = "c" + std::to_string(id) + "-" + std::to_string(client(id).next_seq);
  std::optional<std::string> expected;
  if (kind == OpKind::kCas) {
    const auto& recent = recent_values_[k];
    const uint64_t pick = rng_.Uniform(recent.size() + 1);
    if (pick < recent.size()) expected = recent[pick];
  }
  if (kind == OpKind::kPut || kind == OpKind::kCas) {
    auto& recent = recent_values_[k];
    recent.push_back(value);
    if (recent.size() > kRecentValuesPerKey) recent.erase(recent.begin());
  }
  Issue(id, kind, key, value, expected, target, now, sink);
}

void Workload::Issue(uint64_t id, OpKind kind, const std::string& key, const std::string& value,
                     std::optional<std::string> expected, MemberId target, uint64_t now,
                     RequestSink* sink) {
  Client& c = client(id);
  GRID_CHECK(!c.active) << "client " << id << " already has an operation";
  lin::Operation op;
  op.client = std::to_string(id);
  op.key = key;
  op.invoke_time = ++clock_;
  op.outcome = lin::Outcome::kIndeterminate;
  c.seq = c.next_seq++;
  c.active = true;
  c.op = history_.size();
  c.deadline_tick = now + static_cast<uint64_t>(options_.op_timeout_ticks);
  Command cmd;
  cmd.client = id;
  cmd.seq = c.seq;
  cmd.key = key;
  switch (kind) {
    case OpKind::kGet:
      op.type = lin::OpType::kGet;
      break;
    case OpKind::kPut:
      op.type = lin::OpType::kPut;
      op.value = value;
      cmd.type = CommandType::kPut;
      cmd.value = value;
      break;
    case OpKind::kDelete:
      op.type = lin::OpType::kDelete;
      cmd.type = CommandType::kDelete;
      break;
    case OpKind::kCas:
      op.type = lin::OpType::kCas;
      op.value = value;
      op.expected = expected;
      cmd.type = CommandType::kCas;
      cmd.value = value;
      cmd.expected = expected;
      break;
  }
  history_.push_back(op);
  trace_->Add(now, {21, id, c.seq, static_cast<uint64_t>(kind), target.value()}, [&] {
    return "client " + std::to_string(id) + " invokes at member " + std::to_string(target.value()) +
           ": " + lin::Describe(history_.back());
  });
  if (kind == OpKind::kGet) {
    sink->SubmitRead(target, id, c.seq, key, c.deadline_tick);
    return;
  }
  Status s = sink->SubmitWrite(target, cmd, c.deadline_tick);
  if (!s.ok()) {
    // A refused proposal never entered any log.
    lin::Operation& h = history_[c.op];
    h.outcome = lin::Outcome::kFailed;
    Complete(c, now);
    trace_->Add(now, {22, id, c.seq},
                [&] { return "client " + std::to_string(id) + " refused (" + s.ToString() + ")"; });
  }
}

void Workload::Complete(Client& c, uint64_t now) {
  history_[c.op].return_time = ++clock_;
  c.active = false;
}

void Workload::OnWriteDone(uint64_t id, uint64_t seq, const ApplyResult& r, uint64_t now) {
  if (id > clients_.size()) return;
  Client& c = clients_[id - 1];
  if (!c.active || c.seq != seq) return;  // the client gave up on it already
  lin::Operation& op = history_[c.op];
  op.outcome = lin::Outcome::kOk;
  if (op.type == lin::OpType::kDelete) op.deleted_existing = r.existed;
  if (op.type == lin::OpType::kCas) op.swapped = r.swapped;
  Complete(c, now);
  trace_->Add(now, {23, id, seq, r.existed, r.swapped},
              [&] { return "client " + std::to_string(id) + " done: " + lin::Describe(op); });
}

void Workload::OnReadDone(uint64_t id, uint64_t seq, const std::optional<std::string>& value,
                          uint64_t now) {
  if (id > clients_.size()) return;
  Client& c = clients_[id - 1];
  if (!c.active || c.seq != seq) return;
  lin::Operation& op = history_[c.op];
  op.outcome = lin::Outcome::kOk;
  op.got = value;
  Complete(c, now);
  trace_->Mix(value ? *value : std::string("<absent>"));
  trace_->Add(now, {24, id, seq},
              [&] { return "client " + std::to_string(id) + " done: " + lin::Describe(op); });
}

}  // namespace grid::sim
