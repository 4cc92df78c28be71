#include "router/protect/slot.h"

#include <utility>

#include "common/check.h"

namespace grid::router::protect {
namespace {

void Decrement(std::atomic<uint32_t>* counter) {
  if (counter == nullptr) return;
  const uint32_t before = counter->fetch_sub(1, std::memory_order_relaxed);
  GRID_CHECK(before > 0) << "a limit counter went below zero";
}

}  // namespace

std::string_view RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return "none";
    case Refusal::kCellConnections:
      return "cell connections";
    case Refusal::kBackendConnections:
      return "backend connections";
    case Refusal::kCellPending:
      return "cell pending requests";
    case Refusal::kBackendPending:
      return "backend pending requests";
    case Refusal::kRetryBudget:
      return "retry budget";
  }
  return "unknown";
}

Slot::Slot(Slot&& other) noexcept
    : first_(std::exchange(other.first_, nullptr)),
      second_(std::exchange(other.second_, nullptr)),
      refusal_(std::exchange(other.refusal_, Refusal::kNone)) {}

Slot& Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    first_ = std::exchange(other.first_, nullptr);
    second_ = std::exchange(other.second_, nullptr);
    refusal_ = std::exchange(other.refusal_, Refusal::kNone);
  }
  return *this;
}

void Slot::Release() {
  Decrement(std::exchange(first_, nullptr));
  Decrement(std::exchange(second_, nullptr));
}

bool TryIncrement(std::atomic<uint32_t>& counter, uint32_t cap) {
  uint32_t v = counter.load(std::memory_order_relaxed);
  do {
    if (v >= cap) return false;
  } while (!counter.compare_exchange_weak(v, v + 1, std::memory_order_relaxed));
  return true;
}

}  // namespace grid::router::protect
