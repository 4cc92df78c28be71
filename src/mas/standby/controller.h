// StandbyController: keeps every KVCluster with spec.standby mirrored to its standby and
// runs its promotions (switch-over, fail-over). Runs on the elected gridmas leader only.
//
// One loop thread. Each pass (every `loop_interval`, or at once after a KVCluster event):
//   list the KVClusters; for each primary P with spec.standby {cluster S}:
//     - run one mirror::Mirror P -> S (own prefix /grid-mirror/<P>) while both have member
//       endpoints, no promotion is past CatchUp and P was not promoted to S; restart it when
//       the endpoints or prefixes change; stop it otherwise;
//     - take one step of the promotion requested by spec.standby.promote (promotion.h);
//     - publish status.mirror (mirror_status.h) and the MirrorInSync condition: at once when
//       the state, the operation's step or the promotion changed, otherwise at most every
//       `status_interval`; a compare-and-swap that re-reads on conflict;
//     - set the grid_mas_mirror_* gauges.
//   Mirrors of clusters that lost spec.standby or were deleted are stopped and their series
//   removed. Before a mirror P -> S starts, a NOSPACE alarm S holds as a fenced former primary
//   (status.mirror.writeFenced) is disarmed: S is a standby now.
//
// Thread-safety: Start/Stop from one thread; Stop returns when the loop and every mirror
// have stopped (no write of this controller reaches the store afterwards).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/watcher.h"
#include "mas/metrics/registry.h"
#include "mas/mirror/mirror.h"
#include "mas/resource/store.h"
#include "mas/standby/mirror_status.h"
#include "mas/standby/promotion.h"

namespace grid::mas::standby {

// How often status.mirror is rewritten while only the lag and counters change.
inline constexpr std::chrono::milliseconds kMirrorStatusInterval{2000};
inline constexpr std::chrono::milliseconds kStandbyLoopInterval{500};
// Compare-and-swap attempts of one status write.
inline constexpr int kMaxStatusTries = 5;
// Mirrors one controller runs at once (KVClusters beyond wait, named in their status).
inline constexpr size_t kMaxMirrors = 64;

// A running mirror as the controller sees it (mirror::Mirror in production).
class MirrorHandle {
 public:
  virtual ~MirrorHandle() = default;
  virtual mirror::MirrorStats Stats() const = 0;
  virtual void Stop() = 0;  // idempotent; returns when the mirror has stopped
};
using MirrorFactory =
    std::function<Result<std::unique_ptr<MirrorHandle>>(const mirror::MirrorOptions&)>;
// Creates and starts a mirror::Mirror.
MirrorFactory RealMirrorFactory();

struct StandbyControllerOptions {
  MirrorFactory new_mirror;       // default RealMirrorFactory()
  ClusterOps* ops = nullptr;      // default: a GrpcClusterOps the controller owns
  metrics::Registry* metrics = nullptr;  // may be null (no series)
  std::chrono::milliseconds loop_interval = kStandbyLoopInterval;
  std::chrono::milliseconds status_interval = kMirrorStatusInterval;
  size_t max_mirrors = kMaxMirrors;  // 1..kMaxMirrors
  std::function<TimePoint()> now;  // default: the system clock
};

class StandbyController {
 public:
  // REQUIRES: `store` (fenced for the term) outlives the controller.
  StandbyController(ResourceStore* store, StandbyControllerOptions options);
  ~StandbyController();  // Stop()
  StandbyController(const StandbyController&) = delete;
  StandbyController& operator=(const StandbyController&) = delete;

  void Start();
  void Stop();
  // One pass (the loop's body; for tests).
  void RunOnce();

 private:
  struct Entry {
    std::string standby;
    std::vector<std::string> prefixes;
    std::vector<std::string> primary_endpoints;
    std::vector<std::string> standby_endpoints;
    std::unique_ptr<MirrorHandle> mirror;
    nlohmann::json published;  // the last status.mirror written (or read)
    std::chrono::steady_clock::time_point published_at{};
    int64_t foreign_writes = 0;
    std::chrono::steady_clock::time_point foreign_changed_at{};
    bool metrics_set = false;
  };

  void Reconcile(const Resource& primary, const std::map<std::string, Resource>& all);
  void StopMirror(const std::string& name, Entry* entry);
  // A primary without spec.standby: clears status.mirror unless the cluster is write-fenced.
  void ClearStatus(const Resource& cluster);
  // Writes status.mirror = `mirror` (stamped), `condition` and `history` (when given) on
  // `cluster`. writeFenced is the stored one unless `set_fence` (another cluster's mirror
  // may have cleared it since this pass read it).
  Status WriteMirrorStatus(const std::string& cluster, nlohmann::json mirror,
                           std::optional<bool> set_fence,
                           const std::optional<Condition>& condition,
                           const std::optional<OperationRecord>& history);
  // Sets status.mirror.writeFenced on `cluster` (keeping the rest).
  Status SetWriteFenced(const std::string& cluster, bool fenced);
  void SetMetrics(const std::string& name, Entry* entry);
  void RemoveMetrics(const std::string& name, Entry* entry);
  void Loop();

  ResourceStore* const store_;
  StandbyControllerOptions options_;
  std::unique_ptr<ClusterOps> owned_ops_;
  std::unique_ptr<FleetStore> fleets_;
  std::map<std::string, Entry> entries_;  // by primary name; loop thread only
  // The grid_mas_mirror_* gauges; null without a registry.
  metrics::Family* lag_revisions_ = nullptr;
  metrics::Family* lag_seconds_ = nullptr;
  metrics::Family* foreign_writes_ = nullptr;
  metrics::Family* full_copies_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;    // guarded by mu_
  bool wake_ = false;    // guarded by mu_
  std::unique_ptr<client::Watcher> watch_;
  std::thread thread_;
};

}  // namespace grid::mas::standby
