#include "sim/linearizability/checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <random>

#include "sim/linearizability/search.h"

namespace grid::lin {
namespace {

Operation Op(OpType type, std::string key, int64_t invoke, std::optional<int64_t> ret,
             std::string client = "1") {
  Operation op;
  op.client = std::move(client);
  op.type = type;
  op.key = std::move(key);
  op.invoke_time = invoke;
  op.return_time = ret;
  op.outcome = ret ? Outcome::kOk : Outcome::kIndeterminate;
  return op;
}
Operation Put(std::string key, std::string value, int64_t invoke, std::optional<int64_t> ret) {
  Operation op = Op(OpType::kPut, std::move(key), invoke, ret);
  op.value = std::move(value);
  return op;
}
Operation Get(std::string key, std::optional<std::string> got, int64_t invoke,
              std::optional<int64_t> ret) {
  Operation op = Op(OpType::kGet, std::move(key), invoke, ret);
  op.got = std::move(got);
  return op;
}
Operation Del(std::string key, int64_t invoke, std::optional<int64_t> ret) {
  return Op(OpType::kDelete, std::move(key), invoke, ret);
}
Operation Cas(std::string key, std::optional<std::string> expected, std::string value, bool swapped,
              int64_t invoke, std::optional<int64_t> ret) {
  Operation op = Op(OpType::kCas, std::move(key), invoke, ret);
  op.expected = std::move(expected);
  op.value = std::move(value);
  op.swapped = swapped;
  return op;
}
Operation Failed(Operation op) {
  op.outcome = Outcome::kFailed;
  return op;
}
// Returned, but with an error that leaves the effect unknown.
Operation Ambiguous(Operation op) {
  op.outcome = Outcome::kIndeterminate;
  return op;
}

Verdict Verify(const std::vector<Operation>& h, const Limits& limits = {}) {
  Result<CheckResult> r = Check(h, limits);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return Verdict::kUnknown;
  if (r->verdict != Verdict::kLinearizable) std::cerr << FormatResult(r.value()) << "\n";
  return r->verdict;
}

bool Involves(const CheckResult& r, const Operation& op) {
  return std::any_of(r.involved.begin(), r.involved.end(), [&](const Operation& o) {
    return o.type == op.type && o.key == op.key && o.invoke_time == op.invoke_time &&
           o.return_time == op.return_time;
  });
}

TEST(LinearizabilityTest, EmptyHistoryIsLinearizable) {
  EXPECT_EQ(Verify({}), Verdict::kLinearizable);
}

TEST(LinearizabilityTest, SequentialHistory) {
  EXPECT_EQ(Verify({Get("k", std::nullopt, 0, 1), Put("k", "a", 2, 3), Get("k", "a", 4, 5),
                    Put("k", "b", 6, 7), Get("k", "b", 8, 9), Del("k", 10, 11),
                    Get("k", std::nullopt, 12, 13)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, StaleReadIsAViolation) {
  const Operation stale = Get("k", "a", 4, 5);
  const Operation newer = Put("k", "b", 2, 3);
  Result<CheckResult> r = Check({Put("k", "a", 0, 1), newer, stale});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, Verdict::kViolation);
  EXPECT_EQ(r->key, "k");
  EXPECT_TRUE(Involves(r.value(), stale));
  EXPECT_TRUE(Involves(r.value(), newer));
  EXPECT_NE(r->explanation.find("no order places"), std::string::npos) << r->explanation;
}

TEST(LinearizabilityTest, LostAcknowledgedWriteIsAViolation) {
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), Get("k", std::nullopt, 2, 3)}), Verdict::kViolation);
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), Put("k", "b", 2, 3), Get("k", "a", 4, 5)}),
            Verdict::kViolation);
}

TEST(LinearizabilityTest, ReadOfNeverWrittenValueIsAViolation) {
  EXPECT_EQ(Verify({Put("k", "a", 0, 10), Get("k", "z", 1, 2)}), Verdict::kViolation);
  EXPECT_EQ(Verify({Get("k", "a", 0, 1)}), Verdict::kViolation);
}

