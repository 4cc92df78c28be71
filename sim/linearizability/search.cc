#include "sim/linearizability/search.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "common/check.h"

namespace grid::lin::internal {

namespace {
// Whether `op`'s result depends on the register's value.
bool Observes(const KeyOp& op) {
  return op.type == OpType::kGet || op.type == OpType::kCas ||
         (op.type == OpType::kDelete && op.delete_existed >= 0);
}

// The register value after `op` from `v`, or nullopt when `op`'s result is impossible.
std::optional<int32_t> Apply(const KeyOp& op, int32_t v) {
  switch (op.type) {
    case OpType::kPut:
      return op.value;
    case OpType::kDelete:
      if (op.delete_existed >= 0 && (v != kAbsent) != (op.delete_existed == 1)) return std::nullopt;
      return kAbsent;
    case OpType::kGet:
      if (v != op.got) return std::nullopt;
      return v;
    case OpType::kCas:
      switch (op.cas) {
        case CasResult::kSwapped:
          if (v != op.expected) return std::nullopt;
          return op.value;
        case CasResult::kNotSwapped:
          if (v == op.expected) return std::nullopt;
          return v;
        case CasResult::kUnknown:
          return v == op.expected ? op.value : v;
      }
  }
  GRID_UNREACHABLE();
  return std::nullopt;
}

// A write whose resulting value, once its check passed, does not depend on the value it
// checked: a delete reporting existence, a cas that swapped (or may have).
bool OverwritesAfterCheck(const KeyOp& op) {
  return (op.type == OpType::kDelete && op.delete_existed >= 0) ||
         (op.type == OpType::kCas && op.cas != CasResult::kNotSwapped);
}

}  // namespace

bool ModelStep(const KeyOp& op, RegisterState state, RegisterState* next) {
  if (state.fresh) {
    if (!Observes(op)) return false;
    // The fresh write must be what lets this check pass.
    if (OverwritesAfterCheck(op)) {
      const std::optional<int32_t> without = Apply(op, state.before);
      const std::optional<int32_t> with = Apply(op, state.value);
      if (without.has_value() && without == with) return false;
    }
  }
  const std::optional<int32_t> after = Apply(op, state.value);
  if (!after) return false;
  // An indeterminate operation must change the register here to be worth placing.
  if (op.indeterminate() && *after == state.value) return false;
  next->value = *after;
  next->fresh = op.indeterminate();
  next->before = next->fresh ? state.value : kAbsent;
  return true;
}

namespace {

// A set of linearized operations; its hash is the XOR of per-operation random words
// (Zobrist), kept up to date in O(1) per change.
class OpSet {
 public:
  explicit OpSet(size_t n) : words_((n + 63) / 64, 0), keys_(n) {
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (auto& k : keys_) {  // splitmix64: a fixed, well-mixed sequence
      x += 0x9e3779b97f4a7c15ull;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      k = z ^ (z >> 31);
    }
  }
  bool Test(size_t i) const { return (words_[i / 64] >> (i % 64)) & 1; }
  void Flip(size_t i) {
    words_[i / 64] ^= uint64_t{1} << (i % 64);
    hash_ ^= keys_[i];
  }
  const std::vector<uint64_t>& words() const { return words_; }
  uint64_t hash() const { return hash_; }

 private:
  std::vector<uint64_t> words_;
  std::vector<uint64_t> keys_;
  uint64_t hash_ = 0;
};

// Events of the history in time order, as a doubly linked list with a sentinel so that an
// operation's call and return can be unlinked ("lifted") and relinked in O(1).
class EventList {
 public:
  // The calls and returns of the operations in `members`.
  EventList(const std::vector<KeyOp>& ops, const std::vector<size_t>& members) {
    const size_t n = ops.size();
    struct Ev {
      int64_t time;
      bool is_call;
      size_t op;
    };
    std::vector<Ev> evs;
    evs.reserve(2 * members.size());
    for (size_t i : members) {
      evs.push_back({ops[i].invoke, true, i});
      evs.push_back({ops[i].ret, false, i});
    }
    // Calls before returns at equal times: equal times count as concurrent.
    std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) {
      if (a.time != b.time) return a.time < b.time;
      return a.is_call && !b.is_call;
    });
    const size_t e = evs.size();
    head_ = e;
    op_.resize(e);
    time_.resize(e);
    is_call_.resize(e);
    match_.resize(e);
    next_.resize(e + 1);
    prev_.resize(e + 1);
    std::vector<size_t> call_pos(n), ret_pos(n);
    for (size_t i = 0; i < e; ++i) {
      op_[i] = evs[i].op;
      time_[i] = evs[i].time;
      is_call_[i] = evs[i].is_call;
      (evs[i].is_call ? call_pos : ret_pos)[evs[i].op] = i;
    }
    for (size_t i = 0; i < e; ++i) match_[i] = is_call_[i] ? ret_pos[op_[i]] : call_pos[op_[i]];
    for (size_t i = 0; i <= e; ++i) {
      next_[i] = i == e ? (e == 0 ? head_ : 0) : (i + 1 == e ? head_ : i + 1);
      prev_[i] = i == 0 ? head_ : (i == e ? (e == 0 ? head_ : e - 1) : i - 1);
    }
  }

