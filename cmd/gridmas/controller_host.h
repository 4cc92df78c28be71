// ControllerHost: where the controllers of one gridmas replica live. They run only while
// this replica leads: Start(token) when leadership is gained (token = the fencing token of
// the term), Stop() when it is lost or the process stops. Stop returns only once every
// controller has stopped acting, so that a deposed replica takes no further step.
//
// DefaultControllerHost runs the KVCluster and RouterFleet controllers over the runtime, and
// the standby controller (mas/standby: mirrors and promotions of KVClusters with spec.standby):
// per kind a ControllerRunner fed by a watch of the kind's resources (from the revision of
// an initial list, so no event is missed) and a periodic resync. While it leads, the runtime
// is active (restarts crashed instances); otherwise passive (observes only).
//
// Fencing: the controllers write through a ResourceStore fenced with the term's Fence, so a
// status write that reaches the store after this replica was deposed fails (IsFenceLost) and
// records nothing, even when the object has not changed since the deposed leader read it.
//
// Threads: Start and Stop are called on the Leadership campaign thread, alternately
// (Start, Stop, Start, ...), never concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/watcher.h"
#include "mas/controller/controller_runner.h"
#include "mas/backup/restore.h"
#include "mas/controller/leadership.h"
#include "mas/fleet/reconciler.h"
#include "mas/metrics/operation_metrics.h"
#include "mas/metrics/registry.h"
#include "mas/kvcluster/reconciler.h"
#include "mas/resource/store.h"
#include "mas/runtime/runtime.h"
#include "mas/runtime/version_catalog.h"
#include "mas/standby/controller.h"

namespace grid::mas {

// How often every known object is reconciled even without an event.
inline constexpr std::chrono::seconds kControllerResyncPeriod{10};
inline constexpr size_t kControllerWorkersPerKind = 2;

// What the controllers need from the command line.
struct GridmasConfig {
  std::string prefix;                     // the store key prefix (resources, election)
  std::string replica;                    // this replica's identity
  std::string root;                       // runtime directory (instances, data, logs)
  std::vector<std::string> binaries;      // "engine@version=/abs/path", for the runtime's catalog
  std::vector<std::string> store_endpoints;  // the control plane's store ("host:port")
  runtime::VersionCatalog catalog;        // the runtime's binaries; restores take their tools here
  bucket::S3Options s3;                   // s3:// buckets of restores (endpoint, region, part size)
  metrics::Registry* metrics = nullptr;   // the process's series (served on /metrics); never null in gridmas
};

// The restore tools of a cluster's (engine, version): gridkv is the catalog's binary; etcdctl
// the one beside the catalog's etcd when there is one; otherwise the names, found on $PATH.
backup::RestoreBinaries RestoreTools(const runtime::VersionCatalog& catalog,
                                     const std::string& engine, const std::string& version);

class ControllerHost {
 public:
  virtual ~ControllerHost() = default;
  virtual void Start(const controller::Fence& fence) = 0;
  virtual void Stop() = 0;
};

// The host gridmas runs. REQUIRES: every pointer outlives it.
class DefaultControllerHost : public ControllerHost {
 public:
  DefaultControllerHost(client::Client* client, ResourceStore* store, const GridmasConfig* config,
                        runtime::Runtime* runtime);
  ~DefaultControllerHost() override { Stop(); }

  void Start(const controller::Fence& fence) override;
  void Stop() override;
  bool running() const { return running_; }

 private:
  // One kind's runner and the watch that feeds it.
  struct KindController {
    std::unique_ptr<controller::Reconciler> reconciler;
    std::unique_ptr<controller::ControllerRunner> runner;
    std::unique_ptr<client::Watcher> watch;
  };
  // `on_deleted` (may be empty) sees the last version of each deleted object before its key
  // is queued.
  Status StartKind(Kind kind, std::unique_ptr<controller::Reconciler> reconciler,
                   std::function<void(const Resource&)> on_deleted, KindController* out);

  client::Client* const client_;
  ResourceStore* const store_;  // unfenced: lists and watches
  const GridmasConfig* const config_;
  runtime::Runtime* const runtime_;
  fleet::HttpReadinessProbe probe_;
  bool running_ = false;
  std::unique_ptr<ResourceStore> fenced_store_;  // the current term's writes; set while running
  KindController kv_;
  KindController fleet_;
  // Operation durations from what the watches deliver; null without config->metrics.
  std::unique_ptr<metrics::OperationMetrics> operation_metrics_;
  std::unique_ptr<standby::StandbyController> standby_;  // set while running
};

}  // namespace grid::mas
