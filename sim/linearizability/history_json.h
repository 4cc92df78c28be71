// Histories as JSON lines, one operation per line (format in README.md). Used by grid-lincheck
// and by anything that records a history for it.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "common/status.h"
#include "sim/linearizability/history.h"

namespace grid::lin {

// Limit on one input line, so a corrupt file fails fast instead of exhausting memory.
inline constexpr size_t kMaxHistoryLineBytes = 1 << 20;

// Parses one line. InvalidArgument naming the field when it is malformed.
Result<Operation> ParseOperationJson(const std::string& line);
// Reads every non-blank line. InvalidArgument "line N: ..." on the first malformed one.
Result<std::vector<Operation>> ReadHistoryJson(std::istream& in);
// The line ParseOperationJson reads back to `op`.
std::string OperationToJson(const Operation& op);

}  // namespace grid::lin
