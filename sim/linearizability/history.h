// A client-observed history of operations on a key -> value register map, the input of the
// linearizability checker. Times are monotonic integers from one clock shared by all clients.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace grid::lin {

enum class OpType : uint8_t {
  kPut = 0,     // key := value
  kGet = 1,     // read key (value or absent)
  kDelete = 2,  // key := absent
  kCas = 3,     // if key == expected (absent when expected is nullopt) then key := value
};

// How an operation ended, as the client saw it.
enum class Outcome : uint8_t {
  kOk = 0,             // returned success: it took effect once, between invoke and return
  kFailed = 1,         // returned a definite failure: it took no effect
  kIndeterminate = 2,  // never returned (timeout, crash) or returned an ambiguous error: it
                       // took effect at one point after its invocation, or never
};

struct Operation {
  std::string client;  // only used to explain a verdict
  OpType type = OpType::kGet;
  std::string key;
  std::string value;                    // kPut, kCas: the value written
  std::optional<std::string> expected;  // kCas: the required current value; nullopt = absent
  int64_t invoke_time = 0;
  std::optional<int64_t> return_time;  // nullopt: never returned
  Outcome outcome = Outcome::kIndeterminate;
  // Results, meaningful when outcome == kOk:
  std::optional<std::string> got;        // kGet: the value read; nullopt = absent
  bool swapped = false;                  // kCas: whether the comparison held
  std::optional<bool> deleted_existing;  // kDelete: whether the key existed, when known
};

// InvalidArgument when the operation is malformed (return before invoke, kOk/kFailed without
// a return time).
Status Validate(const Operation& op);

// One line for a person, e.g. `client 3: get("k") -> "v" [invoke 10, return 12]`.
std::string Describe(const Operation& op);

const char* OpTypeName(OpType t);

}  // namespace grid::lin
