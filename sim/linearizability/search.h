// The per-key search behind Check(): one register, operations prepared with interned values.
// Internal to the checker; exposed for its tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sim/linearizability/checker.h"

namespace grid::lin::internal {

inline constexpr int32_t kAbsent = -1;
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

enum class CasResult : uint8_t { kSwapped, kNotSwapped, kUnknown };

// One operation on the key being searched. Values are interned per key (kAbsent = no value).
struct KeyOp {
  size_t source = 0;  // index in the caller's history
  OpType type = OpType::kGet;
  int32_t value = kAbsent;     // kPut / kCas: value written
  int32_t expected = kAbsent;  // kCas: required current value
  int32_t got = kAbsent;       // kGet: value read
  CasResult cas = CasResult::kUnknown;
  int8_t delete_existed = -1;  // kDelete: -1 unknown, 0 no, 1 yes
  int64_t invoke = 0;
  int64_t ret = kNever;  // kNever: indeterminate
  bool indeterminate() const { return ret == kNever; }
};

// The register as the search sees it. `fresh`: the last operation placed was an
// indeterminate write, so the next one must observe it (see ModelStep).
struct RegisterState {
  int32_t value = kAbsent;
  bool fresh = false;
  int32_t before = kAbsent;  // when fresh: the value before that write
  friend bool operator==(const RegisterState&, const RegisterState&) = default;
};

// Applies `op` to `state`. False when the op's result is impossible from `state`, or when
// placing it here is never needed (below).
//
// Indeterminate operations are placed only where they matter: a linearization can always be
// rewritten so that every indeterminate operation it places changes the register and is
// immediately followed by an operation that observes the register (a get, a cas, a delete
// that reports existence), and, when that operation is a delete reporting existence or a cas
// that swapped or may have (whose result does not depend on the value beyond its check), is
// needed for it to pass or to take effect. Proof sketch: an indeterminate operation that is a no-op
// where it stands can move to the end (= never happened); one whose next operation is a write that
// does not look at the register (a put, a delete without a result, an indeterminate put or delete)
// has no observer before being overwritten, and one whose next operation is such a delete or cas
// that passes without it leaves the same state after it: either can move to the end too.
// Each rewrite places fewer operations, so rewriting ends.
bool ModelStep(const KeyOp& op, RegisterState state, RegisterState* next);

enum class SearchStatus : uint8_t { kLinearizable, kViolation, kLimit };

struct SearchResult {
  SearchStatus status = SearchStatus::kLinearizable;
  std::string limit_reason;  // kLimit
  uint64_t steps = 0;
  // kViolation: the longest sequence of operations (positions in `ops`) the search could
  // linearize, and the operation whose return it reached without being able to place it.
  std::vector<size_t> best_prefix;
  size_t blocked = 0;
};

SearchResult SearchKey(const std::vector<KeyOp>& ops, const Limits& limits);

}  // namespace grid::lin::internal
