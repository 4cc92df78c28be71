#include "kv/server/applier.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <fmt/ranges.h>

#include "kv/apply/kv_applier.h"
#include "kv/lease/lease_apply.h"
#include "kv/server/errors.h"

namespace grid::kv {
namespace {

bool TxnHasWrites(const etcdserverpb::TxnRequest& txn) {
  for (const auto* ops : {&txn.success(), &txn.failure()}) {
    for (const auto& op : *ops) {
      if (op.has_request_put() || op.has_request_delete_range()) return true;
      if (op.has_request_txn() && TxnHasWrites(op.request_txn())) return true;
    }
  }
  return false;
}

}  // namespace

Applier::Applier(ApplierDeps deps, ApplierLimits limits) : deps_(std::move(deps)), limits_(limits) {}

Applier::~Applier() { Stop(); }

void Applier::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Applier::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Applier::Enqueue(std::vector<wal::Entry> entries) {
  {
    std::lock_guard lock(mu_);
    for (auto& e : entries) queue_.push_back(Item{std::move(e), nullptr});
  }
  cv_.notify_one();
}

void Applier::RunInOrder(std::function<uint64_t()> task) {
  if (!thread_.joinable()) {
    ReportApplied(task());
    return;
  }
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Item{wal::Entry{}, std::move(task)});
  }
  cv_.notify_one();
}

void Applier::ReportApplied(uint64_t index) {
  if (index <= reported_applied_) return;
  reported_applied_ = index;
  if (deps_.on_applied) deps_.on_applied(index);
}

void Applier::ReportSkippedMemberChange(const wal::Entry& entry) {
  if (!deps_.on_member_change || entry.data.empty()) return;
  kvpb::InternalRequest request;
  GRID_CHECK(request.ParseFromString(entry.data))
      << "committed entry " << entry.index << " does not decode";
  if (!request.has_member_change()) return;
  const kvpb::MemberChange& change = request.member_change();
  const auto now = deps_.members->Get(change.member().id());
  bool reflected = false;
  switch (change.kind()) {
    case kvpb::MemberChange::ADD:
      reflected = now.has_value();
      break;
    case kvpb::MemberChange::REMOVE:
      reflected = !now.has_value();
      break;
    case kvpb::MemberChange::PROMOTE:
      reflected = now.has_value() && !now->is_learner();
      break;
    default:  // UPDATE does not change the Raft configuration
      reflected = now.has_value();
      break;
  }
  deps_.on_member_change(change, reflected);
}

void Applier::ApplyNow(std::vector<wal::Entry> entries) {
  GRID_CHECK(!thread_.joinable()) << "ApplyNow while the apply thread runs";
  size_t i = 0;
  while (i < entries.size()) {
    size_t n = std::min(limits_.max_entries_per_batch, entries.size() - i);
    std::vector<wal::Entry> group(std::make_move_iterator(entries.begin() + i),
                                  std::make_move_iterator(entries.begin() + i + n));
    ApplyGroup(group);
    i += n;
  }
}

void Applier::Run() {
  pthread_setname_np(pthread_self(), "grid-apply");
  std::vector<wal::Entry> group;
  for (;;) {
    std::function<uint64_t()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      group.clear();
      if (queue_.front().task) {
        task = std::move(queue_.front().task);
        queue_.pop_front();
      }
      while (!task && !queue_.empty() && !queue_.front().task &&
             group.size() < limits_.max_entries_per_batch) {
        group.push_back(std::move(queue_.front().entry));
        queue_.pop_front();
      }
    }
    if (task) {
      applied_since_flush_ = 0;
      ReportApplied(task());
    } else {
      ApplyGroup(group);
    }
  }
}

