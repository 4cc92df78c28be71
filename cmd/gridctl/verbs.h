// gridctl's operation verbs: scale, upgrade, restore, inspect and delete --wipe-data. Each change is
// a compare-and-swap of one field: read the object, set the field, PUT it with the
// resourceVersion read; a conflict (a controller wrote the status in between) reads again
// and retries, at most kMaxConflictRetries times. Errors end the command (api_client.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api_client.h"

namespace grid::gridctl {

// Conflicts retried by a read-modify-write when no resourceVersion was given.
inline constexpr int kMaxConflictRetries = 5;

struct WaitFlags {
  bool wait = false;               // after the change, wait for the rollout (ops.h Rollout)
  std::string timeout_text = "300s";
};

// scale KIND NAME --members N (kvcluster) | --replicas N (routerfleet). The server
// validates N and names the field when it refuses it.
void Scale(Api& api, const std::string& kind_text, const std::string& name,
           std::optional<int64_t> members, std::optional<int64_t> replicas,
           const WaitFlags& wait, const std::string& output);

// upgrade KIND NAME --version V: the controller upgrades (KVCluster rolling, RouterFleet
// blue-green).
void Upgrade(Api& api, const std::string& kind_text, const std::string& name,
             const std::string& version, const WaitFlags& wait, const std::string& output);

// inspect kvcluster NAME: POST .../kvclusters/NAME/inspect; the report as text, or as
// JSON/YAML with -o.
void Inspect(Api& api, const std::string& kind_text, const std::string& name,
             const std::string& output);

// restore kvcluster NAME [--backup latest|NAME]: sets spec.restoreFrom {backup, requested: now}
// (a new request each time, even for the same backup; the server refuses it, naming the field,
// when the cluster has no spec.backup). With --wait, waits for the controller's answer to this
// request (the Restored condition) and fails with its message when the restore failed.
void Restore(Api& api, const std::string& kind_text, const std::string& name,
             const std::string& backup, const WaitFlags& wait, const std::string& output);

// delete kvcluster NAME --wipe-data: labels the object grid.dev/wipe-on-delete=true (CAS),
// then deletes that version (a status write in between: read again, retry).
void DeleteWipingData(Api& api, const std::string& kind_text, const std::string& name);

}  // namespace grid::gridctl