  bool empty() const { return next_[head_] == head_; }
  size_t first() const { return next_[head_]; }
  size_t next(size_t ev) const { return next_[ev]; }
  bool is_call(size_t ev) const { return is_call_[ev]; }
  size_t op(size_t ev) const { return op_[ev]; }
  int64_t time(size_t ev) const { return time_[ev]; }

  void Lift(size_t call) {
    Unlink(call);
    Unlink(match_[call]);
  }
  void Unlift(size_t call) {
    Relink(match_[call]);
    Relink(call);
  }

 private:
  void Unlink(size_t ev) {
    next_[prev_[ev]] = next_[ev];
    prev_[next_[ev]] = prev_[ev];
  }
  void Relink(size_t ev) {
    next_[prev_[ev]] = ev;
    prev_[next_[ev]] = ev;
  }

  size_t head_ = 0;
  std::vector<size_t> op_;
  std::vector<int64_t> time_;
  std::vector<bool> is_call_;
  std::vector<size_t> match_;
  std::vector<size_t> next_, prev_;
};

// Indeterminate operations with the same effect (puts of one value, deletes, cas with the
// same expected and new value) are interchangeable: given a linearization that places a
// later-invoked one and not an earlier one (or the earlier one later), swapping them gives
// another linearization. So the search places each group's members in invoke order only,
// and a count per group says which of them are placed.
struct Groups {
  std::vector<int32_t> group;  // per operation; -1 for an operation that returned
  std::vector<uint32_t> rank;  // per operation: its place in its group's invoke order
  size_t count = 0;
};

Groups GroupIndeterminate(const std::vector<KeyOp>& ops) {
  Groups g;
  g.group.assign(ops.size(), -1);
  g.rank.assign(ops.size(), 0);
  std::map<std::tuple<int, int32_t, int32_t>, std::vector<size_t>> by_effect;
  for (size_t i = 0; i < ops.size(); ++i) {
    const KeyOp& op = ops[i];
    if (!op.indeterminate()) continue;
    switch (op.type) {
      case OpType::kPut:
        by_effect[{0, op.value, 0}].push_back(i);
        break;
      case OpType::kDelete:
        by_effect[{1, 0, 0}].push_back(i);
        break;
      case OpType::kCas:
        by_effect[{2, op.expected, op.value}].push_back(i);
        break;
      case OpType::kGet:
        break;  // dropped before the search
    }
  }
  for (auto& [effect, members] : by_effect) {
    std::stable_sort(members.begin(), members.end(),
                     [&](size_t a, size_t b) { return ops[a].invoke < ops[b].invoke; });
    for (size_t k = 0; k < members.size(); ++k) {
      g.group[members[k]] = static_cast<int32_t>(g.count);
      g.rank[members[k]] = static_cast<uint32_t>(k);
    }
    ++g.count;
  }
  return g;
}

// Visited configurations: (operations that returned and are placed, register state, placed
// count per group of indeterminate operations). A configuration that placed no more of each
// group than a visited one with the same rest can do everything the other can (the extra
// indeterminate operations may simply never take effect), so once the visited one failed, a
// configuration it dominates is not explored.
class Memo {
 public:
  explicit Memo(size_t returned_ops) : words_per_set_((returned_ops + 63) / 64) {}

  // False when this configuration, or one dominating it, was visited.
  bool Visit(const OpSet& placed, RegisterState state, const std::vector<uint32_t>& counts) {
    Key key{placed.words(), placed.hash(), state};
    auto [it, inserted] = seen_.try_emplace(std::move(key));
    if (inserted) bytes_ += words_per_set_ * 8 + sizeof(Key) + 64;
    auto& visited = it->second;
    for (const auto& v : visited) {
      if (LessEqual(v, counts)) return false;
    }
    std::erase_if(visited, [&](const std::vector<uint32_t>& v) { return LessEqual(counts, v); });
    visited.push_back(counts);
    bytes_ += counts.size() * sizeof(uint32_t) + 32;
    return true;
  }
  size_t bytes() const { return bytes_; }

 private:
  struct Key {
    std::vector<uint64_t> words;
    uint64_t hash;
    RegisterState state;
    bool operator==(const Key& o) const {
      return hash == o.hash && state == o.state && words == o.words;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      const uint64_t st = static_cast<uint32_t>(k.state.value) ^
                          (static_cast<uint64_t>(static_cast<uint32_t>(k.state.before)) << 31) ^
                          (uint64_t{k.state.fresh} << 63);
      return static_cast<size_t>(k.hash ^ (st * 0x9e3779b97f4a7c15ull));
    }
  };
  static bool LessEqual(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] > b[i]) return false;
    }
    return true;
  }

  size_t words_per_set_;
  size_t bytes_ = 0;
  std::unordered_map<Key, std::vector<std::vector<uint32_t>>, KeyHash> seen_;
};

}  // namespace

