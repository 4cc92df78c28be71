#include "verbs.h"

#include <chrono>
#include <iostream>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "format.h"
#include "ops.h"
#include "mas/resource/resource.h"

namespace grid::gridctl {
namespace {

int64_t Generation(const nlohmann::json& object) {
  return object["metadata"].value("generation", int64_t{0});
}

// Waits until `rollout` is carried out (ops.h CheckRollout); fails when it failed.
void WaitRollout(Api& api, const std::string& name, const Rollout& rollout,
                 const WaitFlags& flags) {
  auto timeout = ParseDuration(flags.timeout_text);
  if (!timeout.ok()) Fail(timeout.status().message());
  const std::string object = KindSingular(rollout.kind) + "/" + name;
  PollObject(api, rollout.kind, name, *timeout, flags.timeout_text,
             fmt::format("{} phase=Run with {} {}", object, rollout.edit.field,
                         rollout.edit.value.is_string() ? rollout.edit.value.get<std::string>()
                                                        : rollout.edit.value.dump()),
             [&](const std::optional<nlohmann::json>& current,
                 std::string* last) -> std::optional<std::string> {
               if (!current) Fail(object + " was deleted while waiting");
               RolloutState state = CheckRollout(rollout, *current);
               if (state.result == RolloutState::Result::kFailed) {
                 Fail(object + ": " + state.text);
               }
               if (state.result == RolloutState::Result::kDone) return object + " phase=Run";
               *last = state.text;
               return std::nullopt;
             });
}

// Sets one spec field by compare-and-swap, prints the change, waits when asked.
void SetSpecField(Api& api, mas::Kind kind, const std::string& name, const SpecEdit& edit,
                  std::string_view verb, const WaitFlags& wait, const std::string& output) {
  const std::string path = ObjectPath(kind, name);
  nlohmann::json result;
  EditedObject edited;
  for (int attempt = 0;; ++attempt) {
    nlohmann::json now = Api::Check(api.Send("GET", path));
    auto made = EditSpecField(now, edit);
    if (!made.ok()) Fail(fmt::format("{}/{}: {}", KindSingular(kind), name,
                                     made.status().message()));
    edited = std::move(made).value();
    if (edited.unchanged) {
      result = std::move(now);
      break;
    }
    httplib::Result put = api.Send("PUT", path, edited.body.dump(), "application/json");
    if (put->status == 409 && attempt < kMaxConflictRetries) continue;
    result = Api::Check(put);
    break;
  }
  const int64_t generation = Generation(result);
  if (output == "table") {
    std::cout << ChangeLine(kind, name, verb, edit.field, edited.previous, edit.value,
                            edited.unchanged, generation)
              << std::endl;
  } else {
    Print(output, result);
  }
  if (wait.wait) WaitRollout(api, name, Rollout{kind, generation, edit}, wait);
}

// The Restored condition's answer to the request `key` (see the kvcluster README): its
// message starts with `request "<key>": `. nullopt while the controller has not answered.
std::optional<std::pair<bool, std::string>> RestoreAnswer(const nlohmann::json& object,
                                                          const std::string& key) {
  const std::string prefix = "request \"" + key + "\": ";
  const nlohmann::json& conditions = object["status"].value("conditions", nlohmann::json());
  if (!conditions.is_array()) return std::nullopt;
  for (const auto& c : conditions) {
    if (c.value("type", "") != "Restored") continue;
    const std::string message = c.value("message", "");
    if (message.rfind(prefix, 0) != 0) return std::nullopt;
    return std::make_pair(c.value("status", "") == "True", message.substr(prefix.size()));
  }
  return std::nullopt;
}

}  // namespace

void Restore(Api& api, const std::string& kind_text, const std::string& name,
             const std::string& backup, const WaitFlags& wait, const std::string& output) {
  if (KindArg(kind_text) != mas::Kind::kKVCluster) Fail("restore takes a kvcluster");
  // A new `requested` time makes every command a new request, even for the same backup.
  const std::string requested = mas::FormatTimestamp(std::chrono::system_clock::now());
  const std::string path = ObjectPath(mas::Kind::kKVCluster, name);
  const SpecEdit edit{"restoreFrom", {{"backup", backup}, {"requested", requested}}};
  nlohmann::json result;
  for (int attempt = 0;; ++attempt) {
    nlohmann::json now = Api::Check(api.Send("GET", path));
    auto made = EditSpecField(now, edit);
    if (!made.ok()) Fail(fmt::format("kvcluster/{}: {}", name, made.status().message()));
    httplib::Result put = api.Send("PUT", path, made->body.dump(), "application/json");
    if (put->status == 409 && attempt < kMaxConflictRetries) continue;
    result = Api::Check(put);
    break;
  }
  if (output == "table") {
    std::cout << fmt::format("kvcluster/{} restore from backup {} requested at {} (generation {})",
                             name, backup, requested, Generation(result))
              << std::endl;
  } else {
    Print(output, result);
  }
  if (!wait.wait) return;
  auto timeout = ParseDuration(wait.timeout_text);
  if (!timeout.ok()) Fail(timeout.status().message());
  const std::string key = backup + " requested " + requested;
  const std::string object = "kvcluster/" + name;
  PollObject(api, mas::Kind::kKVCluster, name, *timeout, wait.timeout_text,
             object + " restored from " + backup,
             [&](const std::optional<nlohmann::json>& current,
                 std::string* last) -> std::optional<std::string> {
               if (!current) Fail(object + " was deleted while waiting");
               auto answer = RestoreAnswer(*current, key);
               if (!answer) {
                 *last = "phase " + (*current)["status"].value("phase", std::string("-"));
                 return std::nullopt;
               }
               if (!answer->first) Fail(object + ": restore failed: " + answer->second);
               return object + " restored: " + answer->second;
             });
}

void Scale(Api& api, const std::string& kind_text, const std::string& name,
           std::optional<int64_t> members, std::optional<int64_t> replicas,
           const WaitFlags& wait, const std::string& output) {
  const mas::Kind kind = KindArg(kind_text);
  SpecEdit edit;
  if (kind == mas::Kind::kKVCluster) {
    if (!members || replicas) Fail("scale kvcluster takes --members N");
    edit = {"members", *members};
  } else {
    if (!replicas || members) Fail("scale routerfleet takes --replicas N");
    edit = {"replicas", *replicas};
  }
  SetSpecField(api, kind, name, edit, "scaled", wait, output);
}

void Upgrade(Api& api, const std::string& kind_text, const std::string& name,
             const std::string& version, const WaitFlags& wait, const std::string& output) {
  const mas::Kind kind = KindArg(kind_text);
  SetSpecField(api, kind, name, SpecEdit{"version", version}, "upgraded", wait, output);
}

void Inspect(Api& api, const std::string& kind_text, const std::string& name,
             const std::string& output) {
  if (KindArg(kind_text) != mas::Kind::kKVCluster) Fail("inspect takes a kvcluster");
  nlohmann::json report = Api::Check(
      api.Send("POST", ObjectPath(mas::Kind::kKVCluster, name) + "/inspect", "", ""));
  if (output != "table") return Print(output, report);
  std::cout << RenderInspection(report);
}

void DeleteWipingData(Api& api, const std::string& kind_text, const std::string& name) {
  if (KindArg(kind_text) != mas::Kind::kKVCluster) {
    Fail("--wipe-data: only a kvcluster has data to wipe");
  }
  const std::string path = ObjectPath(mas::Kind::kKVCluster, name);
  // The labelled version, then its deletion; a status write in between changes the
  // resourceVersion (not the label): read again and delete that version.
  std::string version;
  for (int attempt = 0;; ++attempt) {
    nlohmann::json now = Api::Check(api.Send("GET", path));
    auto made = EditLabel(now, kWipeOnDeleteLabel, "true");
    if (!made.ok()) Fail(fmt::format("kvcluster/{}: {}", name, made.status().message()));
    if (made->unchanged) {
      version = now["metadata"].value("resourceVersion", "");
    } else {
      httplib::Result put = api.Send("PUT", path, made->body.dump(), "application/json");
      if (put->status == 409 && attempt < kMaxConflictRetries) continue;
      version = Api::Check(put)["metadata"].value("resourceVersion", "");
    }
    httplib::Result del = api.Send("DELETE", path + "?resourceVersion=" + version);
    if (del->status == 409 && attempt < kMaxConflictRetries) continue;
    Api::Check(del);
    break;
  }
  std::cout << "kvcluster/" << name << " deleted (labelled " << kWipeOnDeleteLabel
            << "=true: the controller wipes the members' data)\n";
}

}  // namespace grid::gridctl
