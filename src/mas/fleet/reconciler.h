// RouterFleetReconciler: the level-triggered controller of RouterFleet resources. Each
// Reconcile(key) reads the resource, observes the fleet's instances (Runtime::List) and the
// replicas' readiness (ReadinessProbe), asks Decide (plan.h) for ONE step, executes it
// through the Runtime, and persists the fleet state in status.operation with UpdateStatus
// (compare-and-swap on resourceVersion; a conflict requeues); an operation that ended moves
// to status.history with its result and its steps. Every executed step and phase change is
// logged (spdlog, info). A deleted resource has its instances stopped and removed.
//
// Keys: "RouterFleet/<name>" or "<name>".
// Thread-safety: Reconcile may run on several workers for different keys at once (the store,
// runtime and probe must be thread-safe; the ones here are).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "mas/controller/reconciler.h"
#include "mas/fleet/plan.h"
#include "mas/resource/resource.h"
#include "mas/runtime/runtime.h"

namespace grid::mas {
class ResourceStore;
}

namespace grid::mas::fleet {

inline constexpr size_t kDefaultMaxLogEntries = 32;  // status.operation.log, oldest dropped
inline constexpr Millis kDefaultProbeTimeout{1000};
// The requeue delay after an executed step (the next step follows at once).
inline constexpr Millis kNextStepDelay{1};
inline constexpr size_t kMaxFrontConfigBytes = size_t{1} << 20;  // read back for comparison

// Is the router's admin endpoint ready (GET /readyz → 200)?
class ReadinessProbe {
 public:
  virtual ~ReadinessProbe() = default;
  virtual bool Ready(const std::string& host, int admin_port) = 0;
};

// GET http://host:admin_port/readyz over a plain socket; false on any failure or after
// `timeout` (connect, send and the status line together).
class HttpReadinessProbe final : public ReadinessProbe {
 public:
  explicit HttpReadinessProbe(Millis timeout = kDefaultProbeTimeout) : timeout_(timeout) {}
  bool Ready(const std::string& host, int admin_port) override;

 private:
  const Millis timeout_;
};

// The two store calls the reconciler makes; ResourceStore behind it in production
// (ResourceStoreFleetStore), a map in tests.
class FleetStore {
 public:
  virtual ~FleetStore() = default;
  virtual Result<Resource> Get(const std::string& name) = 0;
  // Compare-and-swap on resource_version; a conflict satisfies IsConflict.
  virtual Result<Resource> UpdateStatus(const std::string& name, const ResourceStatus& status,
                                        const std::string& resource_version) = 0;
};

class ResourceStoreFleetStore final : public FleetStore {
 public:
  explicit ResourceStoreFleetStore(ResourceStore* store) : store_(store) {}
  Result<Resource> Get(const std::string& name) override;
  Result<Resource> UpdateStatus(const std::string& name, const ResourceStatus& status,
                                const std::string& resource_version) override;

 private:
  ResourceStore* const store_;
};

// The client endpoints ("host:port") of a KVCluster's members, from its
// status.members[].clientURL (scheme dropped; members without one skipped), in member order.
std::vector<std::string> StoreClusterEndpoints(const ResourceStatus& status);

// Resolves spec.storeCluster: the client endpoints of the named KVCluster's members; an error
// (e.g. NotFound) or an empty list when it has none.
using StoreClusterResolver =
    std::function<Result<std::vector<std::string>>(const std::string& cluster)>;

// The resolver that reads the KVCluster from `store` (StoreClusterEndpoints of its status).
// REQUIRES: store outlives the resolver.
StoreClusterResolver ResourceStoreClusterResolver(ResourceStore* store);

struct RouterFleetOptions {
  PlanOptions plan;  // poll delays (the rollout's steps, hold and gate come from the spec)
  // Used when spec.store is empty: the control plane's own store endpoints ("host:port").
  std::vector<std::string> default_store;
  // Resolves spec.storeCluster at every pass. Unset: the constructor taking a ResourceStore
  // reads the KVCluster from that store (ResourceStoreClusterResolver); the one taking a
  // FleetStore resolves nothing (every named cluster is unavailable).
  StoreClusterResolver resolve_store_cluster;
  size_t max_log_entries = kDefaultMaxLogEntries;
  std::function<WallTime()> now;  // the clock; default std::chrono::system_clock::now
};

// How the fleet operation `prev` (status.operation.name before a step) ended, given the one
// the step persists and the phase it sets; nullopt while it goes on or when none ran.
// BlueGreen followed by Rollback: kRolledBack. Another operation: kSuperseded. None after
// it: kFailed in phase Failed, else kSucceeded.
std::optional<OperationResult> EndedAs(const std::string& prev, const std::string& next,
                                       Phase next_phase);

// The status.history record of `operation`, which ended at `finished`: its steps are the
// entries of `log` (the fleet's step log, its last entry the ending step) from the run of
// entries naming it ("<operation>/<step>") through the last entry; started is the first
// one's time (the oldest kept).
OperationRecord ToHistory(const std::string& operation, const std::vector<LogEntry>& log,
                          OperationResult result, const std::string& finished);

class RouterFleetReconciler final : public controller::Reconciler {
 public:
  // REQUIRES: every pointer outlives the reconciler.
  RouterFleetReconciler(ResourceStore* store, runtime::Runtime* runtime, ReadinessProbe* probe,
                        RouterFleetOptions options);
  RouterFleetReconciler(FleetStore* store, runtime::Runtime* runtime, ReadinessProbe* probe,
                        RouterFleetOptions options);

  Result<controller::ReconcileResult> Reconcile(const std::string& key) override;

 private:
  Observed Observe(const std::string& name, const FleetState& state) const;
  // Runs the step's runtime action; fills allocated ports into step->next.
  Status Execute(Step* step);
  Status WriteFrontConfig(const std::string& front, const std::string& config);
  // Stops and removes every instance of a deleted fleet.
  Status RemoveAll(const std::string& name);

  std::unique_ptr<FleetStore> owned_store_;
  FleetStore* const store_;
  runtime::Runtime* const runtime_;
  ReadinessProbe* const probe_;
  const RouterFleetOptions options_;
};

}  // namespace grid::mas::fleet
