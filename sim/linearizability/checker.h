// Linearizability checker for a key -> value register map (Wing & Gong's search with Lowe's
// memo of (linearized set, model state), as in Porcupine). Each key is an independent
// register, so the history is checked key by key (P-compositionality): the whole history is
// linearizable iff every key's sub-history is.
//
// Semantics:
//  - kFailed operations are dropped (they took no effect);
//  - an indeterminate operation gets an infinite return time: it may be placed at any point
//    after its invocation, including after everything else (= it never took effect);
//    an indeterminate get constrains nothing and is dropped;
//  - operations whose intervals overlap are concurrent; equal times count as overlapping
//    (a call at time t and a return at time t are concurrent).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/linearizability/history.h"

namespace grid::lin {

// Bounds on the work per key. Going over one gives kUnknown, never a wrong verdict.
struct Limits {
  // Operations (after dropping failed ones and indeterminate gets) on one key.
  size_t max_ops_per_key = 10'000;
  // DFS steps on one key (one step = one attempt to place or undo one operation).
  uint64_t max_search_steps_per_key = 20'000'000;
  // Memory held by the memo of visited (linearized set, state) pairs, per key.
  size_t max_memo_bytes_per_key = 512ull << 20;
  // Re-checks spent shrinking a violation to the operations that explain it.
  size_t max_explain_checks = 256;
};

enum class Verdict : uint8_t { kLinearizable = 0, kViolation = 1, kUnknown = 2 };
const char* VerdictName(Verdict v);

struct CheckResult {
  Verdict verdict = Verdict::kLinearizable;
  // kViolation / kUnknown: the key concerned (the smallest such key).
  std::string key;
  // kViolation: the operations that explain it (a read-minimal sub-history, see
  // Explanation in the README), sorted by invoke time.
  std::vector<Operation> involved;
  // A few lines for a person: what failed and why (or which limit was reached).
  std::string explanation;
  size_t keys_checked = 0;
  size_t ops_checked = 0;
  uint64_t search_steps = 0;
};

// Checks `history`. InvalidArgument when an operation is malformed (see Validate).
Result<CheckResult> Check(const std::vector<Operation>& history, const Limits& limits = {});

// Verdict and explanation as printed by grid-lincheck.
std::string FormatResult(const CheckResult& r);

}  // namespace grid::lin