TEST(LinearizabilityTest, ReadBeforeTheWriteWasInvokedIsAViolation) {
  EXPECT_EQ(Verify({Get("k", "a", 0, 1), Put("k", "a", 2, 3)}), Verdict::kViolation);
}

TEST(LinearizabilityTest, ConcurrentWriteAndReadInEitherOrder) {
  // A read concurrent with a put may see the value before or after it.
  EXPECT_EQ(Verify({Put("k", "a", 0, 10), Get("k", std::nullopt, 1, 2)}), Verdict::kLinearizable);
  EXPECT_EQ(Verify({Put("k", "a", 0, 10), Get("k", "a", 1, 2)}), Verdict::kLinearizable);
  // ... but once a later read saw it, an even later read cannot miss it.
  EXPECT_EQ(Verify({Put("k", "a", 0, 10), Get("k", "a", 1, 2), Get("k", std::nullopt, 3, 4)}),
            Verdict::kViolation);
}

TEST(LinearizabilityTest, ConcurrentPutsInEitherOrder) {
  for (const char* last : {"a", "b"}) {
    EXPECT_EQ(Verify({Put("k", "a", 0, 10), Put("k", "b", 1, 9), Get("k", last, 11, 12)}),
              Verdict::kLinearizable)
        << last;
  }
  // Two reads during the overlap that see opposite orders are fine one at a time, but not
  // when they disagree with a single order.
  EXPECT_EQ(Verify({Put("k", "a", 0, 10), Put("k", "b", 1, 9), Get("k", "a", 11, 12),
                    Get("k", "b", 13, 14)}),
            Verdict::kViolation);
}

TEST(LinearizabilityTest, EqualTimesCountAsConcurrent) {
  EXPECT_EQ(Verify({Put("k", "a", 0, 5), Get("k", std::nullopt, 5, 6)}), Verdict::kLinearizable);
  EXPECT_EQ(Verify({Put("k", "a", 0, 5), Get("k", std::nullopt, 6, 7)}), Verdict::kViolation);
}

TEST(LinearizabilityTest, IndeterminateWriteThatTookEffect) {
  EXPECT_EQ(Verify({Put("k", "a", 0, std::nullopt), Get("k", "a", 5, 6)}), Verdict::kLinearizable);
  // It may also take effect long after everything else the client saw.
  EXPECT_EQ(Verify({Put("k", "a", 0, std::nullopt), Get("k", std::nullopt, 5, 6),
                    Get("k", "a", 100, 101)}),
            Verdict::kLinearizable);
  EXPECT_EQ(Verify({Ambiguous(Put("k", "a", 0, 3)), Get("k", "a", 5, 6)}), Verdict::kLinearizable);
}

TEST(LinearizabilityTest, IndeterminateWriteThatDidNotTakeEffect) {
  EXPECT_EQ(Verify({Put("k", "a", 0, std::nullopt), Get("k", std::nullopt, 5, 6)}),
            Verdict::kLinearizable);
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), Put("k", "b", 2, std::nullopt), Get("k", "a", 5, 6)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, IndeterminateWriteTakesEffectAtMostOnce) {
  EXPECT_EQ(
      Verify({Put("k", "a", 0, std::nullopt), Get("k", "a", 5, 6), Get("k", std::nullopt, 7, 8)}),
      Verdict::kViolation);
  EXPECT_EQ(Verify({Put("k", "a", 0, std::nullopt), Put("k", "b", 1, 2), Get("k", "a", 3, 4),
                    Get("k", "b", 5, 6)}),
            Verdict::kViolation);
}

TEST(LinearizabilityTest, IndeterminateWriteCannotTakeEffectBeforeItsInvocation) {
  EXPECT_EQ(Verify({Get("k", "a", 0, 1), Put("k", "a", 2, std::nullopt)}), Verdict::kViolation);
}

