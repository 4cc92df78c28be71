#include "sim/linearizability/checker.h"

#include <algorithm>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "sim/linearizability/search.h"

namespace grid::lin {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kViolation:
      return "violation";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "?";
}

namespace {

using internal::CasResult;
using internal::kAbsent;
using internal::KeyOp;
using internal::kNever;
using internal::SearchKey;
using internal::SearchResult;
using internal::SearchStatus;

// Interns the values of one key so the search compares integers.
class ValueTable {
 public:
  int32_t Intern(const std::optional<std::string>& v) {
    if (!v) return kAbsent;
    auto [it, inserted] = ids_.try_emplace(*v, static_cast<int32_t>(names_.size()));
    if (inserted) names_.push_back(*v);
    return it->second;
  }
  std::string Name(int32_t id) const {
    if (id == kAbsent) return "absent";
    if (id == unread_) return "a value no operation reads";
    return "\"" + names_[static_cast<size_t>(id)] + "\"";
  }
  // One id standing for every value that no operation compares against.
  int32_t Unread() {
    if (unread_ == kAbsent) {
      unread_ = static_cast<int32_t>(names_.size());
      names_.emplace_back();
    }
    return unread_;
  }

 private:
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<std::string> names_;
  int32_t unread_ = kAbsent;
};

// True when `op` constrains nothing and can be left out (see checker.h).
bool Dropped(const Operation& op) {
  return op.outcome == Outcome::kFailed ||
         (op.type == OpType::kGet && op.outcome == Outcome::kIndeterminate);
}

KeyOp Prepare(const Operation& op, size_t source, ValueTable* values) {
  KeyOp k;
  k.source = source;
  k.type = op.type;
  k.invoke = op.invoke_time;
  const bool done = op.outcome == Outcome::kOk;
  k.ret = done ? *op.return_time : kNever;
  switch (op.type) {
    case OpType::kPut:
      k.value = values->Intern(op.value);
      break;
    case OpType::kGet:
      k.got = values->Intern(op.got);
      break;
    case OpType::kDelete:
      if (done && op.deleted_existing) k.delete_existed = *op.deleted_existing ? 1 : 0;
      break;
    case OpType::kCas:
      k.value = values->Intern(op.value);
      k.expected = values->Intern(op.expected);
      k.cas =
          !done ? CasResult::kUnknown : (op.swapped ? CasResult::kSwapped : CasResult::kNotSwapped);
      break;
  }
  return k;
}

// Narrows the history before the search. Each rule keeps the verdict; with the search's
// ordering of interchangeable writes and its rule for placing indeterminate operations (see
// ModelStep) they remove most of the blow-up of indeterminate writes, each of which could
// otherwise be placed anywhere after its invocation.
//  (1) Values that no get returns and no cas expects are indistinguishable to the model: they
//      become one "unread" value.
//  (2) An indeterminate write that is the only writer of its value, which a get observed, took
//      effect before that get returned: its return time becomes the earliest such return.
//  (3) On a key without cas and without deletes that report existence, an indeterminate put
//      or delete whose value no get returns is dropped: in a linearization nothing between it
//      and the next write could read it, so removing it changes no result.
std::vector<KeyOp> Simplify(std::vector<KeyOp> ops, ValueTable* values) {
  std::unordered_set<int32_t> compared;
  bool observers_beyond_gets = false;
  for (const KeyOp& op : ops) {
    if (op.type == OpType::kGet) compared.insert(op.got);
    if (op.type == OpType::kCas) compared.insert(op.expected);
    if (op.type == OpType::kCas || (op.type == OpType::kDelete && op.delete_existed >= 0)) {
      observers_beyond_gets = true;
    }
  }
  for (KeyOp& op : ops) {  // (1)
    if ((op.type == OpType::kPut || op.type == OpType::kCas) && !compared.contains(op.value)) {
      op.value = values->Unread();
    }
  }
  std::unordered_map<int32_t, size_t> writers;
  std::unordered_map<int32_t, int64_t> first_read_return;  // value -> earliest get return
  for (const KeyOp& op : ops) {
    if (op.type == OpType::kPut || op.type == OpType::kCas) ++writers[op.value];
    if (op.type == OpType::kGet) {
      auto [it, inserted] = first_read_return.try_emplace(op.got, op.ret);
      if (!inserted) it->second = std::min(it->second, op.ret);
    }
  }
  std::vector<KeyOp> out;
  out.reserve(ops.size());
  for (KeyOp& op : ops) {
    const bool blind_write = op.type == OpType::kPut || op.type == OpType::kDelete;
    if (blind_write && op.indeterminate()) {
      const int32_t written = op.type == OpType::kPut ? op.value : kAbsent;
      auto read = first_read_return.find(written);
      if (read == first_read_return.end()) {
        if (!observers_beyond_gets) continue;  // (3)
      } else if (written != kAbsent && writers[written] == 1 && read->second >= op.invoke) {
        op.ret = read->second;  // (2)
      }
    }
    out.push_back(op);
  }
  return out;
}

// Operations that only read: removing them from a linearizable history leaves it
// linearizable, so a sub-history without some of them that still fails proves the violation.
bool ReadOnly(const KeyOp& op) {
  return op.type == OpType::kGet || (op.type == OpType::kCas && op.cas == CasResult::kNotSwapped);
}

bool Overlaps(const KeyOp& a, const KeyOp& b) { return a.invoke <= b.ret && b.invoke <= a.ret; }

// Writes a person needs to see to understand why `read` fails: the ones concurrent with it,
// the last ones completed before it, and the ones that wrote the value it saw.
// Of the indeterminate writes, only those invoked after the last write that completed before
// the read, or of the value it saw, are listed (older ones are as likely to be irrelevant).
void AddRelevantWrites(const std::vector<KeyOp>& ops, const KeyOp& read, std::vector<bool>* keep) {
  int64_t last_completed = std::numeric_limits<int64_t>::min();
  for (const KeyOp& w : ops) {
    if (!ReadOnly(w) && !w.indeterminate() && w.ret < read.invoke) {
      last_completed = std::max(last_completed, w.ret);
    }
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    const KeyOp& w = ops[i];
    if (ReadOnly(w)) continue;
    if (w.indeterminate() && w.invoke < last_completed && w.value != read.got) continue;
    bool relevant = Overlaps(w, read);
    if (!relevant && w.ret < read.invoke) {
      relevant = true;  // unless another write lies entirely between w and read
      for (const KeyOp& w2 : ops) {
        if (!ReadOnly(w2) && w.ret < w2.invoke && w2.ret < read.invoke) {
          relevant = false;
          break;
        }
      }
    }
    if (read.type == OpType::kGet && read.got != kAbsent && w.value == read.got &&
        w.type != OpType::kDelete) {
      relevant = true;
    }
    if (relevant) (*keep)[i] = true;
  }
}

struct Explanation {
  std::vector<size_t> involved;  // positions in the key's ops
  std::string text;
};

Explanation Explain(const std::string& key, const std::vector<Operation>& history,
                    const std::vector<KeyOp>& ops, const ValueTable& values,
                    uint64_t violation_steps, const Limits& limits) {
  // Shrink the set of read-only operations (ddmin-style: halves, quarters, ... singles)
  // while the sub-history still fails.
  std::vector<bool> present(ops.size(), true);
  std::vector<size_t> reads;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ReadOnly(ops[i])) reads.push_back(i);
  }
  size_t checks = 0;
  // A sub-history is smaller; one that needs far more steps than the whole counts as passing.
  Limits recheck_limits = limits;
  recheck_limits.max_search_steps_per_key =
      std::min(limits.max_search_steps_per_key, 2 * violation_steps + 1000);
  auto still_fails = [&](const std::vector<bool>& p) {
    std::vector<KeyOp> sub;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (p[i]) sub.push_back(ops[i]);
    }
    ++checks;
    return SearchKey(sub, recheck_limits).status == SearchStatus::kViolation;
  };
  for (size_t chunk = std::max<size_t>(reads.size() / 2, 1); chunk >= 1; chunk /= 2) {
    for (size_t start = 0; start < reads.size() && checks < limits.max_explain_checks;
         start += chunk) {
      std::vector<bool> trial = present;
      bool removes = false;
      for (size_t j = start; j < std::min(reads.size(), start + chunk); ++j) {
        removes |= trial[reads[j]];
        trial[reads[j]] = false;
      }
      if (removes && still_fails(trial)) present = trial;
    }
    if (chunk == 1 || checks >= limits.max_explain_checks) break;
  }

  std::vector<KeyOp> sub;
  std::vector<size_t> sub_pos;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (present[i]) {
      sub.push_back(ops[i]);
      sub_pos.push_back(i);
    }
  }
  const SearchResult r = SearchKey(sub, limits);
  std::vector<bool> keep(ops.size(), false);
  size_t reads_left = 0, writes = 0, reads_total = reads.size();
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!present[i]) continue;
    if (ReadOnly(ops[i])) {
      ++reads_left;
      keep[i] = true;
      AddRelevantWrites(ops, ops[i], &keep);
    } else {
      ++writes;
    }
  }
  std::ostringstream text;
  text << "key \"" << key << "\" is not linearizable";
  if (r.status == SearchStatus::kViolation) {
    const KeyOp& blocked = sub[r.blocked];
    keep[sub_pos[r.blocked]] = true;
    AddRelevantWrites(ops, blocked, &keep);
    internal::RegisterState state;
    for (size_t p : r.best_prefix) {
      internal::RegisterState next = state;
      (void)internal::ModelStep(sub[p], state, &next);
      state = next;
    }
    text << "\n  no order places: " << Describe(history[blocked.source]);
    text << "\n  longest linearizable prefix: " << r.best_prefix.size() << " of " << sub.size()
         << " operations, leaving the value " << values.Name(state.value);
    if (!r.best_prefix.empty()) {
      const size_t tail = std::min<size_t>(r.best_prefix.size(), 3);
      for (size_t j = r.best_prefix.size() - tail; j < r.best_prefix.size(); ++j) {
        keep[sub_pos[r.best_prefix[j]]] = true;
      }
    }
  }
  text << "\n  a failing sub-history keeps all " << writes << " writes and " << reads_left << " of "
       << reads_total << " reads; the operations involved:";
  Explanation e;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (keep[i]) e.involved.push_back(i);
  }
  std::stable_sort(e.involved.begin(), e.involved.end(),
                   [&](size_t a, size_t b) { return ops[a].invoke < ops[b].invoke; });
  for (size_t i : e.involved) text << "\n    " << Describe(history[ops[i].source]);
  e.text = text.str();
  return e;
}

}  // namespace

