// The pure parts of gridctl's operation verbs (scale, upgrade, inspect, delete --wipe-data):
// the edit of one spec field, the lines they print, how a waited-for rollout stands, and the
// rendering of an inspection report. No I/O.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "mas/resource/resource.h"

namespace grid::gridctl {

// The label that makes the KVCluster controller wipe the members' data on delete.
inline constexpr char kWipeOnDeleteLabel[] = "grid.dev/wipe-on-delete";

// One spec field set by a verb.
struct SpecEdit {
  std::string field;        // "members", "replicas", "version"
  nlohmann::json value;     // the new value
};

// The body to PUT and what it changes.
struct EditedObject {
  nlohmann::json body;      // the object without its status, the field set; keeps
                            // metadata.resourceVersion (the PUT is a compare-and-swap)
  nlohmann::json previous;  // the field's value before (null when unset)
  bool unchanged = false;   // the field already has the value
};

// Applies `edit` to an object in its API JSON form. InvalidArgument when it has no spec.
Result<EditedObject> EditSpecField(const nlohmann::json& object, const SpecEdit& edit);

// The object (without its status) carrying label `key` = `value`; `unchanged` when it did.
Result<EditedObject> EditLabel(const nlohmann::json& object, const std::string& key,
                               const std::string& value);

// "kvcluster/main scaled: members 3 -> 5 (generation 4)", or when nothing changed
// "kvcluster/main unchanged: members already 5 (generation 4)". `verb` is "scaled" or
// "upgraded"; strings print without quotes, null as "<unset>".
std::string ChangeLine(mas::Kind kind, const std::string& name, std::string_view verb,
                       const std::string& field, const nlohmann::json& previous,
                       const nlohmann::json& value, bool unchanged, int64_t generation);

// What a verb waits for after its change: the controller has seen `generation`, the phase
// is Run and the change is carried out (the members, replicas or version of `edit`).
struct Rollout {
  mas::Kind kind = mas::Kind::kKVCluster;
  int64_t generation = 0;
  SpecEdit edit;
};

struct RolloutState {
  enum class Result { kWaiting, kDone, kFailed };
  Result result = Result::kWaiting;
  std::string text;  // waiting: the state seen ("Scale", "Run (2/3 members)");
                     // failed: why, naming the condition
};

// How the rollout stands in `object` (API JSON form). Failed: the phase is Failed at the
// new generation, or the upgrade to the version was rolled back (KVCluster: condition
// UpgradeFailed=True naming the version; RouterFleet: status.operation.fleet.failedVersion).
RolloutState CheckRollout(const Rollout& rollout, const nlohmann::json& object);

// The condition that says why an object failed: "UpgradeFailed=True RolledBack: version
// ..." (the first True condition of a failure type, else the first False one among
// Available, Ready, Progressing, Upgrade), or "no condition says why".
std::string FailingCondition(const nlohmann::json& object);

// The text of `inspect`: time and hash revision, a member table (NAME ENDPOINT REACHABLE
// LEADER APPLIED DB-SIZE REVISION HASH; an unreachable member shows its error), alarms,
// conditions and events.
std::string RenderInspection(const nlohmann::json& report);

}  // namespace grid::gridctl
