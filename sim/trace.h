// The run's trace: every event is folded into a 64-bit hash (two runs of one seed must give
// the same hash) and, when verbose, printed as one line.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string_view>

namespace grid::sim {

class Trace {
 public:
  // `out` may be null (hash only).
  explicit Trace(std::ostream* out) : out_(out) {}

  bool verbose() const { return out_ != nullptr; }
  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }

  void Mix(uint64_t v) {
    hash_ ^= v + 0x9e3779b97f4a7c15ull + (hash_ << 6) + (hash_ >> 2);
    hash_ *= 0x100000001b3ull;
  }
  void Mix(std::string_view s) {
    Mix(s.size());
    for (unsigned char c : s) Mix(static_cast<uint64_t>(c));
  }

  // Folds `fields` into the hash; when verbose prints "[tick] " + describe().
  template <typename Describe>
  void Add(uint64_t tick, std::initializer_list<uint64_t> fields, Describe&& describe) {
    ++events_;
    Mix(tick);
    for (uint64_t f : fields) Mix(f);
    if (out_ != nullptr) *out_ << "[" << tick << "] " << describe() << "\n";
  }

 private:
  std::ostream* out_;
  uint64_t hash_ = 0xcbf29ce484222325ull;
  uint64_t events_ = 0;
};

}  // namespace grid::sim
