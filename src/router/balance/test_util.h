// Helpers shared by the policy tests.
#pragma once

#include <string>
#include <vector>

#include "router/balance/balancer.h"
#include "router/balance/hash.h"

namespace grid::router::balance::testing {

// Backends "10.0.0.<i+1>:8080" with the given weights.
inline std::vector<BackendSpec> Specs(const std::vector<uint32_t>& weights) {
  std::vector<BackendSpec> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    out.push_back({"10.0.0." + std::to_string(i + 1) + ":8080", weights[i]});
  }
  return out;
}

inline std::vector<BackendSpec> Equal(size_t n) { return Specs(std::vector<uint32_t>(n, 1)); }

inline std::vector<BackendState> AllHealthy(size_t n) { return std::vector<BackendState>(n); }

inline PickContext Ctx(const std::vector<BackendState>& states, uint64_t random = 0,
                       std::string_view hash_key = {}, std::string_view client_ip = {}) {
  PickContext ctx;
  ctx.backends = states;
  ctx.random = random;
  ctx.hash_key = hash_key;
  ctx.client_ip = client_ip;
  return ctx;
}

// Distinct keys "key-<i>".
inline std::vector<std::string> Keys(size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i) keys.push_back("key-" + std::to_string(i));
  return keys;
}

}  // namespace grid::router::balance::testing