TEST(LinearizabilityTest, FailedOperationsTookNoEffect) {
  EXPECT_EQ(Verify({Failed(Put("k", "a", 0, 1)), Get("k", "a", 2, 3)}), Verdict::kViolation);
  EXPECT_EQ(Verify({Failed(Put("k", "a", 0, 1)), Get("k", std::nullopt, 2, 3)}),
            Verdict::kLinearizable);
  // A failed or unanswered get says nothing.
  EXPECT_EQ(
      Verify({Put("k", "a", 0, 1), Failed(Get("k", "z", 2, 3)), Get("k", "b", 4, std::nullopt)}),
      Verdict::kLinearizable);
}

TEST(LinearizabilityTest, CompareAndSet) {
  EXPECT_EQ(Verify({Cas("k", std::nullopt, "a", true, 0, 1), Get("k", "a", 2, 3),
                    Cas("k", "a", "b", true, 4, 5), Cas("k", "a", "c", false, 6, 7),
                    Get("k", "b", 8, 9)}),
            Verdict::kLinearizable);
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), Cas("k", "a", "b", false, 2, 3)}), Verdict::kViolation);
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), Cas("k", "x", "b", true, 2, 3)}), Verdict::kViolation);
  // An unanswered cas either swapped or not.
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), Cas("k", "a", "b", false, 2, std::nullopt),
                    Get("k", "b", 4, 5)}),
            Verdict::kLinearizable);
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), Cas("k", "a", "b", false, 2, std::nullopt),
                    Get("k", "a", 4, 5)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, DeleteWithKnownExistence) {
  Operation d = Del("k", 2, 3);
  d.deleted_existing = true;
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), d, Get("k", std::nullopt, 4, 5)}), Verdict::kLinearizable);
  d.deleted_existing = false;
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), d}), Verdict::kViolation);
  EXPECT_EQ(Verify({Put("k", "a", 0, 1), Del("k", 2, 3), Get("k", "a", 4, 5)}),
            Verdict::kViolation);
}

TEST(LinearizabilityTest, KeysAreIndependentAndTheViolatingKeyIsNamed) {
  Result<CheckResult> r = Check({Put("a", "1", 0, 10), Put("b", "1", 0, 1), Get("a", "1", 2, 3),
                                 Get("b", std::nullopt, 2, 3), Get("c", std::nullopt, 0, 1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, Verdict::kViolation);
  EXPECT_EQ(r->key, "b");
}

TEST(LinearizabilityTest, ExplanationKeepsOnlyTheReadsThatMatter) {
  std::vector<Operation> h;
  int64_t t = 0;
  for (int i = 0; i < 50; ++i) {
    h.push_back(Put("k", "v" + std::to_string(i), t, t + 1));
    h.push_back(Get("k", "v" + std::to_string(i), t + 2, t + 3));
    t += 4;
  }
  const Operation stale = Get("k", "v10", t, t + 1);  // long after v49 was written
  h.push_back(stale);
  Result<CheckResult> r = Check(h);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->verdict, Verdict::kViolation);
  EXPECT_TRUE(Involves(r.value(), stale));
  // The stale read, the write it saw, the last write before it (and the tail of the longest
  // prefix): not the 50 other reads.
  EXPECT_LE(r->involved.size(), 6u) << r->explanation;
  size_t reads = 0;
  for (const Operation& op : r->involved) reads += op.type == OpType::kGet;
  EXPECT_LE(reads, 2u) << r->explanation;
}

TEST(LinearizabilityTest, MalformedOperationIsInvalidArgument) {
  Operation backwards = Put("k", "a", 5, 4);
  EXPECT_EQ(Check({backwards}).status().code(), Code::kInvalidArgument);
  Operation no_return = Put("k", "a", 5, std::nullopt);
  no_return.outcome = Outcome::kOk;
  EXPECT_EQ(Check({no_return}).status().code(), Code::kInvalidArgument);
}

// A random history that is linearizable by construction: each operation takes effect at a
// distinct instant inside its interval; some writes never return.
std::vector<Operation> RandomLinearizable(uint64_t seed, int ops, int keys) {
  std::mt19937_64 rng(seed);
  std::vector<std::optional<std::string>> state(static_cast<size_t>(keys));
  std::vector<Operation> h;
  for (int i = 0; i < ops; ++i) {
    const int64_t point = 10 * i + 5;
    const int64_t invoke = point - static_cast<int64_t>(rng() % 30);
    const int64_t ret = point + static_cast<int64_t>(rng() % 30);
    const size_t k = rng() % static_cast<size_t>(keys);
    const std::string key = "k" + std::to_string(k);
    switch (rng() % 3) {
      case 0: {
        Operation op = Put(key, "v" + std::to_string(i), invoke, ret);
        if (rng() % 8 == 0) op.return_time.reset(), op.outcome = Outcome::kIndeterminate;
        state[k] = op.value;
        h.push_back(op);
        break;
      }
      case 1:
        h.push_back(Get(key, state[k], invoke, ret));
        break;
      default:
        h.push_back(Del(key, invoke, ret));
        state[k].reset();
        break;
    }
  }
  return h;
}

TEST(LinearizabilityTest, RandomLinearizableHistoriesPass) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(Verify(RandomLinearizable(seed, 400, 3)), Verdict::kLinearizable) << seed;
  }
}