void Applier::ApplyGroup(std::vector<wal::Entry>& entries) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(entries.size());
  std::unique_ptr<mvcc::Batch> batch = deps_.store->BeginBatch();
  const uint64_t consistent_index = deps_.store->ConsistentIndex();
  uint64_t last_index = 0;
  for (const wal::Entry& entry : entries) {
    last_index = entry.index;
    if (!failed_.ok()) continue;
    if (entry.index <= consistent_index) {
      if (entry.type == wal::kEntryConfChange) ReportSkippedMemberChange(entry);
      continue;
    }
    // An empty entry is a new leader's; a conf-change entry carries the InternalRequest that
    // proposed the membership change.
    if (entry.data.empty()) continue;
    kvpb::InternalRequest request;
    GRID_CHECK(request.ParseFromString(entry.data))
        << "committed entry " << entry.index << " does not decode";
    outcomes.push_back(ApplyRequest(batch, request, entry.index));
  }
  if (failed_.ok() && last_index > consistent_index) {
    Status s = CommitBatch(batch, last_index);
    if (!s.ok()) {
      for (Outcome& o : outcomes) o.status = s;
    }
    applied_since_flush_ += last_index - std::max(consistent_index, entries.front().index - 1);
  }
  if (failed_.ok() && deps_.on_durable && deps_.snapshot_count > 0 &&
      applied_since_flush_ >= deps_.snapshot_count) {
    applied_since_flush_ = 0;
    if (Status s = deps_.store->Flush(); s.ok()) {
      deps_.on_durable(last_index);
    } else {
      spdlog::warn("apply: backend flush failed, the log is kept: {}", s.ToString());
    }
  }
  // Answering a waiter sends its gRPC response (serialising, a socket write): the whole
  // group's answers go to the responder pool so the apply thread moves on to the next group.
  auto answers = std::make_shared<std::vector<std::pair<ApplyCallback, Outcome>>>();
  answers->reserve(outcomes.size());
  for (Outcome& o : outcomes) {
    if (ApplyCallback done = deps_.waits->Take(o.id)) {
      if (!failed_.ok()) o.status = failed_;
      answers->emplace_back(std::move(done), std::move(o));
    }
  }
  auto answer_all = [answers] {
    for (auto& [done, o] : *answers) done(o.status, std::move(o.response));
  };
  if (!answers->empty() && (deps_.responders == nullptr || !deps_.responders->Post(answer_all))) {
    answer_all();  // no pool, or its queue is full: answer here (back-pressure)
  }
  if (last_index > 0) ReportApplied(last_index);
  batch.reset();  // after the answers: freeing a large batch takes milliseconds
}

Status Applier::CommitBatch(std::unique_ptr<mvcc::Batch>& batch, uint64_t index) {
  batch->SetConsistentIndex(index);
  Result<std::vector<mvccpb::Event>> events = batch->Commit();
  if (!events.ok()) {
    failed_ = Unavailable("etcdserver: the backend refused a write (" +
                          events.status().ToString() +
                          "); the member stopped taking writes, the log keeps them");
    spdlog::critical("apply: {}", failed_.message());
    if (deps_.on_fatal) deps_.on_fatal(failed_);
    return failed_;
  }
  if (deps_.on_events) deps_.on_events(std::move(*events), deps_.store->CurrentRevision());
  return Status::Ok();
}

int64_t Applier::RevisionNow(mvcc::Batch& batch) {
  // An empty txn consumes no revision: its write revision is the next one.
  int64_t revision = batch.BeginTxn().WriteRevision() - 1;
  batch.EndTxn();
  return revision;
}

