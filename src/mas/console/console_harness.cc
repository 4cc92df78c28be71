// mas_console_harness: the API server with the console over its own etcd 3.4 (or
// $GRID_TEST_ETCD_BINARY), for the console's browser test. Not a product binary.
//
//   mas_console_harness [--heartbeat-ms N]
//
// Prints "api on HOST:PORT" once serving, then reads commands from stdin, one a line, and
// answers each with one line, "ok ..." or "error MESSAGE":
//   status KIND NAME JSON   replace the status of an object (what a controller would write);
//                           answers "ok RESOURCE_VERSION"
//   report NAME JSON        store JSON as the KVCluster's last inspection report (what an
//                           inspection would write); answers "ok"
//   restart                 stop the API server (ending every watch) and serve again on the
//                           same address; answers "ok"
// The server has the console's views (views.h); fleets' admin ports are on 127.0.0.1.
// End of stdin stops the server and the store and exits 0.
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "client/client.h"
#include "client/testing/etcd_process.h"
#include "mas/api/api_server.h"
#include "mas/console/console.h"
#include "mas/console/views.h"
#include "mas/inspect/job.h"
#include "mas/resource/resource.h"
#include "mas/resource/store.h"

namespace {

using grid::Result;
using grid::Status;
using grid::mas::ResourceStore;
using grid::mas::api::ApiServer;

Result<std::unique_ptr<ApiServer>> Serve(ResourceStore* store,
                                         grid::mas::inspect::InspectionJob* inspection,
                                         const std::string& listen,
                                         std::chrono::milliseconds heartbeat,
                                         std::string* bound) {
  grid::mas::api::ApiServerOptions options;
  options.watch_heartbeat = heartbeat;
  auto api = std::make_unique<ApiServer>(store, options);
  GRID_RETURN_IF_ERROR(grid::mas::console::RegisterConsole(api.get()));
  grid::mas::console::ViewOptions views;
  views.inspection_report = [inspection](const std::string& cluster) {
    return inspection->LastReport(cluster);
  };
  GRID_RETURN_IF_ERROR(grid::mas::console::RegisterViews(api.get(), store, std::move(views)));
  GRID_ASSIGN_OR_RETURN(*bound, api->Start(listen));
  return api;
}

// "status KIND NAME JSON": the object's status replaced by JSON (decoded strictly).
Result<std::string> SetStatus(ResourceStore* store, const std::string& args) {
  size_t a = args.find(' ');
  size_t b = a == std::string::npos ? a : args.find(' ', a + 1);
  if (b == std::string::npos) return grid::InvalidArgument("want: status KIND NAME JSON");
  GRID_ASSIGN_OR_RETURN(grid::mas::Kind kind, grid::mas::ParseKind(args.substr(0, a)));
  const std::string name = args.substr(a + 1, b - a - 1);
  nlohmann::json status = nlohmann::json::parse(args.substr(b + 1), nullptr, false);
  if (status.is_discarded()) return grid::InvalidArgument("status: not JSON");
  GRID_ASSIGN_OR_RETURN(grid::mas::Resource current, store->Get(kind, name));
  nlohmann::json object = grid::mas::ToJson(current);
  object["status"] = status;
  GRID_ASSIGN_OR_RETURN(grid::mas::Resource next, grid::mas::ResourceFromJson(object));
  GRID_ASSIGN_OR_RETURN(grid::mas::Resource stored,
                        store->UpdateStatus(kind, name, next.status,
                                            current.metadata.resource_version));
  return stored.metadata.resource_version;
}

// "report NAME JSON": JSON stored as NAME's last inspection report.
Status PutReport(grid::client::Client* client, grid::mas::inspect::InspectionJob* inspection,
                 const std::string& args) {
  size_t a = args.find(' ');
  if (a == std::string::npos) return grid::InvalidArgument("want: report NAME JSON");
  nlohmann::json report = nlohmann::json::parse(args.substr(a + 1), nullptr, false);
  if (report.is_discarded()) return grid::InvalidArgument("report: not JSON");
  return client->Put(inspection->ReportKey(args.substr(0, a)), report.dump()).status();
}

int Run(int argc, char** argv) {
  std::chrono::milliseconds heartbeat{1000};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--heartbeat-ms") == 0) {
      heartbeat = std::chrono::milliseconds(std::stoi(argv[i + 1]));
    }
  }
  auto etcd = grid::client::testing::EtcdProcess::Start();
  if (!etcd.ok()) {
    std::cerr << "store: " << etcd.status().ToString() << std::endl;
    return 1;
  }
  auto client = grid::client::Client::Connect({(*etcd)->endpoint()}, {});
  if (!client.ok()) {
    std::cerr << "client: " << client.status().ToString() << std::endl;
    return 1;
  }
  ResourceStore store(client->get());
  grid::mas::inspect::InspectionJob inspection(client->get(), &store);
  std::string bound;
  auto api = Serve(&store, &inspection, "127.0.0.1:0", heartbeat, &bound);
  if (!api.ok()) {
    std::cerr << "api: " << api.status().ToString() << std::endl;
    return 1;
  }
  std::cout << "api on " << bound << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.rfind("status ", 0) == 0) {
      Result<std::string> rv = SetStatus(&store, line.substr(7));
      std::cout << (rv.ok() ? "ok " + *rv : "error " + rv.status().ToString()) << std::endl;
    } else if (line.rfind("report ", 0) == 0) {
      Status s = PutReport(client->get(), &inspection, line.substr(7));
      std::cout << (s.ok() ? "ok" : "error " + s.ToString()) << std::endl;
    } else if (line == "restart") {
      (*api)->Stop();
      api->reset();
      std::string again;
      auto next = Serve(&store, &inspection, bound, heartbeat, &again);
      if (!next.ok()) {
        std::cout << "error " << next.status().ToString() << std::endl;
        return 1;
      }
      *api = std::move(next).value();
      std::cout << "ok" << std::endl;
    } else {
      std::cout << "error unknown command" << std::endl;
    }
  }
  (*api)->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
