#include "router/balance/factory.h"

#include "common/check.h"
#include "router/balance/least_conn.h"
#include "router/balance/maglev.h"
#include "router/balance/p2c.h"
#include "router/balance/ring_hash.h"
#include "router/balance/round_robin.h"
#include "router/balance/source_ip_hash.h"

namespace grid::router::balance {

std::string_view PolicyName(Policy policy) {
  switch (policy) {
    case Policy::kRoundRobin: return "round_robin";
    case Policy::kLeastConn: return "least_conn";
    case Policy::kPowerOfTwo: return "p2c";
    case Policy::kSourceIpHash: return "source_ip_hash";
    case Policy::kRingHash: return "ring_hash";
    case Policy::kMaglev: return "maglev";
  }
  GRID_UNREACHABLE();
  return "";
}

std::unique_ptr<Balancer> NewBalancer(Policy policy, std::span<const BackendSpec> backends,
                                      const BalancerOptions& options) {
  switch (policy) {
    case Policy::kRoundRobin: return std::make_unique<RoundRobin>(backends);
    case Policy::kLeastConn: return std::make_unique<LeastConn>(backends);
    case Policy::kPowerOfTwo: return std::make_unique<PowerOfTwoChoices>(backends);
    case Policy::kSourceIpHash: return std::make_unique<SourceIpHash>(backends);
    case Policy::kRingHash: return std::make_unique<RingHash>(backends);
    case Policy::kMaglev:
      return std::make_unique<Maglev>(backends, options.maglev_table_size == 0
                                                    ? kDefaultMaglevTableSize
                                                    : options.maglev_table_size);
  }
  GRID_UNREACHABLE();
  return nullptr;
}

}  // namespace grid::router::balance