Applier::Outcome Applier::ApplyRequest(std::unique_ptr<mvcc::Batch>& batch,
                                       const kvpb::InternalRequest& request, uint64_t index) {
  Outcome out;
  out.id = request.id();
  kvpb::InternalResponse& response = out.response;
  const bool no_space = deps_.alarms->Has(etcdserverpb::NOSPACE);
  etcdserverpb::ResponseHeader* header = nullptr;

  switch (request.op_case()) {
    case kvpb::InternalRequest::kPut: {
      if (no_space) {
        out.status = ErrNoSpace();
        break;
      }
      mvcc::WriteTxn& txn = batch->BeginTxn();
      auto r = ApplyPut(txn, *deps_.lessor, request.put());
      batch->EndTxn();
      if (!r.ok()) {
        out.status = r.status();
        break;
      }
      *response.mutable_put() = std::move(*r);
      header = response.mutable_put()->mutable_header();
      break;
    }
    case kvpb::InternalRequest::kDeleteRange: {
      mvcc::WriteTxn& txn = batch->BeginTxn();
      auto r = ApplyDeleteRange(txn, *deps_.lessor, request.delete_range());
      batch->EndTxn();
      if (!r.ok()) {
        out.status = r.status();
        break;
      }
      *response.mutable_delete_range() = std::move(*r);
      header = response.mutable_delete_range()->mutable_header();
      break;
    }
    case kvpb::InternalRequest::kTxn: {
      if (no_space && TxnHasWrites(request.txn())) {
        out.status = ErrNoSpace();
        break;
      }
      mvcc::WriteTxn& txn = batch->BeginTxn();
      auto r = ApplyTxn(txn, *deps_.lessor, request.txn());
      batch->EndTxn();
      if (!r.ok()) {
        out.status = r.status();
        break;
      }
      *response.mutable_txn() = std::move(*r);
      header = response.mutable_txn()->mutable_header();
      break;
    }
    case kvpb::InternalRequest::kCompaction: {
      // Compaction works on published data: publish what this group applied so far first.
      Status s = CommitBatch(batch, index - 1);
      batch.reset();  // one batch is open at a time
      if (s.ok()) s = deps_.store->Compact(request.compaction().revision());
      batch = deps_.store->BeginBatch();
      if (!s.ok()) {
        out.status = s;
        break;
      }
      header = response.mutable_compaction()->mutable_header();
      break;
    }
    case kvpb::InternalRequest::kLeaseGrant: {
      if (no_space) {
        out.status = ErrNoSpace();
        break;
      }
      auto r = lease::ApplyLeaseGrant(*deps_.lessor, *batch, request.lease_grant());
      if (!r.ok()) {
        out.status = r.status();
        break;
      }
      *response.mutable_lease_grant() = std::move(*r);
      header = response.mutable_lease_grant()->mutable_header();
      break;
    }
    case kvpb::InternalRequest::kLeaseRevoke: {
      auto r = lease::ApplyLeaseRevoke(*deps_.lessor, *batch, request.lease_revoke());
      if (!r.ok()) {
        out.status = r.status();
        break;
      }
      *response.mutable_lease_revoke() = std::move(*r);
      header = response.mutable_lease_revoke()->mutable_header();
      break;
    }
    case kvpb::InternalRequest::kLeaseCheckpoint: {
      lease::ApplyLeaseCheckpoint(*deps_.lessor, *batch, request.lease_checkpoint());
      break;
    }
    case kvpb::InternalRequest::kAlarm: {
      out.status = ApplyAlarm(*batch, request.alarm(), response.mutable_alarm());
      header = response.mutable_alarm()->mutable_header();
      break;
    }
    case kvpb::InternalRequest::kMemberChange: {
      const kvpb::MemberChange& change = request.member_change();
      auto r = deps_.members->Apply(change, deps_.member->member_id);
      if (deps_.on_member_change) deps_.on_member_change(change, r.ok());
      if (!r.ok()) {
        out.status = r.status();
        break;
      }
      const std::string key = MemberTable::StorageKey(r->id());
      if (change.kind() == kvpb::MemberChange::REMOVE) {
        batch->DeleteMeta("members", key);
      } else {
        batch->PutMeta("members", key, r->SerializeAsString());
      }
      spdlog::info("membership: {} member {:x} ({})", kvpb::MemberChange::Kind_Name(change.kind()),
                   r->id(), fmt::join(r->peer_urls(), ","));
      kvpb::MemberChangeResponse* resp = response.mutable_member_change();
      *resp->mutable_member() = std::move(*r);
      for (auto& m : deps_.members->List()) *resp->add_members() = std::move(m);
      break;
    }
    case kvpb::InternalRequest::kMemberAttributes: {
      auto r = deps_.members->SetAttributes(request.member_attributes());
      if (!r.ok()) {
        out.status = r.status();
        break;
      }
      batch->PutMeta("members", MemberTable::StorageKey(r->id()), r->SerializeAsString());
      break;
    }
    case kvpb::InternalRequest::OP_NOT_SET:
      break;
  }
  if (out.status.ok() && header != nullptr) {
    int64_t revision = header->revision() != 0 ? header->revision() : RevisionNow(*batch);
    deps_.member->FillHeader(header, revision);
  }
  return out;
}

Status Applier::ApplyAlarm(mvcc::Batch& batch, const etcdserverpb::AlarmRequest& request,
                           etcdserverpb::AlarmResponse* response) {
  using etcdserverpb::AlarmRequest;
  const uint64_t member = request.memberid();
  switch (request.action()) {
    case AlarmRequest::GET:
      break;
    case AlarmRequest::ACTIVATE: {
      if (request.alarm() == etcdserverpb::NONE) break;
      if (deps_.alarms->Activate(member, request.alarm())) {
        kvpb::AlarmRecord record;
        record.set_member_id(member);
        record.set_alarm(request.alarm());
        batch.PutMeta("alarm", AlarmTable::StorageKey(member, request.alarm()),
                      record.SerializeAsString());
        spdlog::warn("alarm {} raised by member {:x}", etcdserverpb::AlarmType_Name(request.alarm()),
                     member);
      }
      auto* m = response->add_alarms();
      m->set_memberid(member);
      m->set_alarm(request.alarm());
      return Status::Ok();
    }
    case AlarmRequest::DEACTIVATE: {
      if (deps_.alarms->Deactivate(member, request.alarm())) {
        batch.DeleteMeta("alarm", AlarmTable::StorageKey(member, request.alarm()));
        spdlog::info("alarm {} cleared for member {:x}",
                     etcdserverpb::AlarmType_Name(request.alarm()), member);
        auto* m = response->add_alarms();
        m->set_memberid(member);
        m->set_alarm(request.alarm());
      }
      return Status::Ok();
    }
    default:
      break;
  }
  for (const auto& m : deps_.alarms->List()) *response->add_alarms() = m;
  return Status::Ok();
}

}  // namespace grid::kv