TEST(LinearizabilityTest, RandomHistoryWithOneBadReadFails) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<Operation> h = RandomLinearizable(seed, 200, 2);
    for (auto it = h.rbegin(); it != h.rend(); ++it) {
      if (it->type == OpType::kGet) {
        it->got = "never-written";
        break;
      }
    }
    EXPECT_EQ(Verify(h), Verdict::kViolation) << seed;
  }
}

TEST(LinearizabilityTest, LargeLinearizableHistoryIsFast) {
  // 4000 operations on one key: the memo keeps the search linear for a linearizable history.
  EXPECT_EQ(Verify(RandomLinearizable(7, 4000, 1)), Verdict::kLinearizable);
}

// Reference semantics by exhaustive enumeration, written independently of the search: every
// order consistent with real time, every subset of indeterminate operations taking effect.
bool BruteForceLinearizable(const std::vector<Operation>& all) {
  std::vector<Operation> ops;
  for (const Operation& op : all) {
    if (op.outcome == Outcome::kFailed) continue;
    if (op.type == OpType::kGet && op.outcome != Outcome::kOk) continue;
    ops.push_back(op);
  }
  const size_t n = ops.size();
  auto ret = [&](size_t i) {
    return ops[i].outcome == Outcome::kOk ? *ops[i].return_time
                                          : std::numeric_limits<int64_t>::max();
  };
  std::function<bool(std::vector<bool>&, size_t, std::optional<std::string>)> place =
      [&](std::vector<bool>& used, size_t left, std::optional<std::string> state) -> bool {
    if (left == 0) return true;
    for (size_t i = 0; i < n; ++i) {
      if (used[i]) continue;
      bool minimal = true;  // no unplaced op returned before i was invoked
      for (size_t j = 0; j < n; ++j) {
        if (!used[j] && j != i && ret(j) < ops[i].invoke_time) minimal = false;
      }
      if (!minimal) continue;
      const Operation& op = ops[i];
      const bool ok = op.outcome == Outcome::kOk;
      std::optional<std::string> next = state;
      bool legal = true;
      switch (op.type) {
        case OpType::kPut:
          next = op.value;
          break;
        case OpType::kDelete:
          if (ok && op.deleted_existing && *op.deleted_existing != state.has_value()) legal = false;
          next.reset();
          break;
        case OpType::kGet:
          legal = state == op.got;
          break;
        case OpType::kCas:
          if (!ok) {
            if (state == op.expected) next = op.value;
          } else if (op.swapped) {
            legal = state == op.expected;
            next = op.value;
          } else {
            legal = state != op.expected;
          }
          break;
      }
      if (!legal) continue;
      used[i] = true;
      if (place(used, left - 1, next)) return true;
      used[i] = false;
    }
    return false;
  };
  // Indeterminate operations that never took effect are left out.
  std::vector<size_t> maybe;
  for (size_t i = 0; i < n; ++i) {
    if (ops[i].outcome != Outcome::kOk) maybe.push_back(i);
  }
  for (uint64_t mask = 0; mask < (uint64_t{1} << maybe.size()); ++mask) {
    std::vector<bool> used(n, false);
    size_t left = n;
    for (size_t b = 0; b < maybe.size(); ++b) {
      if (!(mask >> b & 1)) used[maybe[b]] = true, --left;
    }
    if (place(used, left, std::nullopt)) return true;
  }
  return false;
}

