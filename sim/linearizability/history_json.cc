#include "sim/linearizability/history_json.h"

#include <nlohmann/json.hpp>

namespace grid::lin {

namespace {

using Json = nlohmann::json;

Result<std::string> StringField(const Json& j, const char* name, bool numbers_ok) {
  auto it = j.find(name);
  if (it == j.end()) return InvalidArgument(std::string("missing \"") + name + "\"");
  if (it->is_string()) return it->get<std::string>();
  if (numbers_ok && it->is_number()) return it->dump();
  return InvalidArgument(std::string("\"") + name + "\" must be a string");
}

// A string, or null (absent); numbers are taken as their decimal text.
Result<std::optional<std::string>> NullableString(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return InvalidArgument(std::string("missing \"") + name + "\"");
  if (it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_number()) return std::optional<std::string>(it->dump());
  return InvalidArgument(std::string("\"") + name + "\" must be a string or null");
}

Result<Operation> FromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  Operation op;
  GRID_ASSIGN_OR_RETURN(op.client, StringField(j, "client", /*numbers_ok=*/true));
  GRID_ASSIGN_OR_RETURN(std::string type, StringField(j, "op", false));
  if (type == "put") {
    op.type = OpType::kPut;
  } else if (type == "get") {
    op.type = OpType::kGet;
  } else if (type == "delete") {
    op.type = OpType::kDelete;
  } else if (type == "cas") {
    op.type = OpType::kCas;
  } else {
    return InvalidArgument("\"op\" must be put, get, delete or cas, not \"" + type + "\"");
  }
  GRID_ASSIGN_OR_RETURN(op.key, StringField(j, "key", true));
  if (op.type == OpType::kPut || op.type == OpType::kCas) {
    GRID_ASSIGN_OR_RETURN(op.value, StringField(j, "value", true));
  }
  if (op.type == OpType::kCas) {
    GRID_ASSIGN_OR_RETURN(op.expected, NullableString(j, "expected"));
  }
  auto invoke = j.find("invoke");
  if (invoke == j.end() || !invoke->is_number_integer()) {
    return InvalidArgument("\"invoke\" must be an integer");
  }
  op.invoke_time = invoke->get<int64_t>();
  auto ret = j.find("return");
  if (ret != j.end() && !ret->is_null()) {
    if (!ret->is_number_integer()) return InvalidArgument("\"return\" must be an integer or null");
    op.return_time = ret->get<int64_t>();
  }
  auto ok = j.find("ok");
  std::optional<bool> ok_value;
  if (ok != j.end() && !ok->is_null()) {
    if (!ok->is_boolean()) return InvalidArgument("\"ok\" must be true, false or null");
    ok_value = ok->get<bool>();
  }
  if (!op.return_time) {
    if (ok_value) return InvalidArgument("\"ok\" must be null when \"return\" is null");
    op.outcome = Outcome::kIndeterminate;
  } else if (!ok_value) {
    op.outcome = Outcome::kIndeterminate;
  } else {
    op.outcome = *ok_value ? Outcome::kOk : Outcome::kFailed;
  }
  if (op.outcome == Outcome::kOk) {
    auto result = j.find("result");
    switch (op.type) {
      case OpType::kGet: {
        GRID_ASSIGN_OR_RETURN(op.got, NullableString(j, "result"));
        break;
      }
      case OpType::kCas:
        if (result == j.end() || !result->is_boolean()) {
          return InvalidArgument("a successful cas needs a boolean \"result\"");
        }
        op.swapped = result->get<bool>();
        break;
      case OpType::kDelete:
        if (result != j.end() && !result->is_null()) {
          if (!result->is_boolean()) return InvalidArgument("delete \"result\" must be a boolean");
          op.deleted_existing = result->get<bool>();
        }
        break;
      case OpType::kPut:
        break;
    }
  }
  GRID_RETURN_IF_ERROR(Validate(op));
  return op;
}

}  // namespace

Result<Operation> ParseOperationJson(const std::string& line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("not valid JSON");
  return FromJson(j);
}

Result<std::vector<Operation>> ReadHistoryJson(std::istream& in) {
  std::vector<Operation> ops;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.size() > kMaxHistoryLineBytes) {
      return InvalidArgument("line " + std::to_string(line_no) + ": longer than " +
                             std::to_string(kMaxHistoryLineBytes) + " bytes");
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<Operation> op = ParseOperationJson(line);
    if (!op.ok()) return op.status().WithContext("line " + std::to_string(line_no));
    ops.push_back(std::move(op).value());
  }
  return ops;
}

std::string OperationToJson(const Operation& op) {
  Json j;
  j["client"] = op.client;
  j["op"] = OpTypeName(op.type);
  j["key"] = op.key;
  if (op.type == OpType::kPut || op.type == OpType::kCas) j["value"] = op.value;
  if (op.type == OpType::kCas) {
    j["expected"] = op.expected ? Json(*op.expected) : Json(nullptr);
  }
  j["invoke"] = op.invoke_time;
  j["return"] = op.return_time ? Json(*op.return_time) : Json(nullptr);
  switch (op.outcome) {
    case Outcome::kOk:
      j["ok"] = true;
      break;
    case Outcome::kFailed:
      j["ok"] = false;
      break;
    case Outcome::kIndeterminate:
      j["ok"] = nullptr;
      break;
  }
  Json result(nullptr);
  if (op.outcome == Outcome::kOk) {
    if (op.type == OpType::kGet && op.got) result = *op.got;
    if (op.type == OpType::kCas) result = op.swapped;
    if (op.type == OpType::kDelete && op.deleted_existing) result = *op.deleted_existing;
  }
  j["result"] = result;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace grid::lin
