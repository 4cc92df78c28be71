#include "mas/controller/job_lock.h"

#include <nlohmann/json.hpp>

#include "client/mutex.h"
#include "client/ops.h"

namespace grid::mas::controller {
namespace {

Status ValidateName(std::string_view name) {
  if (name.empty()) return InvalidArgument("job name is empty");
  if (name.size() > kMaxJobNameBytes) {
    return InvalidArgument("job name longer than " + std::to_string(kMaxJobNameBytes) +
                           " bytes");
  }
  if (name.find('/') != std::string_view::npos) {
    return InvalidArgument("job name contains '/': " + std::string(name));
  }
  return Status::Ok();
}

Result<JobRecord> ParseRecord(const mvccpb::KeyValue& kv) {
  auto j = nlohmann::json::parse(kv.value(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("tick") ||
      !j["tick"].is_number_integer()) {
    return Corruption("job record " + kv.key() + " is not {\"tick\":N,...}");
  }
  JobRecord r;
  r.tick = j["tick"].get<int64_t>();
  if (j.contains("replica") && j["replica"].is_string()) r.replica = j["replica"];
  r.revision = kv.mod_revision();
  return r;
}

}  // namespace

JobLock::JobLock(client::Session* session, JobLockOptions options)
    : session_(session), options_(std::move(options)) {
  GRID_CHECK(!options_.prefix.empty() && options_.prefix.back() == '/')
      << "job prefix must end with '/': " << options_.prefix;
}

std::string JobLock::LockPrefix(std::string_view name) const {
  return options_.prefix + "lock/" + std::string(name);
}

std::string JobLock::RecordKey(std::string_view name) const {
  return options_.prefix + "last/" + std::string(name);
}

Result<std::optional<JobRecord>> JobLock::LastRun(std::string_view name) {
  GRID_RETURN_IF_ERROR(ValidateName(name));
  GRID_ASSIGN_OR_RETURN(auto get, session_->client()->Get(RecordKey(name)));
  if (get.kvs_size() == 0) return std::optional<JobRecord>();
  GRID_ASSIGN_OR_RETURN(auto rec, ParseRecord(get.kvs(0)));
  return std::optional<JobRecord>(std::move(rec));
}

Result<JobOutcome> JobLock::RunExclusive(std::string_view name, int64_t tick,
                                         const std::function<Status()>& job) {
  GRID_RETURN_IF_ERROR(ValidateName(name));
  client::Mutex mutex(session_, LockPrefix(name));
  GRID_RETURN_IF_ERROR(mutex.Lock(client::Context().WithTimeout(options_.lock_timeout)));
  auto unlock = [&](auto result) {
    (void)mutex.Unlock();  // the lease expiry removes the key if this fails
    return result;
  };

  auto last = LastRun(name);
  if (!last.ok()) return unlock(Result<JobOutcome>(last.status()));
  if (last->has_value() && (*last)->tick >= tick) return unlock(Result<JobOutcome>(JobOutcome{}));

  nlohmann::json rec = {{"tick", tick}, {"replica", options_.replica}};
  auto claim = client::TxnBuilder()
                   .If(mutex.IsOwner())
                   .Then(client::OpPut(RecordKey(name), rec.dump()));
  auto resp = session_->client()->Txn(claim.request());
  if (!resp.ok()) return unlock(Result<JobOutcome>(resp.status()));
  if (!resp->succeeded()) {
    return unlock(Result<JobOutcome>(FailedPrecondition("job lock " + mutex.key() + " lost")));
  }
  JobOutcome out;
  out.ran = true;
  out.revision = resp->header().revision();
  out.job_status = job();
  return unlock(Result<JobOutcome>(std::move(out)));
}

}  // namespace grid::mas::controller
