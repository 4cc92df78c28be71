#include "router/balance/balancer.h"

#include "common/check.h"

namespace grid::router::balance {

void CheckBackendSpecs(std::span<const BackendSpec> backends) {
  GRID_CHECK(!backends.empty()) << "a balancer needs at least one backend";
  GRID_CHECK_LE(backends.size(), kMaxBackendsPerBalancer);
  for (const BackendSpec& b : backends) {
    GRID_CHECK(b.weight >= kMinBackendWeight && b.weight <= kMaxBackendWeight)
        << "backend " << b.address << " weight " << b.weight;
  }
}

void CheckPickContext(const PickContext& ctx, size_t expected) {
  GRID_CHECK_EQ(ctx.backends.size(), expected);
}

}  // namespace grid::router::balance
