// gridctl: the command line of the grid control plane, over the gridmas HTTP API.
//
//   gridctl [--server URL] [-o table|json|yaml] apply -f FILE|-
//   gridctl get KIND [NAME]
//   gridctl describe KIND NAME
//   gridctl delete KIND NAME [--wipe-data]
//   gridctl wait KIND NAME --for phase=Run|delete [--timeout 120s]
//   gridctl scale kvcluster NAME --members N | routerfleet NAME --replicas N
//                 [--wait [--timeout 300s]]
//   gridctl upgrade KIND NAME --version V [--wait [--timeout 300s]]
//   gridctl restore kvcluster NAME [--backup latest|NAME] [--wait [--timeout 300s]]
//   gridctl inspect kvcluster NAME
//   gridctl backup create|list kvcluster NAME
//   gridctl backup verify kvcluster NAME BACKUP|latest
//
// scale and upgrade change one spec field by compare-and-swap and print e.g.
// "kvcluster/main scaled: members 3 -> 5 (generation 4)"; --wait then waits until the
// controller has carried the change out (phase Run at that generation) and fails on phase
// Failed or a rolled-back upgrade, naming the condition. delete --wipe-data labels the
// KVCluster grid.dev/wipe-on-delete=true, then deletes that version (the KVCluster
// controller wipes the data of a deleted cluster that carried the label). restore sets
// spec.restoreFrom (a new request each time); the controller stops the members, keeps their
// data dirs aside, restores every member from the backup and checks HashKV against it.
//
// --server defaults to $GRIDCTL_SERVER, else http://127.0.0.1:7070. Exit codes: 0 success,
// 1 an error from the server (printed as "error: <message>") or a bad argument, 2 the server
// could not be reached.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "api_client.h"
#include "backup_verbs.h"
#include "format.h"
#include "mas/resource/resource.h"
#include "standby_verbs.h"
#include "verbs.h"

namespace {

using grid::gridctl::Api;
using grid::gridctl::Exit;
using grid::gridctl::Fail;
using grid::gridctl::kApiPrefix;
using grid::gridctl::KindArg;
using grid::gridctl::KindSingular;
using grid::gridctl::ObjectPath;
using grid::gridctl::Plural;
using grid::gridctl::Print;
using grid::mas::Kind;

constexpr char kDefaultServer[] = "http://127.0.0.1:7070";
constexpr size_t kMaxApplyInputBytes = size_t{16} << 20;

std::string ReadInput(const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) Fail(fmt::format("cannot read {}", file));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (text.size() > kMaxApplyInputBytes) {
    Fail(fmt::format("{}: over the limit of {} bytes", file, kMaxApplyInputBytes));
  }
  return text;
}

// Creates each document's object, or updates it when it exists. An explicit
// metadata.resourceVersion in the document is sent as is (a stale one is a conflict);
// without one the current version is read first.
void Apply(Api& api, const std::string& file, const std::string& output) {
  std::vector<std::string> docs = grid::gridctl::SplitDocuments(ReadInput(file));
  if (docs.empty()) Fail(fmt::format("{}: no objects", file));
  for (const std::string& doc : docs) {
    auto parsed = grid::mas::ParseResource(doc);
    if (!parsed.ok()) Fail(parsed.status().message());
    const Kind kind = parsed->kind();
    const std::string name = parsed->metadata.name;
    const std::string path = ObjectPath(kind, name);
    nlohmann::json result;
    std::string verb;
    // Without an explicit resourceVersion a conflict means someone (a controller writing
    // status) wrote in between: read again and retry, up to kMaxConflictRetries.
    for (int attempt = 0;; ++attempt) {
      httplib::Result current = api.Send("GET", path);
      if (current->status == 404) {
        result = Api::Check(api.Send("POST", fmt::format("{}/{}", kApiPrefix, Plural(kind)),
                                     doc, "application/yaml"));
        verb = "created";
        break;
      }
      nlohmann::json now = Api::Check(current);
      nlohmann::json desired = grid::mas::ToJson(*parsed);
      desired.erase("status");
      const bool explicit_version = !parsed->metadata.resource_version.empty();
      if (!explicit_version) {
        desired["metadata"]["resourceVersion"] = now["metadata"]["resourceVersion"];
      }
      httplib::Result put = api.Send("PUT", path, desired.dump(), "application/json");
      if (put->status == 409 && !explicit_version &&
          attempt < grid::gridctl::kMaxConflictRetries) {
        continue;
      }
      result = Api::Check(put);
      verb = result["metadata"]["generation"] == now["metadata"]["generation"] &&
                     result["metadata"]["labels"] == now["metadata"]["labels"]
                 ? "unchanged"
                 : "configured";
      break;
    }
    if (output == "table") {
      std::cout << KindSingular(kind) << "/" << name << " " << verb << "\n";
    } else {
      Print(output, result);
    }
  }
}