// The search (Wing & Gong with Lowe's memo). A configuration is the set of operations placed
// so far and the register state; its candidates are the calls that come before the first
// return event of an unplaced operation (that operation must be placed before anything that
// starts after it returned). Operations that returned are kept in a linked list of events;
// indeterminate ones never return, so they are not in the list: each group offers its next
// member, which is a candidate when it was invoked by the first pending return.
SearchResult SearchKey(const std::vector<KeyOp>& ops, const Limits& limits) {
  SearchResult result;
  if (ops.size() > limits.max_ops_per_key) {
    result.status = SearchStatus::kLimit;
    result.limit_reason = "max_ops_per_key (" + std::to_string(limits.max_ops_per_key) +
                          ") exceeded: " + std::to_string(ops.size()) + " operations";
    return result;
  }
  const Groups groups = GroupIndeterminate(ops);
  std::vector<size_t> returned_ops;
  std::vector<size_t> returned_pos(ops.size(), 0);  // position among operations that returned
  std::vector<std::vector<size_t>> members(groups.count);  // per group, in invoke order
  for (size_t i = 0; i < ops.size(); ++i) {
    if (groups.group[i] < 0) {
      returned_pos[i] = returned_ops.size();
      returned_ops.push_back(i);
    } else {
      auto& m = members[static_cast<size_t>(groups.group[i])];
      if (m.size() <= groups.rank[i]) m.resize(groups.rank[i] + 1);
      m[groups.rank[i]] = i;
    }
  }
  EventList events(ops, returned_ops);
  OpSet placed(returned_ops.size());
  std::vector<uint32_t> counts(groups.count, 0);
  Memo memo(returned_ops.size());

  struct Frame {
    size_t op;
    size_t call;      // its call event, for an operation that returned
    size_t group;     // its group, for an indeterminate one
    size_t boundary;  // the first pending return event when it was placed
    RegisterState state_before;
  };
  std::vector<Frame> stack;
  RegisterState state;
  bool have_best = false;
  // Where the scan of the current configuration stands: an event, or (past the boundary) a
  // group index.
  size_t ev = events.first();
  size_t next_group = 0;
  size_t boundary = 0;
  bool in_groups = false;

  auto try_place = [&](size_t i) {
    RegisterState next_state = state;
    if (!ModelStep(ops[i], state, &next_state)) return false;
    if (groups.group[i] < 0) {
      placed.Flip(returned_pos[i]);
    } else {
      ++counts[static_cast<size_t>(groups.group[i])];
    }
    if (memo.Visit(placed, next_state, counts)) {
      state = next_state;
      return true;
    }
    if (groups.group[i] < 0) {
      placed.Flip(returned_pos[i]);
    } else {
      --counts[static_cast<size_t>(groups.group[i])];
    }
    return false;
  };

  while (true) {
    if (++result.steps > limits.max_search_steps_per_key) {
      result.status = SearchStatus::kLimit;
      result.limit_reason =
          "max_search_steps_per_key (" + std::to_string(limits.max_search_steps_per_key) + ")";
      return result;
    }
    if (memo.bytes() > limits.max_memo_bytes_per_key) {
      result.status = SearchStatus::kLimit;
      result.limit_reason =
          "max_memo_bytes_per_key (" + std::to_string(limits.max_memo_bytes_per_key) + ")";
      return result;
    }
    if (!in_groups) {
      if (events.empty()) {
        // Every operation that returned is placed; the others may never have taken effect.
        result.status = SearchStatus::kLinearizable;
        result.best_prefix.clear();
        return result;
      }
      if (events.is_call(ev)) {
        const size_t i = events.op(ev);
        const RegisterState before = state;
        if (try_place(i)) {
          stack.push_back({i, ev, 0, 0, before});
          events.Lift(ev);
          ev = events.first();
        } else {
          ev = events.next(ev);
        }
        continue;
      }
      boundary = ev;  // the first pending return: now the indeterminate candidates
      in_groups = true;
      next_group = 0;
      continue;
    }
    if (next_group < groups.count) {
      const size_t g = next_group++;
      if (counts[g] >= members[g].size()) continue;
      const size_t i = members[g][counts[g]];
      if (ops[i].invoke > events.time(boundary)) continue;
      const RegisterState before = state;
      if (try_place(i)) {
        stack.push_back({i, 0, g, boundary, before});
        in_groups = false;
        ev = events.first();
      }
      continue;
    }
    // Nothing can be placed before the boundary's operation returns: backtrack.
    if (!have_best || stack.size() > result.best_prefix.size()) {
      have_best = true;
      result.best_prefix.clear();
      for (const Frame& f : stack) result.best_prefix.push_back(f.op);
      result.blocked = events.op(boundary);
    }
    if (stack.empty()) {
      result.status = SearchStatus::kViolation;
      return result;
    }
    const Frame top = stack.back();
    stack.pop_back();
    state = top.state_before;
    if (groups.group[top.op] < 0) {
      placed.Flip(returned_pos[top.op]);
      events.Unlift(top.call);
      in_groups = false;
      ev = events.next(top.call);
    } else {
      --counts[top.group];
      in_groups = true;
      boundary = top.boundary;
      next_group = top.group + 1;
    }
  }
}

}  // namespace grid::lin::internal
