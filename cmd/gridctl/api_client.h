// The gridmas API as gridctl uses it: requests, error exits, object paths, output, and the
// polling loop of the waiting commands. Errors end the command: Fail prints
// "error: <message>" and throws Exit, which Run turns into the exit code.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "mas/resource/resource.h"

namespace grid::gridctl {

inline constexpr char kApiPrefix[] = "/apis/grid.dev/v1";
inline constexpr auto kWaitPollInterval = std::chrono::milliseconds(500);

// Ends the command with an exit code (after its message is printed).
struct Exit {
  int code;
};

// Prints "error: <message>" to stderr and throws Exit{code}.
[[noreturn]] void Fail(const std::string& message, int code = 1);

std::string Plural(mas::Kind kind);
std::string ObjectPath(mas::Kind kind, const std::string& name);
// A kind alias (format.h ParseKindAlias); Fail otherwise.
mas::Kind KindArg(const std::string& text);
// Prints `value` as YAML when `output` is "yaml", else as indented JSON.
void Print(const std::string& output, const nlohmann::json& value);

class Api {
 public:
  explicit Api(std::string server);

  // Sends a request; exits 2 when the server cannot be reached. `body` is sent with
  // Content-Length (also when empty).
  httplib::Result Send(const std::string& method, const std::string& path,
                       const std::string& body = "", const std::string& type = "");

  // The JSON body of a successful response; a server error exits 1 with its message.
  static nlohmann::json Check(const httplib::Result& res);
  // How long a response may take (default 30 s), for requests that do the work before
  // answering (a backup).
  void set_read_timeout(std::chrono::milliseconds timeout) {
    http_.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  }

 private:
  std::string server_;
  httplib::Client http_;
};

// Reads the object every kWaitPollInterval and calls `done` with it (nullopt while it does
// not exist) until `done` returns a line, which is printed on stdout. `done` may Fail, and
// sets *last to the state it saw; past `timeout` the command fails with "timed out after
// <timeout_text> waiting for <what> (now: <last>)".
void PollObject(Api& api, mas::Kind kind, const std::string& name,
                std::chrono::milliseconds timeout, const std::string& timeout_text,
                const std::string& what,
                const std::function<std::optional<std::string>(
                    const std::optional<nlohmann::json>& object, std::string* last)>& done);

}  // namespace grid::gridctl