TEST(LinearizabilityTest, AgreesWithBruteForceOnSmallRandomHistories) {
  std::mt19937_64 rng(42);
  const std::vector<std::optional<std::string>> values = {std::nullopt, "a", "b"};
  int violations = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<Operation> h;
    const int n = 2 + static_cast<int>(rng() % 6);
    // Odd rounds write a fresh value each time, so many values are never read.
    const bool fresh = round % 2 == 1;
    for (int i = 0; i < n; ++i) {
      const std::string written = fresh ? "w" + std::to_string(i) : *values[1 + rng() % 2];
      const int64_t invoke = static_cast<int64_t>(rng() % 12);
      const int64_t ret = invoke + static_cast<int64_t>(rng() % 6);
      Operation op;
      switch (rng() % 4) {
        case 0:
          op = Put("k", written, invoke, ret);
          break;
        case 1:
          op = Get("k", values[rng() % 3], invoke, ret);
          break;
        case 2:
          op = Del("k", invoke, ret);
          if (rng() % 2) op.deleted_existing = rng() % 2 == 0;
          break;
        default:
          op = Cas("k", values[rng() % 3], written, rng() % 2 == 0, invoke, ret);
          break;
      }
      switch (rng() % 6) {
        case 0:
          op.outcome = Outcome::kIndeterminate, op.return_time.reset();
          break;
        case 1:
          op.outcome = Outcome::kIndeterminate;
          break;
        case 2:
          op.outcome = Outcome::kFailed;
          break;
        default:
          break;
      }
      h.push_back(op);
    }
    Result<CheckResult> r = Check(h);
    ASSERT_TRUE(r.ok());
    const bool want = BruteForceLinearizable(h);
    violations += !want;
    std::string text;
    for (const Operation& op : h) text += "  " + Describe(op) + "\n";
    ASSERT_EQ(r->verdict == Verdict::kLinearizable, want) << "round " << round << "\n"
                                                          << text << FormatResult(r.value());
  }
  EXPECT_GT(violations, 100);  // both verdicts are exercised
}

// Many writes whose outcome is unknown, on a key whose deletes report existence (so none can
// be dropped): the search still answers at once, both ways.
TEST(LinearizabilityTest, ManyIndeterminateWritesStayTractable) {
  std::vector<Operation> h;
  int64_t t = 0;
  for (int i = 0; i < 200; ++i) {
    h.push_back(Put("k", "lost" + std::to_string(i), t, std::nullopt));
    // When the key was absent, this delete needs one of the unknown writes before it.
    Operation d = Del("k", t + 1, t + 2);
    d.deleted_existing = true;
    h.push_back(d);
    h.push_back(Get("k", std::nullopt, t + 3, t + 4));
    if (i % 3 != 0) {
      h.push_back(Put("k", "v" + std::to_string(i), t + 5, t + 6));
      h.push_back(Get("k", "v" + std::to_string(i), t + 7, t + 8));
    }
    t += 10;
  }
  Result<CheckResult> ok = Check(h);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->verdict, Verdict::kLinearizable) << FormatResult(ok.value());
  EXPECT_LT(ok->search_steps, 100'000u);
  h.push_back(Get("k", "v3", t, t + 1));  // stale
  Result<CheckResult> bad = Check(h);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->verdict, Verdict::kViolation);
}

