// Errors as values. A Status carries a code and a message meant for a person; a Result<T>
// carries either a value or a non-OK Status. Both are [[nodiscard]]: ignoring an error is a
// compile warning (an error under -Werror). Broken invariants are not Statuses: they are bugs
// and crash through GRID_CHECK (see check.h).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/check.h"

namespace grid {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong; retrying the same input fails again
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition, // the system is not in a state that allows the operation
  kOutOfRange,         // e.g. a revision that is compacted or in the future
  kResourceExhausted,  // a named limit was hit (quota, queue, request size)
  kCorruption,         // stored data failed a check; the member must stop
  kIOError,            // the OS refused a read, write or sync
  kUnavailable,        // try again later (shutting down, no leader, ...)
  kDeadlineExceeded,
  kCancelled,
  kPermissionDenied,
  kUnimplemented,
  kInternal,
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "CodeName: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
inline Status OutOfRange(std::string m) { return Status(Code::kOutOfRange, std::move(m)); }
inline Status ResourceExhausted(std::string m) { return Status(Code::kResourceExhausted, std::move(m)); }
inline Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
inline Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
inline Status Unimplemented(std::string m) { return Status(Code::kUnimplemented, std::move(m)); }

// Status from errno after a failed system call: IOError "<what>: <strerror(err)>".
Status ErrnoStatus(const std::string& what, int err);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    GRID_CHECK(!std::get<Status>(v_).ok()) << "Result built from an OK Status";
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // REQUIRES: ok().
  T& value() & {
    GRID_CHECK(ok()) << "value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(v_);
  }
  const T& value() const& {
    GRID_CHECK(ok()) << "value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(v_);
  }
  T&& value() && {
    GRID_CHECK(ok()) << "value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace grid

#define GRID_CONCAT_INNER(a, b) a##b
#define GRID_CONCAT(a, b) GRID_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define GRID_RETURN_IF_ERROR(expr)              \
  do {                                          \
    ::grid::Status grid_status_ = (expr);       \
    if (!grid_status_.ok()) return grid_status_; \
  } while (0)

// GRID_ASSIGN_OR_RETURN(auto x, F()) : declares x = F().value() or returns its Status.
#define GRID_ASSIGN_OR_RETURN(lhs, expr) \
  GRID_ASSIGN_OR_RETURN_IMPL(GRID_CONCAT(grid_result_, __LINE__), lhs, expr)
#define GRID_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