void Get(Api& api, const std::string& kind_text, const std::string& name,
         const std::string& output) {
  Kind kind = KindArg(kind_text);
  std::string path = name.empty() ? fmt::format("{}/{}", kApiPrefix, Plural(kind))
                                  : ObjectPath(kind, name);
  nlohmann::json body = Api::Check(api.Send("GET", path));
  if (output != "table") return Print(output, body);
  std::vector<nlohmann::json> objects;
  if (name.empty()) {
    for (const auto& item : body["items"]) objects.push_back(item);
    if (objects.empty()) {
      std::cerr << "no " << Plural(kind) << " found\n";
      return;
    }
  } else {
    objects.push_back(body);
  }
  std::cout << grid::gridctl::RenderTable(kind, objects, std::chrono::system_clock::now());
}

void Describe(Api& api, const std::string& kind_text, const std::string& name,
              const std::string& output) {
  Kind kind = KindArg(kind_text);
  nlohmann::json body = Api::Check(api.Send("GET", ObjectPath(kind, name)));
  if (output != "table") return Print(output, body);
  std::cout << grid::gridctl::RenderDescribe(body);
}

void Delete(Api& api, const std::string& kind_text, const std::string& name, bool wipe_data) {
  if (wipe_data) return grid::gridctl::DeleteWipingData(api, kind_text, name);
  Kind kind = KindArg(kind_text);
  Api::Check(api.Send("DELETE", ObjectPath(kind, name)));
  std::cout << KindSingular(kind) << "/" << name << " deleted\n";
}

// Polls until the condition holds: "phase=X" (with status.observedGeneration caught up with
// metadata.generation) or "delete".
void Wait(Api& api, const std::string& kind_text, const std::string& name,
          const std::string& for_text, const std::string& timeout_text) {
  Kind kind = KindArg(kind_text);
  auto timeout = grid::gridctl::ParseDuration(timeout_text);
  if (!timeout.ok()) Fail(timeout.status().message());
  std::string want_phase;
  bool want_delete = false;
  if (for_text.rfind("phase=", 0) == 0 && for_text.size() > 6) {
    want_phase = for_text.substr(6);
    if (!grid::mas::ParsePhase(want_phase).ok()) {
      Fail(fmt::format("--for {}: unknown phase \"{}\"", for_text, want_phase));
    }
  } else if (for_text == "delete") {
    want_delete = true;
  } else {
    Fail(fmt::format("--for \"{}\": want phase=PHASE or delete", for_text));
  }
  const std::string object = KindSingular(kind) + "/" + name;
  grid::gridctl::PollObject(
      api, kind, name, *timeout, timeout_text, object + " " + for_text,
      [&](const std::optional<nlohmann::json>& body,
          std::string* last) -> std::optional<std::string> {
        if (!body) {
          if (want_delete) return object + " deleted";
          *last = "not found";
          return std::nullopt;
        }
        *last = body->contains("status") ? (*body)["status"].value("phase", "-") : "-";
        // A phase counts only once the controller has seen the current spec.
        const int64_t generation = (*body)["metadata"].value("generation", int64_t{0});
        const int64_t observed =
            body->contains("status")
                ? (*body)["status"].value("observedGeneration", int64_t{0})
                : 0;
        if (observed < generation) *last += " (spec not yet observed)";
        if (!want_delete && *last == want_phase) return object + " phase=" + *last;
        return std::nullopt;
      });
}

