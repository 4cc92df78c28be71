// Short text forms of core values for the verbose trace, and their hash fields.
#pragma once

#include <cstdint>
#include <string>

#include "raft/types.h"
#include "sim/trace.h"

namespace grid::sim {

std::string DescribeMessage(const raft::Message& m);
std::string DescribeEntry(const raft::Entry& e);
std::string DescribeConf(const raft::ConfState& cs);
// Folds the fields of `m` that matter into the trace hash.
void MixMessage(Trace& t, const raft::Message& m);
// FNV-1a 64 of a string.
uint64_t HashBytes(const std::string& s);

}  // namespace grid::sim
