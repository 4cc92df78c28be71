// The load-balancing policy interface. A Balancer is built once per backend group from the
// group's static backend list (address and weight); each Pick gets the live view (health,
// active connections) and the request's inputs. Policies never pick an unhealthy backend and
// return nullopt when none is healthy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace grid::router::balance {

// Named limits. The route table enforces tighter ones on its input; these guard the policies.
inline constexpr size_t kMaxBackendsPerBalancer = 1024;
inline constexpr uint32_t kMinBackendWeight = 1;
inline constexpr uint32_t kMaxBackendWeight = 100;

struct BackendSpec {
  std::string address;  // "host:port"; identifies the backend for hashing and cookies
  uint32_t weight = 1;  // kMinBackendWeight..kMaxBackendWeight
};

// The live state of one backend, as the caller sees it at the moment of the pick.
struct BackendState {
  bool healthy = true;
  uint32_t active_connections = 0;
};

struct PickContext {
  // One entry per backend, in the order the balancer was built with.
  std::span<const BackendState> backends;
  // The client's address in text form (used by source_ip_hash). Empty: use `random`.
  std::string_view client_ip;
  // The consistent-hash key (a header or cookie value). Empty: use `random`.
  std::string_view hash_key;
  // A fresh uniformly random value for this pick (the caller owns the generator, so runs are
  // reproducible). Policies that need several draws derive them from it.
  uint64_t random = 0;
};

class Balancer {
 public:
  virtual ~Balancer() = default;

  // Returns the index of a healthy backend (into the list the balancer was built with), or
  // nullopt when no backend is healthy.
  // REQUIRES: ctx.backends.size() == backend_count().
  // Thread-safe: any number of threads may call Pick concurrently.
  virtual std::optional<size_t> Pick(const PickContext& ctx) = 0;

  virtual size_t backend_count() const = 0;
};

// Crashes unless 1 <= backends.size() <= kMaxBackendsPerBalancer and every weight is in range.
// Policies call it in their constructors: validating input is the route table's job.
void CheckBackendSpecs(std::span<const BackendSpec> backends);

// Crashes unless ctx.backends.size() == expected.
void CheckPickContext(const PickContext& ctx, size_t expected);

}  // namespace grid::router::balance
