// What every loop serves with, published as one immutable ServingState: the route table, the
// health index built for it (active and passive health of every group), the concurrency
// index (caps and their counters) and the address book (every backend address resolved, so
// no loop waits on DNS). They always belong together: a loop never sees a table with another
// table's health or caps.
//
// TableHolder::Set() publishes a new state (from the state publisher's thread); each loop
// keeps its own reference and checks a generation counter per request, so the hot path costs
// one atomic load, not a shared_ptr copy under a lock. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "router/health/health_index.h"
#include "router/net/address_book.h"
#include "router/protect/concurrency_limit.h"
#include "router/table/route_table.h"

namespace grid::router::proxy {

struct ServingState {
  std::shared_ptr<const table::RouteTable> table;
  std::shared_ptr<const health::HealthIndex> health;          // built from `table`
  std::shared_ptr<const protect::ConcurrencyIndex> limits;    // built from `table`
  std::shared_ptr<const net::AddressBook> addresses;          // every backend of `table`
};

// Every backend address `table` names, once each (the texts the address book resolves).
std::vector<std::string> BackendAddresses(const table::RouteTable& table);

// A state for `table` without active health checks: a health index carried over from
// `previous` (when given), a concurrency index and an address book likewise (names new to
// the book are resolved here, blocking). For tests and tools; the binary publishes through
// StatePublisher, whose health index also drives probes.
std::shared_ptr<const ServingState> MakeServingState(std::shared_ptr<const table::RouteTable> table,
                                                     const ServingState* previous);

class TableHolder {
 public:
  // REQUIRES: state and its three parts are not null.
  void Set(std::shared_ptr<const ServingState> state) {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = std::move(state);
    generation_.fetch_add(1, std::memory_order_release);
  }
  // Publishes MakeServingState(table, current state).
  void Set(std::shared_ptr<const table::RouteTable> table) {
    Set(MakeServingState(std::move(table), Get().get()));
  }
  std::shared_ptr<const ServingState> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ServingState> state_;  // guarded by mu_
  std::atomic<uint64_t> generation_{0};
};

// One loop's view of a TableHolder: refreshes its reference when the generation moved.
class TableCache {
 public:
  explicit TableCache(const TableHolder* holder) : holder_(holder) {}
  // nullptr until a state was set.
  const std::shared_ptr<const ServingState>& Current() {
    const uint64_t g = holder_->generation();
    if (g != generation_) {
      state_ = holder_->Get();
      generation_ = g;
    }
    return state_;
  }

 private:
  const TableHolder* holder_;
  uint64_t generation_ = 0;
  std::shared_ptr<const ServingState> state_;
};

}  // namespace grid::router::proxy
