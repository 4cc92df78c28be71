// KVClusterReconciler: the controller of KVCluster resources. Each Reconcile(key) reads the
// resource, observes its members (Runtime instances "kv/<cluster>/<member>", the store's
// Status and MemberList through a ClusterApi), asks Decide (plan.h) for one step, executes
// it, records it in status.operation and writes the status with a compare-and-swap (a
// conflict requeues). An operation that ended moves to status.history with its result
// (EndedAs in operation.h). Every executed step and phase change is logged (spdlog, info):
// "KVCluster <name>: <step> -> ok|error <message>", "KVCluster <name>: phase <old> -> <new>
// (<why>)". A deleted resource has its instances stopped and removed; their data
// is wiped only when the deleted version carried the label `grid.dev/wipe-on-delete: "true"`
// (data is kept when in doubt, e.g. after a restart). The deleted version comes from the
// watch's DELETED event (ObserveDeleted): a pass that finds the resource gone before that
// event arrived waits for it, requeueing every kDeletedEventPoll, for at most
// kDeletedEventWait; after that it removes the instances with what the last read version
// asked for.
//
// Key: "<name>" or "KVCluster/<name>".
//
// Grace periods survive a restart: a member's first-seen-down time is kept in
// status.members[].downSince, the quorum loss in the Available condition's transition time.
// In memory only: the wipe-on-delete label of the last seen resource.
//
// Thread-safety: Reconcile may run concurrently for different keys (ControllerRunner never
// runs one key twice at once).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mas/controller/reconciler.h"
#include "mas/kvcluster/cluster_api.h"
#include "mas/kvcluster/plan.h"
#include "mas/kvcluster/restore_run.h"
#include "mas/resource/store.h"
#include "mas/runtime/runtime.h"

namespace grid::mas::kvcluster {

inline constexpr char kWipeOnDeleteLabel[] = "grid.dev/wipe-on-delete";
// How long a pass that finds a KVCluster gone waits for the watch's DELETED event, and how
// often it looks again meanwhile.
inline constexpr Duration kDeletedEventWait = std::chrono::seconds(10);
inline constexpr Duration kDeletedEventPoll = std::chrono::milliseconds(200);
// The instance label naming a member's zone (set when the member has one).
inline constexpr char kZoneLabel[] = "grid.dev/zone";
// Written into a member's data dir just before the member starts on an empty dir. Its absence
// means the member's data is lost (the dir was deleted or replaced) even when a server
// restarted in place has created the dir again.
inline constexpr char kMemberMarkerFile[] = "grid-member";

struct KVClusterOptions {
  PlanOptions plan;  // grace, lag bound, upgrade step timeout
  // Wall clock (persisted times must survive a restart); default system_clock::now.
  std::function<TimePoint()> now;
  // True when a member's data is lost; default: its data dir lacks kMemberMarkerFile.
  std::function<bool(const std::string& data_dir)> data_dir_empty;
  std::chrono::milliseconds stop_grace = runtime::kDefaultStopGrace;
  // Restore (restore_step.h): the file system, bucket and tools; default LocalRestoreIo().
  std::shared_ptr<RestoreIo> restore_io;
  // Where a restore fetches its snapshot; "" = beside the first member's data dir.
  std::string restore_scratch_dir;
  // The restore tools of (engine, version); default "gridkv" and "etcdctl" from $PATH.
  std::function<backup::RestoreBinaries(const std::string& engine, const std::string& version)>
      restore_binaries;
};

// The reconciler's access to KVCluster resources: a ResourceStore in production, an
// in-memory fake in unit tests.
class KVClusterStore {
 public:
  virtual ~KVClusterStore() = default;
  virtual Result<Resource> Get(const std::string& name) = 0;
  virtual Result<Resource> UpdateStatus(const std::string& name, const ResourceStatus& status,
                                        const std::string& resource_version) = 0;
};

// KVClusterStore over a ResourceStore. REQUIRES: `store` outlives it.
std::unique_ptr<KVClusterStore> StoreAccess(ResourceStore* store);

// "kv/<cluster>/<member>".
std::string InstanceName(const std::string& cluster, const std::string& member);

class KVClusterReconciler final : public controller::Reconciler {
 public:
  // REQUIRES: `store` and `runtime` outlive the reconciler.
  KVClusterReconciler(ResourceStore* store, runtime::Runtime* runtime, ClusterApiFactory apis,
                      KVClusterOptions options = {});
  KVClusterReconciler(std::unique_ptr<KVClusterStore> store, runtime::Runtime* runtime,
                      ClusterApiFactory apis, KVClusterOptions options = {});

  Result<controller::ReconcileResult> Reconcile(const std::string& key) override;

  // Records what the last version of a deleted KVCluster asked for (the wipe-on-delete label),
  // from the watch's DELETED event. The delete may be seen by Reconcile only after the object
  // is gone, when its last version can no longer be read.
  void ObserveDeleted(const Resource& last);

  // The instance a member runs as (exposed for tests).
  runtime::InstanceSpec MemberInstance(const Resource& resource, const MemberStatus& member,
                                       const std::string& version,
                                       const std::string& initial_cluster,
                                       const std::string& cluster_state,
                                       const std::string& token = "") const;

 private:
  struct Memory {
    bool wipe_on_delete = false;
    // The resource version the flag was read from: a reconcile pass that read an older
    // version (it started before the label and the delete) must not clear it.
    int64_t wipe_read_at_version = 0;
    // Set by ObserveDeleted: the flag above is the deleted version's.
    bool deleted_observed = false;
    // When a pass first found the resource gone without deleted_observed; nullopt: not yet.
    std::optional<TimePoint> gone_since;
  };

  // Records `r`'s wipe-on-delete label unless a newer version's was recorded already;
  // `deleted`: `r` is the version a delete removed.
  void RememberWipe(const Resource& r, bool deleted);

  Result<controller::ReconcileResult> Destroy(const std::string& name);
  Observed Observe(const Resource& resource, ClusterApi* api, TimePoint now) const;
  Status Execute(const Resource& resource, const Step& step, const Observed& observed,
                 ClusterApi* api, ResourceStatus* next);
  // Runs a kRestore step; a failure ends the operation (FailRestore) and is returned.
  Status RunRestore(const Resource& resource, const KVClusterSpec& spec, Step* step,
                    ResourceStatus* next);
  // "name=peer,..." of the store's membership (planned names), else of the planned members.
  static std::string InitialCluster(const ResourceStatus& status, const Observed& observed,
                                    const std::string& joining);

  const std::unique_ptr<KVClusterStore> store_;
  runtime::Runtime* const runtime_;
  const ClusterApiFactory apis_;
  const KVClusterOptions options_;
  std::mutex mu_;
  std::map<std::string, Memory> memory_;  // cluster name →; guarded by mu_
};

}  // namespace grid::mas::kvcluster
