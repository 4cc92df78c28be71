// Builds the Balancer for a policy. The route table maps its configuration onto these names.
#pragma once

#include <memory>
#include <string_view>

#include "router/balance/balancer.h"

namespace grid::router::balance {

enum class Policy {
  kRoundRobin,    // smooth weighted round robin
  kLeastConn,     // weighted least connections
  kPowerOfTwo,    // power of two choices
  kSourceIpHash,  // weighted rendezvous hash of the client address
  kRingHash,      // consistent hash on a ring of virtual nodes
  kMaglev,        // consistent hash with a Maglev table
};

std::string_view PolicyName(Policy policy);

struct BalancerOptions {
  uint32_t maglev_table_size = 0;  // 0: kDefaultMaglevTableSize; kMaglev only
};

// REQUIRES: as the chosen policy's constructor.
std::unique_ptr<Balancer> NewBalancer(Policy policy, std::span<const BackendSpec> backends,
                                      const BalancerOptions& options = {});

}  // namespace grid::router::balance
