// gridctl: the command line of the grid control plane, over the gridmas HTTP API.
//
//   gridctl [--server URL] [-o table|json|yaml] apply -f FILE|-
//   gridctl get KIND [NAME]
//   gridctl describe KIND NAME
//   gridctl delete KIND NAME
//   gridctl wait KIND NAME --for phase=Run|delete [--timeout 120s]
//
// --server defaults to $GRIDCTL_SERVER, else http://127.0.0.1:7070. Exit codes: 0 success,
// 1 an error from the server (printed as "error: <message>") or a bad argument, 2 the server
// could not be reached.
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "format.h"
#include "mas/resource/resource.h"

namespace {

using grid::gridctl::KindSingular;
using grid::mas::Kind;

constexpr char kApiPrefix[] = "/apis/grid.dev/v1";
constexpr char kDefaultServer[] = "http://127.0.0.1:7070";
constexpr auto kWaitPollInterval = std::chrono::milliseconds(500);
constexpr size_t kMaxApplyInputBytes = size_t{16} << 20;

// Ends the command with an exit code (after its message is printed).
struct Exit {
  int code;
};

[[noreturn]] void Fail(const std::string& message, int code = 1) {
  std::cerr << "error: " << message << "\n";
  throw Exit{code};
}

std::string Plural(Kind kind) {
  return kind == Kind::kKVCluster ? "kvclusters" : "routerfleets";
}

class Api {
 public:
  explicit Api(std::string server) : server_(std::move(server)), http_(server_) {
    http_.set_connection_timeout(std::chrono::seconds(5));
    http_.set_read_timeout(std::chrono::seconds(30));
  }

  // Sends a request; exits 2 when the server cannot be reached.
  httplib::Result Send(const std::string& method, const std::string& path,
                       const std::string& body = "", const std::string& type = "") {
    httplib::Result res = method == "GET"      ? http_.Get(path)
                          : method == "DELETE" ? http_.Delete(path)
                          : method == "POST"   ? http_.Post(path, body, type)
                                               : http_.Put(path, body, type);
    if (!res) {
      Fail(fmt::format("cannot reach the gridmas API at {} ({} error; is gridmas running? "
                       "set --server or GRIDCTL_SERVER)",
                       server_, httplib::to_string(res.error())),
           2);
    }
    return res;
  }

  // The JSON body of a successful response; a server error exits 1 with its message.
  static nlohmann::json Check(const httplib::Result& res) {
    nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
    if (res->status >= 200 && res->status < 300 && !body.is_discarded()) return body;
    if (!body.is_discarded() && body.is_object() && body.contains("message")) {
      Fail(body["message"].get<std::string>());
    }
    Fail(fmt::format("HTTP {}: {}", res->status, res->body));
  }

 private:
  std::string server_;
  httplib::Client http_;
};

std::string ObjectPath(Kind kind, const std::string& name) {
  return fmt::format("{}/{}/{}", kApiPrefix, Plural(kind), name);
}

void Print(const std::string& output, const nlohmann::json& value) {
  if (output == "yaml") {
    std::cout << grid::gridctl::ToYaml(value);
  } else {
    std::cout << value.dump(2) << "\n";
  }
}

Kind KindArg(const std::string& text) {
  auto kind = grid::gridctl::ParseKindAlias(text);
  if (!kind.ok()) Fail(kind.status().message());
  return *kind;
}

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

// Conflicts retried by apply when the document names no resourceVersion.
constexpr int kMaxApplyConflictRetries = 5;

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
    // status) wrote in between: read again and retry, up to kMaxApplyConflictRetries.
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
      if (put->status == 409 && !explicit_version && attempt < kMaxApplyConflictRetries) {
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

void Delete(Api& api, const std::string& kind_text, const std::string& name) {
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
  const auto deadline = std::chrono::steady_clock::now() + *timeout;
  std::string last = "-";
  for (;;) {
    httplib::Result res = api.Send("GET", ObjectPath(kind, name));
    if (res->status == 404) {
      if (want_delete) {
        std::cout << KindSingular(kind) << "/" << name << " deleted\n";
        return;
      }
      last = "not found";
    } else {
      nlohmann::json body = Api::Check(res);
      last = body.contains("status") ? body["status"].value("phase", "-") : "-";
      // A phase counts only once the controller has seen the current spec.
      const int64_t generation = body["metadata"].value("generation", int64_t{0});
      const int64_t observed =
          body.contains("status") ? body["status"].value("observedGeneration", int64_t{0}) : 0;
      if (observed < generation) last += " (spec not yet observed)";
      if (!want_delete && last == want_phase) {
        std::cout << KindSingular(kind) << "/" << name << " phase=" << last << "\n";
        return;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      Fail(fmt::format("timed out after {} waiting for {}/{} {} (now: {})", timeout_text,
                       KindSingular(kind), name, for_text, last));
    }
    std::this_thread::sleep_for(kWaitPollInterval);
  }
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
  auto* del = app.add_subcommand("delete", "delete one object");
  del->add_option("kind", kind)->required();
  del->add_option("name", name)->required();
  auto* wait = app.add_subcommand("wait", "wait until an object reaches a phase or is gone");
  wait->add_option("kind", kind)->required();
  wait->add_option("name", name)->required();
  wait->add_option("--for", wait_for, "phase=PHASE or delete")->required();
  wait->add_option("--timeout", timeout, "e.g. 120s, 5m")->capture_default_str();
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
    if (del->parsed()) Delete(api, kind, name);
    if (wait->parsed()) Wait(api, kind, name, wait_for, timeout);
  } catch (const Exit& e) {
    return e.code;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
