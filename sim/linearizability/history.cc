#include "sim/linearizability/history.h"

#include <limits>
#include <sstream>

namespace grid::lin {

const char* OpTypeName(OpType t) {
  switch (t) {
    case OpType::kPut:
      return "put";
    case OpType::kGet:
      return "get";
    case OpType::kDelete:
      return "delete";
    case OpType::kCas:
      return "cas";
  }
  return "?";
}

Status Validate(const Operation& op) {
  if (op.outcome != Outcome::kIndeterminate && !op.return_time) {
    return InvalidArgument("an operation with a definite outcome needs a return time");
  }
  if (op.return_time && *op.return_time == std::numeric_limits<int64_t>::max()) {
    return InvalidArgument("return time too large");
  }
  if (op.return_time && *op.return_time < op.invoke_time) {
    return InvalidArgument("return time " + std::to_string(*op.return_time) +
                           " before invoke time " + std::to_string(op.invoke_time));
  }
  return Status::Ok();
}

namespace {
std::string Quote(const std::optional<std::string>& v) {
  if (!v) return "absent";
  std::string out = "\"";
  for (char c : *v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string Describe(const Operation& op) {
  std::ostringstream s;
  s << "client " << op.client << ": " << OpTypeName(op.type) << "(" << Quote(op.key);
  switch (op.type) {
    case OpType::kPut:
      s << ", " << Quote(op.value) << ")";
      break;
    case OpType::kGet:
      s << ")";
      break;
    case OpType::kDelete:
      s << ")";
      break;
    case OpType::kCas:
      s << ", " << Quote(op.expected) << " -> " << Quote(op.value) << ")";
      break;
  }
  switch (op.outcome) {
    case Outcome::kOk:
      if (op.type == OpType::kGet) s << " -> " << Quote(op.got);
      if (op.type == OpType::kCas) s << (op.swapped ? " -> swapped" : " -> not swapped");
      if (op.type == OpType::kDelete && op.deleted_existing) {
        s << (*op.deleted_existing ? " -> deleted" : " -> was absent");
      }
      break;
    case Outcome::kFailed:
      s << " failed";
      break;
    case Outcome::kIndeterminate:
      s << " indeterminate";
      break;
  }
  s << " [invoke " << op.invoke_time << ", return ";
  if (op.return_time) {
    s << *op.return_time;
  } else {
    s << "never";
  }
  s << "]";
  return s.str();
}

}  // namespace grid::lin