int Run(int argc, char** argv) {
  CLI::App app{"gridctl: the grid control-plane command line"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  const char* env = std::getenv("GRIDCTL_SERVER");
  std::string server = env != nullptr && *env != '\0' ? env : kDefaultServer;
  std::string output = "table";
  app.add_option("--server", server, "gridmas API URL (env GRIDCTL_SERVER)")
      ->capture_default_str();
  app.add_option("-o,--output", output, "table|json|yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();

  std::string file, kind, name, wait_for, timeout = "120s";
  auto* apply = app.add_subcommand("apply", "create or update objects from YAML/JSON");
  apply->add_option("-f,--filename", file, "file, or - for stdin")->required();
  auto* get = app.add_subcommand("get", "list objects of a kind, or show one");
  get->add_option("kind", kind, "kvcluster|kv|routerfleet|rf")->required();
  get->add_option("name", name, "object name");
  auto* describe = app.add_subcommand("describe", "show one object in detail");
  describe->add_option("kind", kind)->required();
  describe->add_option("name", name)->required();
  bool wipe_data = false;
  auto* del = app.add_subcommand("delete", "delete one object");
  del->add_option("kind", kind)->required();
  del->add_option("name", name)->required();
  del->add_flag("--wipe-data", wipe_data,
                "kvcluster: the controller also wipes the members' data");
  auto* wait = app.add_subcommand("wait", "wait until an object reaches a phase or is gone");
  wait->add_option("kind", kind)->required();
  wait->add_option("name", name)->required();
  wait->add_option("--for", wait_for, "phase=PHASE or delete")->required();
  wait->add_option("--timeout", timeout, "e.g. 120s, 5m")->capture_default_str();
  grid::gridctl::WaitFlags op_wait;
  int64_t count = 0;
  std::string version;
  auto add_wait = [&op_wait](CLI::App* verb) {
    verb->add_flag("--wait", op_wait.wait, "wait until the change is carried out");
    verb->add_option("--timeout", op_wait.timeout_text, "with --wait; e.g. 300s, 5m")
        ->capture_default_str();
  };
  auto* scale = app.add_subcommand("scale", "set a kvcluster's members or a fleet's replicas");
  scale->add_option("kind", kind, "kvcluster|routerfleet")->required();
  scale->add_option("name", name)->required();
  auto* members_opt = scale->add_option("--members", count, "kvcluster members");
  auto* replicas_opt = scale->add_option("--replicas", count, "routerfleet replicas");
  members_opt->excludes(replicas_opt);
  add_wait(scale);
  auto* upgrade = app.add_subcommand("upgrade", "set the version to run (the controller "
                                                "upgrades: kvcluster rolling, fleet blue-green)");
  upgrade->add_option("kind", kind)->required();
  upgrade->add_option("name", name)->required();
  upgrade->add_option("--version", version, "the version to run")->required();
  add_wait(upgrade);
  auto* restore = app.add_subcommand(
      "restore", "restore a kvcluster from a backup (after a quorum loss, or to go back)");
  restore->add_option("kind", kind, "kvcluster")->required();
  restore->add_option("name", name)->required();
  std::string restore_backup = "latest";
  restore->add_option("--backup", restore_backup, "latest, or a backup's name")
      ->capture_default_str();
  add_wait(restore);
  auto* inspect = app.add_subcommand("inspect", "inspect a kvcluster now and show the report");
  inspect->add_option("kind", kind, "kvcluster")->required();
  inspect->add_option("name", name)->required();
  auto* backup = app.add_subcommand("backup", "take or list backups of a kvcluster");
  backup->require_subcommand(1);
  auto* backup_create = backup->add_subcommand("create", "take a backup now; prints its record");
  backup_create->add_option("kind", kind, "kvcluster")->required();
  backup_create->add_option("name", name)->required();
  std::string backup_timeout = grid::gridctl::kDefaultBackupCreateTimeout;
  backup_create->add_option("--timeout", backup_timeout, "wait for the backup; e.g. 10m, 1h")
      ->capture_default_str();
  auto* backup_list = backup->add_subcommand("list", "the backups, newest first");
  backup_list->add_option("kind", kind, "kvcluster")->required();
  backup_list->add_option("name", name)->required();
  auto* backup_verify = backup->add_subcommand("verify", "download a backup and check it");
  backup_verify->add_option("kind", kind, "kvcluster")->required();
  backup_verify->add_option("name", name)->required();
  std::string verify_backup;
  backup_verify->add_option("backup", verify_backup, "a backup's name, or latest")->required();
  backup_verify->add_option("--timeout", backup_timeout, "wait for the check; e.g. 10m")
      ->capture_default_str();
  grid::gridctl::StandbyVerbs standby_verbs;
  grid::gridctl::AddStandbyVerbs(&app, &standby_verbs);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    Api api(server);
    if (apply->parsed()) Apply(api, file, output);
    if (get->parsed()) Get(api, kind, name, output);
    if (describe->parsed()) Describe(api, kind, name, output);
    if (del->parsed()) Delete(api, kind, name, wipe_data);
    if (wait->parsed()) Wait(api, kind, name, wait_for, timeout);
    if (scale->parsed()) {
      auto given = [count](CLI::Option* o) {
        return o->count() > 0 ? std::optional<int64_t>(count) : std::nullopt;
      };
      grid::gridctl::Scale(api, kind, name, given(members_opt), given(replicas_opt), op_wait,
                           output);
    }
    if (upgrade->parsed()) grid::gridctl::Upgrade(api, kind, name, version, op_wait, output);
    if (restore->parsed()) {
      grid::gridctl::Restore(api, kind, name, restore_backup, op_wait, output);
    }
    if (inspect->parsed()) grid::gridctl::Inspect(api, kind, name, output);
    grid::gridctl::RunStandbyVerbs(api, standby_verbs, output);
    if (backup_create->parsed()) grid::gridctl::BackupCreate(api, kind, name, backup_timeout,
                                                             output);
    if (backup_list->parsed()) grid::gridctl::BackupList(api, kind, name, output);
    if (backup_verify->parsed()) {
      grid::gridctl::BackupVerify(api, kind, name, verify_backup, backup_timeout, output);
    }
  } catch (const Exit& e) {
    return e.code;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
