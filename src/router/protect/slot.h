// A held unit of a counted limit (a connection, a pending request, a request or a retry in
// flight). Move-only; gives its unit back when released or destroyed. An empty Slot is a
// refusal and says which limit refused.
//
// The counters a Slot points at must outlive it: they belong to a limiter the holder keeps
// alive (see ConcurrencyLimit and RetryBudget).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace grid::router::protect {

enum class Refusal : uint8_t {
  kNone,
  kCellConnections,     // 503
  kBackendConnections,  // 503
  kCellPending,         // 503
  kBackendPending,      // 503
  kRetryBudget,         // no retry
};

std::string_view RefusalName(Refusal refusal);

class Slot {
 public:
  Slot() = default;
  // A refusal.
  explicit Slot(Refusal refusal) : refusal_(refusal) {}
  // Adopts one unit already added to `first` and (when not null) `second`.
  Slot(std::atomic<uint32_t>* first, std::atomic<uint32_t>* second)
      : first_(first), second_(second) {}
  ~Slot() { Release(); }
  Slot(Slot&& other) noexcept;
  Slot& operator=(Slot&& other) noexcept;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  bool held() const { return first_ != nullptr; }
  explicit operator bool() const { return held(); }
  // Why it was refused (kNone when held, or after release).
  Refusal refusal() const { return refusal_; }

  // Gives the unit back now (idempotent).
  void Release();

 private:
  std::atomic<uint32_t>* first_ = nullptr;
  std::atomic<uint32_t>* second_ = nullptr;
  Refusal refusal_ = Refusal::kNone;
};

// Adds one to `counter` unless it is at `cap` already (never exceeds the cap). Any thread.
bool TryIncrement(std::atomic<uint32_t>& counter, uint32_t cap);

}  // namespace grid::router::protect
