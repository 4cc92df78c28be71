#include "standby_verbs.h"

#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "format.h"
#include "mas/resource/resource.h"

namespace grid::gridctl {
namespace {

std::string Num(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return "unknown";
  return it->dump();
}

void Promote(Api& api, const std::string& mode, const StandbyVerbs& v, const std::string& output) {
  if (KindArg(v.kind) != mas::Kind::kKVCluster) Fail(mode + " takes a kvcluster");
  const std::string requested = mas::FormatTimestamp(std::chrono::system_clock::now());
  const std::string path = ObjectPath(mas::Kind::kKVCluster, v.name);
  const std::string object = "kvcluster/" + v.name;
  nlohmann::json result;
  std::string standby;
  for (int attempt = 0;; ++attempt) {
    nlohmann::json now = Api::Check(api.Send("GET", path));
    nlohmann::json body = now;
    body.erase("status");
    nlohmann::json& sb = body["spec"]["standby"];
    if (!sb.is_object()) Fail(object + " has no spec.standby: there is no standby to promote");
    standby = sb.value("cluster", "");
    sb["promote"] = {{"mode", mode}, {"requested", requested}};
    httplib::Result put = api.Send("PUT", path, body.dump(), "application/json");
    if (put->status == 409 && attempt < kMaxConflictRetries) continue;
    result = Api::Check(put);
    break;
  }
  if (output == "table") {
    std::cout << fmt::format("{} {} to kvcluster/{} requested at {}", object, mode, standby,
                             requested)
              << std::endl;
  } else {
    Print(output, result);
  }
  if (!v.wait.wait) return;
  auto timeout = ParseDuration(v.wait.timeout_text);
  if (!timeout.ok()) Fail(timeout.status().message());
  PollObject(api, mas::Kind::kKVCluster, v.name, *timeout, v.wait.timeout_text,
             object + " " + mode + " to " + standby,
             [&](const std::optional<nlohmann::json>& current,
                 std::string* last) -> std::optional<std::string> {
               if (!current) Fail(object + " was deleted while waiting");
               const nlohmann::json mirror =
                   (*current)["status"].value("mirror", nlohmann::json::object());
               const nlohmann::json promotion = mirror.value("promotion", nlohmann::json());
               if (!promotion.is_object() || promotion.value("requested", "") != requested ||
                   promotion.value("mode", "") != mode) {
                 const nlohmann::json op = mirror.value("operation", nlohmann::json());
                 *last = op.is_object() ? "step " + op.value("step", std::string("-"))
                                        : "state " + mirror.value("state", std::string("-"));
                 return std::nullopt;
               }
               if (promotion.value("result", "") != "Succeeded") {
                 Fail(object + ": " + mode + " failed: " + promotion.value("message", "no message"));
               }
               return PromotionSummary(v.name, promotion);
             });
}

}  // namespace

std::string PromotionSummary(const std::string& cluster, const nlohmann::json& p) {
  std::string out = fmt::format("kvcluster/{} {}: kvcluster/{} promoted at revision {}",
                                cluster, p.value("mode", ""), p.value("promoted", ""),
                                Num(p, "appliedRevision"));
  if (p.value("mode", "") == mas::kPromoteSwitchover) {
    out += fmt::format("\n  fence revision {}, primary revision after {}, uncopied revisions {}",
                       Num(p, "fenceRevision"), Num(p, "primaryRevisionAfter"),
                       Num(p, "uncopiedRevisions"));
  } else {
    out += fmt::format("\n  primary revision {} (primary reachable: {}), missing revisions {}",
                       Num(p, "primaryRevision"), p.value("primaryReachable", false),
                       Num(p, "missingRevisions"));
  }
  std::string fleets;
  for (const auto& f : p.value("repointedFleets", nlohmann::json::array())) {
    fleets += (fleets.empty() ? "" : ", ") + f.get<std::string>();
  }
  out += "\n  repointed fleets: " + (fleets.empty() ? std::string("none") : fleets);
  if (p.contains("message")) out += "\n  note: " + p.value("message", "");
  return out;
}

void AddStandbyVerbs(CLI::App* app, StandbyVerbs* v) {
  v->switchover = app->add_subcommand(
      "switchover", "planned: stop writes to a kvcluster, let its standby catch up, promote it");
  v->failover = app->add_subcommand(
      "failover", "the kvcluster is lost: promote its standby now, report what may be missing");
  for (CLI::App* verb : {v->switchover, v->failover}) {
    verb->add_option("kind", v->kind, "kvcluster")->required();
    verb->add_option("name", v->name, "the primary kvcluster")->required();
    verb->add_flag("--wait", v->wait.wait, "wait until the promotion has finished");
    verb->add_option("--timeout", v->wait.timeout_text, "with --wait; e.g. 180s, 5m")
        ->capture_default_str();
  }
}

void RunStandbyVerbs(Api& api, const StandbyVerbs& v, const std::string& output) {
  if (v.switchover != nullptr && v.switchover->parsed()) {
    Promote(api, mas::kPromoteSwitchover, v, output);
  }
  if (v.failover != nullptr && v.failover->parsed()) Promote(api, mas::kPromoteFailover, v, output);
}

}  // namespace grid::gridctl
