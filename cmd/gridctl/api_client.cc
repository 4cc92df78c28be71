#include "api_client.h"

#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "format.h"

namespace grid::gridctl {

void Fail(const std::string& message, int code) {
  std::cerr << "error: " << message << "\n";
  throw Exit{code};
}

std::string Plural(mas::Kind kind) {
  return kind == mas::Kind::kKVCluster ? "kvclusters" : "routerfleets";
}

std::string ObjectPath(mas::Kind kind, const std::string& name) {
  return fmt::format("{}/{}/{}", kApiPrefix, Plural(kind), name);
}

mas::Kind KindArg(const std::string& text) {
  auto kind = ParseKindAlias(text);
  if (!kind.ok()) Fail(kind.status().message());
  return *kind;
}

void Print(const std::string& output, const nlohmann::json& value) {
  if (output == "yaml") {
    std::cout << ToYaml(value);
  } else {
    std::cout << value.dump(2) << "\n";
  }
}

Api::Api(std::string server) : server_(std::move(server)), http_(server_) {
  http_.set_connection_timeout(std::chrono::seconds(5));
  http_.set_read_timeout(std::chrono::seconds(30));
}

httplib::Result Api::Send(const std::string& method, const std::string& path,
                          const std::string& body, const std::string& type) {
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

nlohmann::json Api::Check(const httplib::Result& res) {
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300 && !body.is_discarded()) return body;
  if (!body.is_discarded() && body.is_object() && body.contains("message") &&
      body["message"].is_string()) {
    Fail(body["message"].get<std::string>());
  }
  Fail(fmt::format("HTTP {}: {}", res->status, res->body));
}

void PollObject(Api& api, mas::Kind kind, const std::string& name,
                std::chrono::milliseconds timeout, const std::string& timeout_text,
                const std::string& what,
                const std::function<std::optional<std::string>(
                    const std::optional<nlohmann::json>& object, std::string* last)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "-";
  for (;;) {
    httplib::Result res = api.Send("GET", ObjectPath(kind, name));
    std::optional<nlohmann::json> object;
    if (res->status != 404) object = Api::Check(res);
    if (std::optional<std::string> line = done(object, &last)) {
      std::cout << *line << "\n";
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      Fail(fmt::format("timed out after {} waiting for {} (now: {})", timeout_text, what, last));
    }
    std::this_thread::sleep_for(kWaitPollInterval);
  }
}

}  // namespace grid::gridctl
