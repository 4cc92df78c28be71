// Invariant checks: a failed check is a bug, so it prints file, line and message to stderr
// and aborts. Never use for input validation or I/O errors (those are Status values).
//
//   GRID_CHECK(index > applied) << "index " << index << " already applied";
#pragma once

#include <sstream>

namespace grid::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `GRID_CHECK(c) << ...` compile to a void expression.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace grid::internal

#define GRID_CHECK(condition)                \
  (condition) ? (void)0                      \
              : ::grid::internal::Voidify() & \
                    ::grid::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define GRID_CHECK_EQ(a, b) GRID_CHECK((a) == (b)) << #a " = " << (a) << ", " #b " = " << (b) << " "
#define GRID_CHECK_LE(a, b) GRID_CHECK((a) <= (b)) << #a " = " << (a) << ", " #b " = " << (b) << " "
#define GRID_CHECK_LT(a, b) GRID_CHECK((a) < (b)) << #a " = " << (a) << ", " #b " = " << (b) << " "
#define GRID_UNREACHABLE() GRID_CHECK(false) << "unreachable "