Result<CheckResult> Check(const std::vector<Operation>& history, const Limits& limits) {
  std::map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < history.size(); ++i) {
    Status s = Validate(history[i]);
    if (!s.ok()) return s.WithContext("operation " + std::to_string(i));
    if (!Dropped(history[i])) by_key[history[i].key].push_back(i);
  }
  CheckResult result;
  bool have_unknown = false;
  CheckResult unknown;
  for (const auto& [key, positions] : by_key) {
    ValueTable values;
    std::vector<KeyOp> ops;
    ops.reserve(positions.size());
    for (size_t i : positions) ops.push_back(Prepare(history[i], i, &values));
    ops = Simplify(std::move(ops), &values);
    ++result.keys_checked;
    result.ops_checked += ops.size();
    const SearchResult r = SearchKey(ops, limits);
    result.search_steps += r.steps;
    if (r.status == SearchStatus::kLimit) {
      if (!have_unknown) {
        have_unknown = true;
        unknown.key = key;
        unknown.explanation = "key \"" + key + "\": limit reached: " + r.limit_reason;
      }
      continue;
    }
    if (r.status == SearchStatus::kViolation) {
      Explanation e = Explain(key, history, ops, values, r.steps, limits);
      result.verdict = Verdict::kViolation;
      result.key = key;
      result.explanation = e.text;
      for (size_t i : e.involved) result.involved.push_back(history[ops[i].source]);
      return result;
    }
  }
  if (have_unknown) {
    result.verdict = Verdict::kUnknown;
    result.key = unknown.key;
    result.explanation = unknown.explanation;
  }
  return result;
}

std::string FormatResult(const CheckResult& r) {
  std::ostringstream s;
  s << VerdictName(r.verdict);
  if (r.verdict == Verdict::kUnknown) s << " (limit reached)";
  s << ": " << r.ops_checked << " operations on " << r.keys_checked << " keys checked, "
    << r.search_steps << " search steps";
  if (!r.explanation.empty()) s << "\n" << r.explanation;
  return s.str();
}

}  // namespace grid::lin