TEST(LinearizabilityLimitsTest, OpsPerKeyAtTheLimit) {
  std::vector<Operation> h;
  for (int i = 0; i < 10; ++i) h.push_back(Put("k", "v", 2 * i, 2 * i + 1));
  Limits limits;
  limits.max_ops_per_key = 10;
  EXPECT_EQ(Verify(h, limits), Verdict::kLinearizable);
  h.push_back(Get("k", "v", 100, 101));
  Result<CheckResult> r = Check(h, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, Verdict::kUnknown);
  EXPECT_EQ(r->key, "k");
  EXPECT_NE(r->explanation.find("max_ops_per_key"), std::string::npos);
  // Failed operations and unanswered reads do not count towards the limit.
  h.back() = Failed(Get("k", "v", 100, 101));
  EXPECT_EQ(Verify(h, limits), Verdict::kLinearizable);
}

TEST(LinearizabilityLimitsTest, SearchStepsAtTheLimit) {
  const std::vector<Operation> h = RandomLinearizable(3, 100, 1);
  Result<CheckResult> full = Check(h);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->verdict, Verdict::kLinearizable);
  Limits limits;
  limits.max_search_steps_per_key = full->search_steps;
  EXPECT_EQ(Verify(h, limits), Verdict::kLinearizable);
  limits.max_search_steps_per_key = full->search_steps - 1;
  Result<CheckResult> cut = Check(h, limits);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->verdict, Verdict::kUnknown);
  EXPECT_NE(cut->explanation.find("max_search_steps_per_key"), std::string::npos);
}

TEST(LinearizabilityLimitsTest, MemoBytesLimitGivesUnknown) {
  Limits limits;
  limits.max_memo_bytes_per_key = 1;
  Result<CheckResult> r = Check({Put("k", "a", 0, 1)}, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, Verdict::kUnknown);
}

TEST(LinearizabilityLimitsTest, AViolationOnAnotherKeyWinsOverUnknown) {
  Limits limits;
  limits.max_ops_per_key = 1;
  Result<CheckResult> r =
      Check({Put("a", "1", 0, 1), Put("a", "2", 2, 3), Get("b", "x", 0, 1)}, limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, Verdict::kViolation);
  EXPECT_EQ(r->key, "b");
}

TEST(LinearizabilityModelTest, ModelStep) {
  using internal::KeyOp;
  using internal::RegisterState;
  KeyOp get;
  get.type = OpType::kGet;
  get.got = 3;
  get.ret = 10;
  RegisterState next;
  EXPECT_TRUE(internal::ModelStep(get, RegisterState{3, false}, &next));
  EXPECT_EQ(next.value, 3);
  EXPECT_FALSE(internal::ModelStep(get, RegisterState{internal::kAbsent, false}, &next));
}

TEST(LinearizabilityModelTest, IndeterminateWritesArePlacedOnlyWhereObserved) {
  using internal::KeyOp;
  using internal::RegisterState;
  KeyOp put;  // indeterminate
  put.type = OpType::kPut;
  put.value = 5;
  RegisterState next;
  ASSERT_TRUE(internal::ModelStep(put, RegisterState{1, false}, &next));
  EXPECT_TRUE(next.fresh);
  EXPECT_FALSE(internal::ModelStep(put, RegisterState{5, false}, &next));  // no change
  KeyOp overwrite;
  overwrite.type = OpType::kPut;
  overwrite.value = 6;
  overwrite.ret = 10;
  EXPECT_FALSE(internal::ModelStep(overwrite, RegisterState{5, true}, &next));  // unobserved
  KeyOp get;
  get.type = OpType::kGet;
  get.got = 5;
  get.ret = 10;
  ASSERT_TRUE(internal::ModelStep(get, RegisterState{5, true}, &next));
  EXPECT_FALSE(next.fresh);
}

}  // namespace
}  // namespace grid::lin
