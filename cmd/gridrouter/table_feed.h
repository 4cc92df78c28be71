// Where gridrouter's route table comes from: a YAML file (reloaded on SIGHUP) or the keys
// under a prefix in an etcd-v3 store (followed by a watch). Either feed hands every new
// table to `publish`; the proxy serves the last one published.
//
// Threads: Start() and Reload() from the main thread. `publish` is called from the main
// thread (file) or the watcher thread (store), one call at a time. RoutesJson() from any
// thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "router/table/route_table.h"

namespace grid::router::cmd {

using TablePtr = std::shared_ptr<const table::RouteTable>;
using PublishTable = std::function<void(const TablePtr& table)>;

// The key prefix of the table in the store; YAML entries are given it too, so validation
// messages name keys as the store would.
inline constexpr char kDefaultTablePrefix[] = "/grid/routes";

class TableFeed {
 public:
  virtual ~TableFeed() = default;
  // Publishes the first table (file: parsed now; store: the cached table if any, then the
  // store's once it answers). Error: the file is unreadable or invalid, or the store options
  // are.
  [[nodiscard]] virtual Status Start() = 0;
  // SIGHUP: the file is read again (an invalid one keeps the current table and logs the key
  // and field at fault); the store feed ignores it.
  virtual void Reload() = 0;
  // For /routes: `serving` (the table the proxy serves, nullptr before the first) described
  // with where it came from and the feed's own state.
  virtual nlohmann::ordered_json RoutesJson(const TablePtr& serving) const = 0;
  virtual void Stop() = 0;
};

std::unique_ptr<TableFeed> MakeFileFeed(std::string path, std::string prefix, PublishTable publish);

struct StoreFeedOptions {
  std::vector<std::string> endpoints;  // "host:port", IPv4 literals when several
  std::string prefix = kDefaultTablePrefix;
  std::string cache_path;  // bootstrap cache file; empty: none
  std::chrono::milliseconds call_timeout{5000};
};

std::unique_ptr<TableFeed> MakeStoreFeed(StoreFeedOptions options, PublishTable publish);

}  // namespace grid::router::cmd
