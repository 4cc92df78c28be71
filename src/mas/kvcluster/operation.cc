#include "mas/kvcluster/operation.h"

#include <ctime>
#include <cstdio>

namespace grid::mas::kvcluster {
namespace {

void PutIfSet(nlohmann::json* j, const char* key, const std::string& value) {
  if (!value.empty()) (*j)[key] = value;
}

Status ReadString(const nlohmann::json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return Corruption(std::string("status.operation.") + key + ": not a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

}  // namespace

nlohmann::json OperationToJson(const Operation& op) {
  nlohmann::json j = nlohmann::json::object();
  j["name"] = op.name;
  j["step"] = op.step;
  PutIfSet(&j, "target", op.target);
  PutIfSet(&j, "from", op.from);
  PutIfSet(&j, "member", op.member);
  PutIfSet(&j, "memberStarted", op.member_started);
  PutIfSet(&j, "oldId", op.old_id);
  PutIfSet(&j, "reason", op.reason);
  PutIfSet(&j, "started", op.started);
  PutIfSet(&j, "stage", op.stage);
  if (!op.record.is_null()) j["record"] = op.record;
  nlohmann::json steps = nlohmann::json::array();
  for (const StepRecord& r : op.steps) {
    steps.push_back({{"step", r.step}, {"time", r.time}, {"result", r.result}});
  }
  j["steps"] = std::move(steps);
  return j;
}

Result<std::optional<Operation>> OperationFromJson(const nlohmann::json& j) {
  if (j.is_null()) return std::optional<Operation>();
  if (!j.is_object()) return Corruption("status.operation: not an object");
  Operation op;
  GRID_RETURN_IF_ERROR(ReadString(j, "name", &op.name));
  if (op.name.empty()) return Corruption("status.operation.name: required");
  if (auto it = j.find("step"); it != j.end()) {
    if (!it->is_number_integer()) return Corruption("status.operation.step: not an integer");
    op.step = it->get<int64_t>();
  }
  GRID_RETURN_IF_ERROR(ReadString(j, "target", &op.target));
  GRID_RETURN_IF_ERROR(ReadString(j, "from", &op.from));
  GRID_RETURN_IF_ERROR(ReadString(j, "member", &op.member));
  GRID_RETURN_IF_ERROR(ReadString(j, "memberStarted", &op.member_started));
  GRID_RETURN_IF_ERROR(ReadString(j, "oldId", &op.old_id));
  GRID_RETURN_IF_ERROR(ReadString(j, "reason", &op.reason));
  GRID_RETURN_IF_ERROR(ReadString(j, "started", &op.started));
  GRID_RETURN_IF_ERROR(ReadString(j, "stage", &op.stage));
  if (auto it = j.find("record"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Corruption("status.operation.record: not an object");
    op.record = *it;
  }
  if (auto it = j.find("steps"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Corruption("status.operation.steps: not an array");
    for (const auto& s : *it) {
      if (!s.is_object()) return Corruption("status.operation.steps[]: not an object");
      StepRecord r;
      GRID_RETURN_IF_ERROR(ReadString(s, "step", &r.step));
      GRID_RETURN_IF_ERROR(ReadString(s, "time", &r.time));
      GRID_RETURN_IF_ERROR(ReadString(s, "result", &r.result));
      op.steps.push_back(std::move(r));
    }
  }
  return std::optional<Operation>(std::move(op));
}

void RecordStep(Operation* op, std::string step, std::string time, std::string result) {
  if (result.size() > kMaxStepResultBytes) result.resize(kMaxStepResultBytes);
  op->steps.push_back({std::move(step), std::move(time), std::move(result)});
  if (op->steps.size() > kMaxOperationSteps) {
    op->steps.erase(op->steps.begin(),
                    op->steps.begin() + static_cast<ptrdiff_t>(op->steps.size() - kMaxOperationSteps));
  }
  ++op->step;
}

std::optional<OperationResult> EndedAs(const std::optional<Operation>& prev,
                                       const std::optional<Operation>& next, Phase next_phase) {
  if (!prev) return std::nullopt;
  if (next) {
    if (next->name == prev->name && next->started == prev->started &&
        next->target == prev->target) {
      return std::nullopt;
    }
    if (prev->name == kOpRollingUpgrade && next->name == kOpRollback) {
      return OperationResult::kRolledBack;
    }
    return OperationResult::kSuperseded;
  }
  return next_phase == Phase::kFailed ? OperationResult::kFailed : OperationResult::kSucceeded;
}

OperationRecord ToHistory(const Operation& op, OperationResult result, std::string finished) {
  OperationRecord rec;
  rec.name = op.name;
  rec.result = result;
  rec.started = op.started;
  rec.finished = std::move(finished);
  for (const StepRecord& s : op.steps) rec.steps.push_back({s.step, s.time, s.result});
  return rec;
}

std::optional<TimePoint> ParseTimestamp(std::string_view text) {
  if (text.size() != 20 || text[19] != 'Z') return std::nullopt;
  std::tm tm{};
  char tail = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail) != 7 || tail != 'Z') {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t secs = timegm(&tm);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(secs);
}

std::string MemberIdHex(uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(id));
  return buf;
}

std::optional<uint64_t> ParseMemberIdHex(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace grid::mas::kvcluster
